//! Dialog engine figures: load + validate of ~1,000 nodes, engine steps per second over a
//! large generated dialog set, and free-text understanding (issue 10): the cost of a first
//! message with the shipped dialogs and with a synthetic set of 1,000 nodes with examples.
//! Plain `Instant` timing, one thread.
//!
//! Run: `cargo bench --bench dialog_engine` (results go in BENCHMARKS.md, "Dialog engine").

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use cnscd_bot::calendar::UnixSecs;
use cnscd_bot::dialog::{self, Input, LoadOptions, Session, SourceFile};

const WORDS: &[&str] = &[
    "Đăng ký",
    "tài khoản",
    "định danh",
    "điện tử",
    "Nộp hồ sơ",
    "thanh toán",
    "trực tuyến",
    "Hướng dẫn",
    "Bảo vệ",
    "lừa đảo",
    "Mua sắm",
    "an toàn",
    "Chuyển tiền",
    "ứng dụng",
];

/// One dialog of `nodes` nodes: a menu, a sequence of steps with choices, asks, and leaves.
fn dialog_toml(index: usize, nodes: usize) -> String {
    let mut toml = String::new();
    let word = |k: usize| WORDS[k % WORDS.len()];
    let _ = writeln!(toml, "title = \"{} {} số {index}\"", word(index), word(index + 3));
    let _ = writeln!(toml, "keywords = [\"chủ đề {index}\", \"muc so {index}\"]");
    if index == 0 {
        toml.push_str("main = true\n");
    }
    toml.push_str("start = \"n0\"\n[sequences]\nchinh = [");
    let steps = nodes / 2;
    for n in 1..=steps {
        let _ = write!(toml, "\"n{n}\",");
    }
    toml.push_str("]\n");
    // n0: menu with 4 choices into the dialog and one to the next dialog.
    let _ = writeln!(
        toml,
        "[nodes.n0]\nsay = \"Chào bạn, đây là mục {index}. Chọn một việc:\"\nchoices = [\n  {{ label = \"{} bước\", goto = \"n1\" }},\n  {{ label = \"{} câu hỏi\", goto = \"n{}\" }},\n  {{ label = \"{}\", goto = \"n{}\" }},\n  {{ label = \"Mục kế tiếp\", goto = \"d{}\" }},\n]",
        word(index),
        word(index + 1),
        steps + 1,
        word(index + 2),
        nodes - 1,
        (index + 1) % 1_000_000
    );
    for n in 1..=steps {
        let next = if n == steps { "n0".to_owned() } else { format!("n{}", n + 1) };
        let _ = writeln!(
            toml,
            "[nodes.n{n}]\nsay = \"Bước {n}: {} {} rồi bấm Tiếp tục. Số tổng đài: {{hotline}}.\"\nchoices = [ {{ label = \"Tiếp tục\", goto = \"{next}\" }}, {{ label = \"Về đầu mục\", goto = \"n0\" }} ]\nlinks = [ {{ label = \"Mở trang\", url = \"https://dichvucong.gov.vn\" }} ]",
            word(n),
            word(n + 5)
        );
    }
    let asks = nodes - steps - 2;
    for a in 0..asks {
        let n = steps + 1 + a;
        let (kind, extra) = match a % 3 {
            0 => ("number", ", min = 0, max = 100"),
            1 => ("yesno", ""),
            _ => ("phone", ""),
        };
        let next = if a + 1 == asks { format!("n{}", nodes - 1) } else { format!("n{}", n + 1) };
        let _ = writeln!(
            toml,
            "[nodes.n{n}]\nsay = \"Câu hỏi {a}: bạn trả lời giúp mình nhé.\"\nask = {{ kind = \"{kind}\", save = \"tra_loi_{a}\", next = \"{next}\", fallback = \"n0\"{extra} }}"
        );
    }
    let _ = writeln!(
        toml,
        "[nodes.n{}]\nsay = \"Cảm ơn bạn. Xong mục {index}.\"\nend = true",
        nodes - 1
    );
    toml
}

