//! Transcript tests admins can write (`dialogs/tests/*.txt`): parse, run, measure coverage.
//!
//! ```text
//! # comment
//! === Tên kịch bản thử        (each === starts a fresh session)
//! @follow                     (the user followed the OA)
//! @wait 8d                    (time passes: 45s, 30m, 2h, 8d)
//! > dich vu cong              (what the user types, a number or a button payload)
//! < Dịch vụ công              (fragments expected in the bot's reply, in order)
//! ```
//! A reply is rendered for matching as each message's text followed by each button as
//! `[title]`; fragments are NFC-normalised, case-sensitive substrings found in order.

use std::collections::BTreeSet;

use super::diagnostic::{Code, Diagnostic, Severity};
use super::engine::{EngineOptions, step_traced};
use super::load::SourceFile;
use super::model::{DialogSet, Target};
use super::session::{Input, Session};
use super::text;
use crate::calendar::UnixSecs;
use crate::reply::Reply;

/// The clock of a transcript starts here (2026-01-01T00:00:00Z) and moves 1 minute per input.
const TRANSCRIPT_EPOCH: UnixSecs = UnixSecs(1_767_225_600);
const SECONDS_PER_INPUT: i64 = 60;

/// The outcome of running transcript files against a dialog set.
#[derive(Debug, Clone, Default)]
pub struct TranscriptReport {
    /// Failures and format problems (all errors), like load diagnostics.
    pub diagnostics: Vec<Diagnostic>,
    pub scenarios: usize,
    pub failed_scenarios: usize,
    /// Nodes shown at least once.
    pub visited: BTreeSet<Target>,
}

