//! Every shipped dialog in `dialogs/` loads without errors and passes its transcripts;
//! the fixture set used by the engine tests does too (through the same file-reading path).

use std::path::Path;

use cnscd_bot::dialog::{self, EngineOptions, LoadOptions, transcript};
use cnscd_bot::dialog_runtime::{read_dialog_dir, read_transcripts};

fn check_dir(dir: &Path) -> usize {
    let files = read_dialog_dir(dir).expect("read dialogs");
    let loaded = dialog::load(&files, &LoadOptions::default());
    let errors: Vec<String> = loaded.errors().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "dialog errors in {}:\n{}", dir.display(), errors.join("\n"));
    let set = loaded.set.expect("a set when there are no errors");
    let transcripts = read_transcripts(dir).expect("read transcripts");
    let report = transcript::run(&set, &transcripts, &EngineOptions::default());
    let failures: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert!(
        failures.is_empty(),
        "transcript failures in {}:\n{}",
        dir.display(),
        failures.join("\n")
    );
    report.scenarios
}

#[test]
fn shipped_dialogs_load_and_pass_their_transcripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogs");
    let has_dialogs = read_dialog_dir(&dir).is_ok_and(|files| !files.is_empty());
    if has_dialogs {
        check_dir(&dir);
    }
}

#[test]
fn fixture_dialogs_load_and_pass_their_transcripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dialogs");
    assert!(check_dir(&dir) > 10);
}

/// The engine stays pure: no I/O, clock or service modules in `src/dialog/`.
#[test]
fn dialog_core_imports_no_io() {
    let forbidden = [
        "tokio",
        "axum",
        "reqwest",
        "sled",
        "std::fs",
        "SystemTime",
        "Instant::now",
        "fastrand",
        "crate::zalo",
        "crate::store",
        "crate::admin",
        "crate::app",
        "crate::conversation",
        "crate::dialog_runtime",
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dialog");
    for entry in std::fs::read_dir(&dir).expect("src/dialog") {
        let path = entry.expect("entry").path();
        let source = std::fs::read_to_string(&path).expect("source");
        for word in forbidden {
            assert!(!source.contains(word), "{} mentions {word}", path.display());
        }
    }
}

/// The complete example in `dialogs/README.md` is a valid set and its transcript passes,
/// so the admin documentation cannot drift from the loader.
#[test]
fn readme_example_is_valid() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogs/README.md");
    let readme = std::fs::read_to_string(readme_path).expect("dialogs/README.md");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("tests")).expect("tests dir");
    let mut lines = readme.lines();
    let mut written = 0;
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix("`dialogs/").and_then(|rest| rest.strip_suffix("`:"))
        else {
            continue;
        };
        assert!(
            lines.next().is_some_and(|fence| fence.starts_with("```")),
            "{name}: code block expected"
        );
        let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
        std::fs::write(dir.path().join(name), body.join("\n") + "\n").expect("write example file");
        written += 1;
    }
    assert_eq!(written, 5, "the README example has 4 dialog files and 1 transcript");
    assert!(check_dir(dir.path()) >= 1);
}

/// A long pseudo-random conversation (tapping the buttons the bot just sent, typing numbers,
/// words, universal words, answers and junk, letting days pass): every step answers, within
/// Zalo's limits, in NFC, and never panics.
fn random_walk(dir: &Path, steps: usize) {
    use cnscd_bot::dialog::{Input, Session};
    use cnscd_bot::reply::Button;

    let files = read_dialog_dir(dir).expect("read dialogs");
    let set = dialog::load(&files, &LoadOptions::default()).set.expect("valid set");
    let typed = [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "0",
        "menu",
        "quay lại",
        "quay lai",
        "làm lại",
        "trợ giúp",
        "thoát",
        "có",
        "không",
        "ko",
        "0912345678",
        "5/3/2026",
        "42",
        "xin chào",
        "dich vu cong",
        "lua dao",
        "vneid",
        "???",
        "#c:x:y:1",
        "",
        "Tiếp tục",
        "xem them",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        // xorshift64*: deterministic, no dependency.
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    };
    let mut session: Option<Session> = None;
    let mut payloads: Vec<String> = Vec::new();
    let mut now = cnscd_bot::calendar::UnixSecs(1_767_225_600);
    for i in 0..steps {
        now = now.plus_secs(if next(50) == 0 { 8 * 86_400 } else { 30 });
        let input = match next(10) {
            0 => Input::Follow,
            1..=5 if !payloads.is_empty() => Input::Text(payloads[next(payloads.len())].clone()),
            _ => Input::Text(typed[next(typed.len())].to_owned()),
        };
        let step = dialog::step(&set, session.take(), &input, now);
        assert!(!step.replies.is_empty(), "step {i}: {input:?} got no reply");
        assert!(
            step.replies.len() <= 3,
            "step {i}: {input:?} sent {} messages",
            step.replies.len()
        );
        for reply in &step.replies {
            assert!(!reply.text.trim().is_empty(), "step {i}: empty text");
            assert!(reply.buttons.len() <= 5, "step {i}: {} buttons", reply.buttons.len());
            assert!(dialog::text::is_nfc(&reply.text), "step {i}: text not NFC");
        }
        payloads = step
            .replies
            .iter()
            .flat_map(|r| &r.buttons)
            .filter_map(|b| match b {
                Button::Query { payload, .. } => Some(payload.clone()),
                _ => None,
            })
            .collect();
        session = step.session;
    }
}

#[test]
fn random_conversations_on_fixture_and_shipped_dialogs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    random_walk(&root.join("tests/fixtures/dialogs"), 20_000);
    let shipped = root.join("dialogs");
    if read_dialog_dir(&shipped).is_ok_and(|files| !files.is_empty()) {
        random_walk(&shipped, 20_000);
    }
}
