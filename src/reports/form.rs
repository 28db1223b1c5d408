//! The guided report form: `(state, input, now) -> (state, replies, outcome)`.
//!
//! One question per indicator with progress ("Câu 3/9"), `bỏ qua` for optional ones, a
//! re-ask with an example on invalid input (3 tries, then the form stops), an echo with
//! Vietnamese labels, and `Gửi` / `Sửa` / `Hủy`. Submitting is the caller's job: the
//! form only says `Outcome::Submit`, so the store write and its confirmation stay at the
//! edge. The state is serialised into the store between messages.

use crate::calendar::UnixSecs;
use serde::{Deserialize, Serialize};

use super::definition::{Indicator, IndicatorKind, ReportType};
use super::oneline::Values;
use super::period::Period;
use super::render;
use super::text::fold;
use super::value::parse_value;
use crate::reply::Reply;

/// Invalid answers allowed per question before the form stops.
pub const MAX_ATTEMPTS: u8 = 3;
/// A form untouched this long is dropped (the member has moved on).
pub const FORM_IDLE_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormState {
    /// Report type key.
    pub report: String,
    pub period: Period,
    /// Definition id the form started with (informational; answers are keyed by code).
    pub definition: String,
    pub step: Step,
    pub answers: Values,
    /// Invalid answers to the current question so far.
    pub attempts: u8,
    pub updated_at: UnixSecs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "index")]
