//! The `chat` terminal simulator: the same engine as the webhook, on stdin/stdout.
//!
//! Buttons are shown numbered (`[1] Dịch vụ công`); typing a bare number taps that button,
//! as on Zalo. `/follow` simulates following the OA. `--record` writes a transcript test.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Context as _;

use super::cli::{ChatArgs, today, unix_now};
use crate::dialog::{self, Input, LoadOptions, Session};
use crate::reply::{Button, Reply};

pub(crate) fn run(
    args: &ChatArgs,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let files = super::read_dialog_dir(&args.dialogs)
        .with_context(|| format!("reading dialogs folder {}", args.dialogs.display()))?;
    let loaded =
        dialog::load(&files, &LoadOptions { today: Some(today()), ..LoadOptions::default() });
    let Some(set) = loaded.set else {
        for diagnostic in loaded.errors() {
            writeln!(out, "{diagnostic}")?;
        }
        writeln!(out, "không nạp được kịch bản; sửa các lỗi trên rồi thử lại")?;
        return Ok(ExitCode::FAILURE);
    };
    let mut record = match &args.record {
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
        let step = dialog::step(&set, session.as_ref(), &event, unix_now());
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