fn dialog_set(dialogs: usize, nodes_per_dialog: usize) -> Vec<SourceFile> {
    let mut files: Vec<SourceFile> = (0..dialogs)
        .map(|i| {
            let contents = dialog_toml(i, nodes_per_dialog).replace(
                &format!("goto = \"d{}\"", (i + 1) % 1_000_000),
                &format!("goto = \"d{}\"", (i + 1) % dialogs),
            );
            SourceFile { path: format!("dialogs/d{i}.toml"), contents }
        })
        .collect();
    files.push(SourceFile {
        path: "dialogs/_facts.toml".into(),
        contents: "[facts.hotline]\nvalue = \"156\"\nsource = \"https://a.gov.vn\"\nverified = \"2026-11-01\"\n".into(),
    });
    files
}

fn bench_load() {
    let files = dialog_set(50, 20);
    let loaded = dialog::load(&files, &LoadOptions::default());
    let errors: Vec<String> = loaded.errors().map(ToString::to_string).take(5).collect();
    assert!(errors.is_empty(), "generated set must be valid: {errors:#?}");
    let nodes = loaded.set.as_ref().map_or(0, |s| s.node_count());
    let bytes: usize = files.iter().map(|f| f.contents.len()).sum();
    let mut times: Vec<Duration> = (0..30)
        .map(|_| {
            let start = Instant::now();
            black_box(dialog::load(black_box(&files), &LoadOptions::default()));
            start.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "load+validate: {nodes} nodes in {} files ({} KiB): median {:.2} ms, max {:.2} ms (30 runs)",
        files.len(),
        bytes / 1024,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
}

fn bench_steps() {
    let files = dialog_set(200, 25);
    let set = dialog::load(&files, &LoadOptions::default()).set.expect("valid generated set");
    // A realistic mix: numbers, labels typed without diacritics, a typo, keywords from
    // anywhere, universal words, answers (valid and not), and unmatched text.
    let inputs: Vec<Input> = [
        "xin chao",
        "1",
        "tiep tuc",
        "Tiếp tục",
        "tiep tuk",
        "2",
        "ve dau muc",
        "muc so 17",
        "3",
        "42",
        "có",
        "0912345678",
        "không hiểu gì cả",
        "quay lại",
        "chủ đề 150",
        "menu",
        "4",
        "1",
        "tro giup",
        "làm lại",
    ]
    .iter()
    .map(|s| Input::Text((*s).to_owned()))
    .collect();
    let users = 64;
    let mut sessions: Vec<Option<Session>> = vec![None; users];
    // `BENCH_STEPS` shortens the run, e.g. under callgrind.
    let steps = std::env::var("BENCH_STEPS").ok().and_then(|v| v.parse().ok()).unwrap_or(400_000);
    let start = Instant::now();
    let mut replies = 0usize;
    for i in 0..steps {
        let user = i % users;
        let input = &inputs[(i / users + user) % inputs.len()];
        let step = dialog::step(&set, sessions[user].take(), input, UnixSecs(1_000 + i as i64));
        replies += step.replies.len();
        sessions[user] = step.session;
    }
    let elapsed = start.elapsed();
    println!(
        "engine: {} nodes, {steps} steps over {users} sessions in {:.2} s: {:.0} steps/s ({:.1} µs/step, {:.2} replies/step)",
        set.node_count(),
        elapsed.as_secs_f64(),
        steps as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / steps as f64,
        replies as f64 / steps as f64
    );
}

/// Syllables for synthetic examples (folded Vietnamese, as citizens type them).
const SYLLABLES: &[&str] = &[
    "tai", "khoan", "ngan", "hang", "mat", "khau", "quen", "dang", "ky", "vneid", "ho", "so",
    "nop", "phi", "le", "chuyen", "tien", "nham", "lua", "dao", "cong", "an", "goi", "dien",
    "thoai", "mua", "hang", "giao", "shop", "ma", "otp", "sinh", "trac", "hoc", "cap", "nhat",
    "khai", "tam", "tru", "the", "can", "cuoc", "ung", "dung", "cai", "dat", "loi", "khong",
    "duoc", "lam", "sao", "nhu", "nao", "o", "dau", "bao", "nhieu", "gio", "tre", "em",
];

/// A deterministic pseudo-random stream (no dependency, same set every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % below as u64) as usize
    }

    fn phrase(&mut self, words: usize) -> String {
        (0..words).map(|_| SYLLABLES[self.next(SYLLABLES.len())]).collect::<Vec<_>>().join(" ")
    }
}

