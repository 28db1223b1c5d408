//! The `chat` terminal simulator: the same engine as the webhook, on stdin/stdout.
//!
//! Buttons are shown numbered (`[1] Dịch vụ công`); typing a bare number taps that button,
//! as on Zalo. `/follow` simulates following the OA. `--record` writes a transcript test.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use super::today;
use crate::dialog::{self, Input, LoadOptions, Session};
use crate::reply::{Button, Reply};

/// Talks to the dialogs in `dialogs` on `input`/`out` until EOF or `/thoat`; `record`: write
/// the conversation there as a transcript test.
pub fn run(
    dialogs: &Path,
    record: Option<&Path>,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let files = super::read_dialog_dir(dialogs)
        .with_context(|| format!("reading dialogs folder {}", dialogs.display()))?;
    let loaded = dialog::load(
        &files,
        &LoadOptions {
            today: Some(today(&crate::clock::Clock::system())),
            ..LoadOptions::default()
        },
    );
    let Some(set) = loaded.set else {
        for diagnostic in loaded.errors() {
            writeln!(out, "{diagnostic}")?;
        }
        writeln!(out, "không nạp được kịch bản; sửa các lỗi trên rồi thử lại")?;
        return Ok(ExitCode::FAILURE);
    };
    let mut record = match record {
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            writeln!(
                file,
                "# Ghi lại bằng: cnscd-bot chat (phiên bản kịch bản {})",
                set.version()
            )?;
            writeln!(file, "=== Trò chuyện ghi lại")?;
            Some(file)
        }
        None => None,
    };
    writeln!(
        out,
        "Kịch bản phiên bản {}. Gõ tin nhắn như người dân; số để bấm nút; /follow = quan tâm OA; /thoat hoặc Ctrl-D để ra.",
        set.version()
    )?;
    let mut session: Option<Session> = None;
    let mut last_buttons: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        write!(out, "> ")?;
        out.flush()?;
        line.clear();
        if input.read_line(&mut line)? == 0 {
            break;
        }
        let typed = line.trim();
        let (event, recorded) = match typed {
            "" => continue,
            "/thoat" | "/quit" => break,
            "/follow" => (Input::Follow, "@follow".to_owned()),
            _ => {
                let tapped =
                    typed.parse::<usize>().ok().and_then(|n| last_buttons.get(n.checked_sub(1)?));
                let text = tapped.cloned().unwrap_or_else(|| typed.to_owned());
                let recorded = format!("> {text}");
                (Input::Text(text), recorded)
            }
        };
        let step =
            dialog::step(&set, session.take(), &event, crate::clock::Clock::system().now_secs());
        session = step.session;
        last_buttons = show(out, &step.replies)?;
        if let Some(file) = record.as_mut() {
            writeln!(file, "{recorded}")?;
            for expected in expectations(&step.replies) {
                writeln!(file, "< {expected}")?;
            }
        }
        if session.is_none() {
            writeln!(out, "(hết phiên trò chuyện)")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints replies; returns the payloads of the numbered query buttons.
fn show(out: &mut dyn Write, replies: &[Reply]) -> std::io::Result<Vec<String>> {
    let mut payloads = Vec::new();
    for reply in replies {
        writeln!(out)?;
        if let Some(image) = &reply.image_url {
            writeln!(out, "  (ảnh) {image}")?;
        }
        for line in reply.text.lines() {
            writeln!(out, "  {line}")?;
        }
        for button in &reply.buttons {
            match button {
                Button::Query { title, payload } => {
                    payloads.push(payload.clone());
                    writeln!(out, "  [{}] {title}", payloads.len())?;
                }
                Button::Url { title, url } => writeln!(out, "  [{title}] → {url}")?,
                Button::Phone { title, phone } => writeln!(out, "  [{title}] → gọi {phone}")?,
            }
        }
    }
    writeln!(out)?;
    Ok(payloads)
}

/// The first line of each message: what a recorded transcript expects.
fn expectations(replies: &[Reply]) -> Vec<String> {
    replies
        .iter()
        .filter_map(|reply| reply.text.lines().map(str::trim).find(|l| !l.is_empty()))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::dialog::{EngineOptions, SourceFile};

    fn fixtures() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dialogs")
    }

    /// Typing a number taps the numbered button; the recording replays as a passing test.
    #[test]
    fn chat_shows_numbered_buttons_and_records_a_replayable_transcript() {
        let dir = tempfile::tempdir().expect("tempdir");
        let record = dir.path().join("ghi.txt");

        let mut input: &[u8] = "/follow\n1\nnop ho so\nquay lại\n/thoat\n".as_bytes();
        let mut out = Vec::new();
        let code = run(&fixtures(), Some(&record), &mut input, &mut out).expect("chat runs");
        assert_eq!(code, ExitCode::SUCCESS);
        let shown = String::from_utf8(out).expect("utf-8");
        assert!(shown.contains("  [1] Dịch vụ công trực tuyến"), "{shown}");
        assert!(shown.contains("[Mở Cổng DVC] → https://dichvucong.gov.vn"), "{shown}");
        assert!(shown.contains("Bước 1/3"), "{shown}");

        let recorded = std::fs::read_to_string(&record).expect("recording");
        assert!(recorded.contains("> #c:menu:chao:1\n< Cổng Dịch vụ công"), "{recorded}");
        let files = super::super::read_dialog_dir(&fixtures()).expect("fixtures");
        let set = dialog::load(&files, &LoadOptions::default()).set.expect("fixture set");
        let replay = SourceFile { path: "ghi.txt".into(), contents: recorded };
        let report = dialog::transcript::run(&set, &[replay], &EngineOptions::default());
        assert!(report.diagnostics.is_empty(), "{:#?}", report.diagnostics);
        assert_eq!(report.scenarios, 1);
    }

    #[test]
    fn chat_refuses_a_broken_folder_and_prints_why() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("menu.toml"), "title = \"M\"\nmain = true\nstart = \"x\"\n")
            .expect("write");

        let mut out = Vec::new();
        let code = run(dir.path(), None, &mut &b""[..], &mut out).expect("chat runs");
        assert_eq!(code, ExitCode::FAILURE);
        assert!(
            String::from_utf8_lossy(&out)
                .contains("menu.toml:3:9: lỗi: start: bước \"x\" không tồn tại")
        );
    }
}
