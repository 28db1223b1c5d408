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