pub enum Step {
    /// Asking question `index` (0-based) in order.
    Ask(usize),
    /// Showing the echo; waiting for Gửi / Sửa / Hủy.
    Confirm,
    /// Waiting for the number of the question to change.
    ChooseEdit,
    /// Re-asking question `index`, then back to Confirm.
    Edit(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Keep going; store `state`.
    Continue,
    /// The member confirmed: store these values, then confirm. The state is gone.
    Submit { period: Period, values: Values },
    /// Form ended without storing.
    Ended,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub state: Option<FormState>,
    pub replies: Vec<Reply>,
    pub outcome: Outcome,
}

/// Starts a form for `period`.
pub fn start(report: &ReportType, definition: &str, period: Period, now: UnixSecs) -> Transition {
    let state = FormState {
        report: report.key.clone(),
        period,
        definition: definition.to_owned(),
        step: Step::Ask(0),
        answers: Values::new(),
        attempts: 0,
        updated_at: now,
    };
    let intro = Reply::text(format!(
        "📝 {} — {} câu. Gõ «hủy» bất cứ lúc nào để dừng.",
        render::title(report, state.period),
        report.indicators.len()
    ));
    let mut replies = vec![intro];
    replies.extend(ask(report, 0, None));
    Transition { state: Some(state), replies, outcome: Outcome::Continue }
}

/// Feeds one message to the form.
pub fn advance(
    report: &ReportType,
    mut state: FormState,
    input: &str,
    now: UnixSecs,
) -> Transition {
    if now.since(state.updated_at) > FORM_IDLE_SECS {
        return ended(vec![render::form_expired()]);
    }
    state.updated_at = now;
    let word = fold(input.trim());
    if matches!(word.as_str(), "huy" | "/huy" | "thoat" | "dung") {
        return ended(vec![render::form_cancelled()]);
    }
    match state.step {
        Step::Ask(index) | Step::Edit(index) => answer(report, state, index, input, &word),
        Step::Confirm => match word.as_str() {
            "gui" | "ok" | "dong y" => Transition {
                state: None,
                replies: Vec::new(),
                outcome: Outcome::Submit { period: state.period, values: state.answers },
            },
            "sua" => {
                state.step = Step::ChooseEdit;
                let n = report.indicators.len();
                let reply = Reply::text(format!(
                    "Gõ số thứ tự câu cần sửa (1–{n}).\n{}",
                    render::echo_lines(report, &state.answers, true)
                ));
                keep(state, vec![reply])
            }
            _ => {
                let prompt = Reply::text("Vui lòng bấm «Gửi», «Sửa» hoặc «Hủy».");
                keep_retrying(report, state, prompt)
            }
        },
        Step::ChooseEdit => {
            let n = report.indicators.len();
            match word.parse::<usize>() {
                Ok(k) if (1..=n).contains(&k) => {
                    state.step = Step::Edit(k - 1);
                    state.attempts = 0;
                    let replies = ask(report, k - 1, None);
                    keep(state, replies)
                }
                _ => {
                    let prompt = Reply::text(format!("Vui lòng gõ một số từ 1 đến {n}."));
                    keep_retrying(report, state, prompt)
                }
            }
        }
    }
}

fn answer(
    report: &ReportType,
    mut state: FormState,
    index: usize,
    input: &str,
    word: &str,
) -> Transition {
    // The definition may have changed under a running form: past the end means done.
    let Some(indicator) = report.indicators.get(index) else {
        return to_confirm(report, state);
    };
    let skip = matches!(word, "bo qua" | "boqua" | "bq" | "-" | "skip");
    if skip && !indicator.required {
        state.answers.remove(&indicator.code);
        return next(report, state, index);
    }
    let result = if skip {
        Err("câu này bắt buộc, không bỏ qua được".to_owned())
    } else {
        parse_value(indicator, input).map_err(|e| e.to_string())
    };
    match result {
        Ok(value) => {
            state.answers.insert(indicator.code.clone(), value);
            next(report, state, index)
        }
        Err(problem) => {
            state.attempts += 1;
            if state.attempts >= MAX_ATTEMPTS {
                return ended(vec![render::form_gave_up()]);
            }
            let replies = ask(report, index, Some(&problem));
            keep(state, replies)
        }
    }
}

fn next(report: &ReportType, mut state: FormState, index: usize) -> Transition {
    state.attempts = 0;
    if matches!(state.step, Step::Edit(_)) || index + 1 >= report.indicators.len() {
        return to_confirm(report, state);
    }
    state.step = Step::Ask(index + 1);
    let replies = ask(report, index + 1, None);
    keep(state, replies)
}

fn to_confirm(report: &ReportType, mut state: FormState) -> Transition {
    state.step = Step::Confirm;
    state.attempts = 0;
    let reply = render::confirm(report, state.period, &state.answers);
    keep(state, vec![reply])
}

/// The question for indicator `index`, with the problem of the last answer if any.
fn ask(report: &ReportType, index: usize, problem: Option<&str>) -> Vec<Reply> {
    let Some(indicator) = report.indicators.get(index) else { return Vec::new() };
    let total = report.indicators.len();
    let mut text = String::new();
    if let Some(problem) = problem {
        text.push_str(&format!("⚠️ Chưa đúng: {problem}. Ví dụ: {}\n", indicator.example));
    }
    text.push_str(&format!("Câu {}/{total}: {}", index + 1, indicator.label));
    if let Some(unit) = &indicator.unit {
        text.push_str(&format!(" ({unit})"));
    }
    text.push('?');
    text.push_str(&hint(indicator));
    let mut reply = Reply::text(text);
    if indicator.kind == IndicatorKind::Bool {
        reply = reply.with_query("Có", "có").with_query("Không", "không");
    }
    if !indicator.required {
        reply = reply.with_query("Bỏ qua", "bỏ qua");
    }
    vec![reply.with_query("Hủy", "hủy")]
}

fn hint(indicator: &Indicator) -> String {
    let what = match indicator.kind {
        IndicatorKind::Int => "Trả lời bằng một số",
        IndicatorKind::Bool => "Trả lời Có hoặc Không",
        IndicatorKind::Text => "Trả lời ngắn gọn",
    };
    if indicator.required {
        format!("\n({what}.)")
    } else {
        format!("\n({what}; không bắt buộc, gõ «bỏ qua» nếu không có.)")
    }
}

fn keep_retrying(report: &ReportType, mut state: FormState, prompt: Reply) -> Transition {
    state.attempts += 1;
    if state.attempts >= MAX_ATTEMPTS {
        return ended(vec![render::form_gave_up()]);
    }
    let replies = match state.step {
        Step::Confirm => vec![render::confirm(report, state.period, &state.answers)],
        _ => vec![prompt],
    };
    keep(state, replies)
}

fn keep(state: FormState, replies: Vec<Reply>) -> Transition {
    Transition { state: Some(state), replies, outcome: Outcome::Continue }
}

fn ended(replies: Vec<Reply>) -> Transition {
    Transition { state: None, replies, outcome: Outcome::Ended }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Button;
    use crate::reports::oneline::tests::defs;
    use crate::reports::value::Value;

    const NOW: UnixSecs = UnixSecs(1_800_000_000);

    fn period() -> Period {
        Period::from_key("2026-10").unwrap()
    }

    /// Runs `inputs` through a fresh form; returns the last transition.
    fn run(inputs: &[&str]) -> Transition {
        let d = defs();
        let r = d.get(None).unwrap();
        let mut t = start(r, &d.version, period(), NOW);
        for input in inputs {
            let state = t.state.clone().expect("form still running");
            t = advance(r, state, input, NOW.plus_secs(60));
        }
        t
    }

    fn texts(t: &Transition) -> String {
        t.replies.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn start_asks_question_one_of_n() {
        let t = run(&[]);
        assert!(
            texts(&t).contains("Câu 1/4: Số lượt người dân được hướng dẫn, hỗ trợ?"),
            "{}",
            texts(&t)
        );
        assert_eq!(t.state.unwrap().step, Step::Ask(0));
    }

    #[test]
    fn happy_path_with_skip_and_submit() {
        let t = run(&["1.200", "5", "bỏ qua", "thiếu máy", "Gửi"]);
        let mut want = Values::new();
        want.insert("CHUNG_01".into(), Value::Int(1200));
        want.insert("DVC_01".into(), Value::Int(5));
        want.insert("TO_05".into(), Value::Text("thiếu máy".into()));
        assert_eq!(t.outcome, Outcome::Submit { period: period(), values: want });
        assert!(t.state.is_none());
    }

    #[test]
    fn confirmation_echoes_labels_with_three_buttons() {
        let t = run(&["12", "5", "có", "bo qua"]);
        let reply = &t.replies[0];
        assert!(
            reply.text.contains("1. Số lượt người dân được hướng dẫn, hỗ trợ: 12"),
            "{}",
            reply.text
        );
        assert!(reply.text.contains("3. Tổ có hoạt động trong kỳ: Có"));
        assert!(reply.text.contains("4. Khó khăn, vướng mắc, đề xuất: —"));
        let titles: Vec<&str> = reply
            .buttons
            .iter()
            .map(|b| match b {
                Button::Query { title, .. } => title.as_str(),
                _ => "",
            })
            .collect();
        assert_eq!(titles, ["Gửi", "Sửa", "Hủy"]);
    }

    #[test]
    fn error_paths() {
        // (inputs, expected text fragment, still running?)
        let cases: &[(&[&str], &str, bool)] = &[
            (&["abc"], "⚠️ Chưa đúng: «abc» không phải là số. Ví dụ: 12\nCâu 1/4", true),
            (&["-2"], "không được là số âm", true),
            (&["1.5"], "phải là số nguyên", true),
            (&["200000"], "không được lớn hơn 100.000", true),
            (&["bỏ qua"], "câu này bắt buộc, không bỏ qua được", true),
            (&["12", "5", "có lẽ"], "«có lẽ» không phải là Có/Không", true),
            (&["x", "y", "z"], "sau 3 lần nhập chưa hợp lệ", false),
            (&["x", "12", "y"], "Câu 2/4", true), // attempts reset per question
            (&["hủy"], "Đã hủy, chưa có gì được lưu", false),
            (&["12", "Huỷ"], "Đã hủy", false),
            (&["12", "5", "có", "-", "gì đó"], "Kiểm tra", true),
            (&["12", "5", "có", "-", "a", "b", "c"], "sau 3 lần", false),
            (&["12", "5", "có", "-", "sửa", "9"], "Vui lòng gõ một số từ 1 đến 4", true),
            (&["12", "5", "có", "-", "sửa", "x", "y", "z"], "sau 3 lần", false),
        ];
        for (inputs, want, running) in cases {
            let t = run(inputs);
            assert!(texts(&t).contains(want), "inputs {inputs:?}: {}", texts(&t));
            assert_eq!(t.state.is_some(), *running, "inputs {inputs:?}");
        }
    }

    #[test]
    fn edit_changes_one_answer_and_returns_to_confirm() {
        let t = run(&["12", "5", "có", "-", "Sửa", "2", "7"]);
        assert_eq!(t.state.as_ref().unwrap().step, Step::Confirm);
        assert!(texts(&t).contains("2. Số người được hỗ trợ kích hoạt VNeID: 7"));
        let t = run(&["12", "5", "có", "-", "Sửa", "2", "7", "gui"]);
        match t.outcome {
            Outcome::Submit { values, .. } => {
                assert_eq!(values.get("DVC_01"), Some(&Value::Int(7)))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn idle_form_expires() {
        let d = defs();
        let r = d.get(None).unwrap();
        let t = start(r, &d.version, period(), NOW);
        let t = advance(r, t.state.unwrap(), "12", NOW.plus_secs(FORM_IDLE_SECS + 1));
        assert!(t.state.is_none());
        assert!(texts(&t).contains("quá hạn"));
    }

    #[test]
    fn optional_questions_offer_skip_and_bool_offers_yes_no() {
        let t = run(&["12", "5"]);
        let titles: Vec<String> = t.replies[0]
            .buttons
            .iter()
            .map(|b| match b {
                Button::Query { title, .. } => title.clone(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(titles, ["Có", "Không", "Bỏ qua", "Hủy"]);
    }
}