/// `dialogs` dialogs of `nodes` nodes, each node with 5 examples of 3–8 syllables.
fn example_set(dialogs: usize, nodes: usize) -> Vec<SourceFile> {
    let mut rng = Lcg(42);
    let mut files = Vec::new();
    for d in 0..dialogs {
        let mut toml = format!("title = \"Chủ đề {d}\"\nstart = \"n0\"\n");
        if d == 0 {
            toml.push_str("main = true\n");
        }
        for n in 0..nodes {
            let examples: Vec<String> = (0..5)
                .map(|_| {
                    let words = 3 + rng.next(6);
                    format!("\"{} {d} {n}\"", rng.phrase(words))
                })
                .collect();
            let next = if n + 1 == nodes { "n0".to_owned() } else { format!("n{}", n + 1) };
            let _ = writeln!(
                toml,
                "[nodes.n{n}]\nsay = \"Trả lời {d}.{n}\"\nexamples = [{}]\nchoices = [ {{ label = \"Tiếp\", goto = \"{next}\" }} ]",
                examples.join(", ")
            );
        }
        files.push(SourceFile { path: format!("dialogs/d{d}.toml"), contents: toml });
    }
    files
}

/// Loads `files` `runs` times: (median, max) in milliseconds.
fn time_loads(files: &[dialog::SourceFile], runs: usize) -> (f64, f64) {
    let times = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(dialog::load(black_box(files), &LoadOptions::default()));
            start.elapsed()
        })
        .collect();
    median_ms(times)
}

fn median_ms(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    (times[times.len() / 2].as_secs_f64() * 1e3, times[times.len() - 1].as_secs_f64() * 1e3)
}

/// Microseconds per first message (no session: danger check, ranking, decision, reply).
fn per_message_us(set: &dialog::DialogSet, messages: &[String], rounds: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..rounds {
        for message in messages {
            black_box(dialog::step(set, None, &Input::Text(message.clone()), UnixSecs(1)));
        }
    }
    start.elapsed().as_secs_f64() * 1e6 / (rounds * messages.len()) as f64
}

fn bench_understanding() {
    // Shipped dialogs and their labelled messages.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogs");
    let files = cnscd_bot::dialog_runtime::read_dialog_dir(&dir).expect("read dialogs");
    let (load_median, load_max) = time_loads(&files, 20);
    let set = dialog::load(&files, &LoadOptions::default()).set.expect("shipped dialogs load");
    let labelled = std::fs::read_to_string(dir.join("tests/understanding.tsv")).unwrap_or_default();
    let messages: Vec<String> = labelled
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next().map(str::to_owned))
        .collect();
    if !messages.is_empty() {
        let us = per_message_us(&set, &messages, 20);
        println!(
            "understanding, shipped set: {} nodes, load {load_median:.2} ms (max {load_max:.2}); {} labelled messages: {us:.1} µs/message",
            set.node_count(),
            messages.len()
        );
    }

    // Synthetic: 50 dialogs × 20 nodes = 1,000 nodes, 5,000 examples.
    let files = example_set(50, 20);
    let loaded = dialog::load(&files, &LoadOptions::default());
    let errors: Vec<String> = loaded.errors().map(ToString::to_string).take(3).collect();
    assert!(errors.is_empty(), "synthetic set must load: {errors:?}");
    let set = loaded.set.expect("synthetic set");
    let (load_median, load_max) = time_loads(&files, 20);
    let mut rng = Lcg(7);
    let messages: Vec<String> = (0..500)
        .map(|_| {
            let words = 2 + rng.next(12);
            rng.phrase(words)
        })
        .collect();
    let us = per_message_us(&set, &messages, 10);
    println!(
        "understanding, synthetic: {} nodes, 5,000 examples: load+index {load_median:.2} ms (max {load_max:.2}); {us:.1} µs/message (2–13 syllables)",
        set.node_count()
    );
}

fn main() {
    // `BENCH_ONLY=steps` (or `load`, `understanding`) runs one part, e.g. under a profiler.
    let only = std::env::var("BENCH_ONLY").ok();
    let run = |part: &str| only.as_deref().is_none_or(|o| o == part);
    if run("load") {
        bench_load();
    }
    if run("steps") {
        bench_steps();
    }
    if run("understanding") {
        bench_understanding();
    }
}