impl TranscriptReport {
    /// Nodes of the set that no transcript reached, sorted.
    pub fn unvisited(&self, set: &DialogSet) -> Vec<Target> {
        set.all_nodes().into_iter().filter(|t| !self.visited.contains(t)).collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Event {
    Follow,
    Wait(i64),
    Say(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Action {
    line: usize,
    event: Event,
    /// (line, fragment) expected in the reply to this action.
    expect: Vec<(usize, String)>,
}

#[derive(Debug, Clone, PartialEq)]
struct Scenario {
    title: String,
    line: usize,
    actions: Vec<Action>,
}

/// Runs every transcript file; each `===` scenario starts with no session.
pub fn run(set: &DialogSet, files: &[SourceFile], options: &EngineOptions) -> TranscriptReport {
    let mut report = TranscriptReport::default();
    for file in files {
        let scenarios = match parse(&file.contents) {
            Ok(scenarios) => scenarios,
            Err((line, message)) => {
                report.diagnostics.push(diagnostic(&file.path, line, message));
                continue;
            }
        };
        for scenario in scenarios {
            report.scenarios += 1;
            if let Some(failure) = run_scenario(set, &scenario, options, &mut report.visited) {
                report.failed_scenarios += 1;
                report.diagnostics.push(diagnostic(&file.path, failure.0, failure.1));
            }
        }
    }
    report
}

fn diagnostic(path: &str, line: usize, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        code: Code::Transcript,
        file: path.to_owned(),
        line,
        column: 1,
        message,
    }
}

/// Runs one scenario; the first failed expectation as (line, message).
fn run_scenario(
    set: &DialogSet,
    scenario: &Scenario,
    options: &EngineOptions,
    visited: &mut BTreeSet<Target>,
) -> Option<(usize, String)> {
    let mut session: Option<Session> = None;
    let mut now = TRANSCRIPT_EPOCH;
    for action in &scenario.actions {
        let (input, shown) = match &action.event {
            Event::Wait(seconds) => {
                now = now.plus_secs(*seconds);
                continue;
            }
            Event::Follow => (Input::Follow, "@follow".to_owned()),
            Event::Say(typed) => (Input::Text(typed.clone()), format!("> {typed}")),
        };
        now = now.plus_secs(SECONDS_PER_INPUT);
        let (step, nodes) = step_traced(set, session.take(), &input, now, options);
        visited.extend(nodes);
        session = step.session;
        let rendered = render_for_matching(&step.replies);
        let mut from = 0;
        for (line, fragment) in &action.expect {
            match rendered.get(from..).and_then(|rest| rest.find(fragment.as_str())) {
                Some(at) => from += at + fragment.len(),
                None => {
                    let reply =
                        rendered.lines().map(|l| format!("\n    | {l}")).collect::<String>();
                    return Some((
                        *line,
                        format!(
                            "thử \"{}\": sau \"{shown}\" mong có \"{fragment}\" nhưng bot trả lời:{reply}",
                            scenario.title
                        ),
                    ));
                }
            }
        }
    }
    None
}

/// Replies as matched by `<` lines: texts, then `[button]`s, message after message.
fn render_for_matching(replies: &[Reply]) -> String {
    let mut out = String::new();
    for reply in replies {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&reply.text);
        for button in &reply.buttons {
            out.push_str("\n[");
            out.push_str(button.title());
            out.push(']');
        }
    }
    text::nfc(&out)
}

/// Parses a transcript file; the error is (line, message in Vietnamese).
fn parse(contents: &str) -> Result<Vec<Scenario>, (usize, String)> {
    let mut scenarios: Vec<Scenario> = Vec::new();
    for (index, raw_line) in contents.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw_line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(title) = trimmed.strip_prefix("===") {
            scenarios.push(Scenario { title: title.trim().to_owned(), line, actions: Vec::new() });
            continue;
        }
        if scenarios.is_empty() {
            scenarios
                .push(Scenario { title: "(không tên)".to_owned(), line, actions: Vec::new() });
        }
        let Some(scenario) = scenarios.last_mut() else { continue };
        let event = if let Some(typed) = trimmed.strip_prefix('>') {
            Event::Say(typed.trim().to_owned())
        } else if let Some(fragment) = trimmed.strip_prefix('<') {
            let Some(action) = scenario.actions.last_mut() else {
                return Err((
                    line,
                    "dòng \"<\" phải đứng sau một dòng \">\" hoặc \"@follow\"".to_owned(),
                ));
            };
            if matches!(action.event, Event::Wait(_)) {
                return Err((line, "dòng \"<\" không thể đứng sau \"@wait\"".to_owned()));
            }
            action.expect.push((line, text::nfc(fragment.trim())));
            continue;
        } else if trimmed == "@follow" {
            Event::Follow
        } else if let Some(duration) = trimmed.strip_prefix("@wait") {
            match parse_duration(duration.trim()) {
                Some(seconds) => Event::Wait(seconds),
                None => {
                    return Err((
                        line,
                        format!(
                            "@wait cần thời gian như 45s, 30m, 2h, 8d (gặp \"{}\")",
                            duration.trim()
                        ),
                    ));
                }
            }
        } else {
            return Err((
                line,
                format!(
                    "không hiểu dòng \"{trimmed}\": dùng ===, >, <, @follow, @wait hoặc # (ghi chú)"
                ),
            ));
        };
        scenario.actions.push(Action { line, event, expect: Vec::new() });
    }
    Ok(scenarios)
}

fn parse_duration(s: &str) -> Option<i64> {
    let unit = s.chars().last()?;
    let amount: i64 = s.get(..s.len() - unit.len_utf8())?.trim().parse().ok()?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    amount.checked_mul(seconds).filter(|s| *s >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_line_kinds() {
        let scenarios = parse(
            "# ghi chú\n=== Một\n@follow\n< Xin chào\n> 1\n< a\n< b\n@wait 8d\n=== Hai\n> menu\n",
        )
        .expect("valid transcript");
        assert_eq!(scenarios.len(), 2);
        assert_eq!(scenarios[0].title, "Một");
        assert_eq!(scenarios[0].actions.len(), 3);
        assert_eq!(scenarios[0].actions[1].expect, vec![(6, "a".to_owned()), (7, "b".to_owned())]);
        assert_eq!(scenarios[0].actions[2].event, Event::Wait(8 * 86_400));
        assert_eq!(scenarios[1].actions[0].event, Event::Say("menu".to_owned()));
    }

    #[test]
    fn rejects_bad_lines() {
        let cases = [
            ("< trước khi hỏi\n", 1),
            ("> a\n@wait 1d\n< b\n", 3),
            ("> a\n@wait soon\n", 2),
            ("=== x\nbot: xin chào\n", 2),
        ];
        for (contents, line) in cases {
            assert_eq!(parse(contents).map_err(|e| e.0), Err(line), "{contents:?}");
        }
    }

    #[test]
    fn durations() {
        let cases = [
            ("45s", Some(45)),
            ("30m", Some(1800)),
            ("2h", Some(7200)),
            ("8d", Some(691_200)),
            ("8", None),
            ("d", None),
            ("-1d", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_duration(input), expected, "{input}");
        }
    }
}
