//! Dialog engine figures: load + validate of ~1,000 nodes, and engine steps per second over a
//! large generated dialog set. Plain `Instant` timing, one thread.
//!
//! Run: `cargo bench --bench dialog_engine` (results go in BENCHMARKS.md, "Dialog engine").

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

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
    let steps = 400_000;
    let start = Instant::now();
    let mut replies = 0usize;
    for i in 0..steps {
        let user = i % users;
        let input = &inputs[(i / users + user) % inputs.len()];
        let step = dialog::step(&set, sessions[user].as_ref(), input, 1_000 + i as i64);
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

fn main() {
    bench_load();
    bench_steps();
}
