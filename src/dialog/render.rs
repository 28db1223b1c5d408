//! Turning nodes and engine situations into `Reply` messages (Vietnamese, NFC).
//!
//! Choices are shown as `Query` buttons whose payloads the engine parses (typing the number of
//! a button still works). Numbered lines are added to the text only where buttons cannot carry
//! every choice (more candidates than Zalo's 5 buttons), so a step is never shown twice.

use std::fmt::Write as _;

use super::date::Date;
use super::model::{AskKind, DialogSet, Node, Target};
use super::payload::Payload;
use super::session::Session;
use super::text;
use crate::reply::{Button, MAX_BUTTONS, Reply};

/// Shown in place of a `{name}` whose answer the user has not given yet.
const MISSING_VALUE: &str = "(chưa có)";
const MENU_BUTTON: &str = "Menu chính";
/// The automatic way back on a node whose own buttons do not lead back (see `Node::auto_back`).
pub(crate) const BACK_BUTTON: &str = "Quay lại";
/// Sent as if typed: the universal word for "previous step".
const BACK_PAYLOAD: &str = "quay lại";
/// The start of every "that did not match" answer.
pub(crate) const NOT_UNDERSTOOD: &str = "Mình chưa hiểu ý bạn.";
/// Put before the main menu when a first message matched nothing.
pub(crate) const NOT_UNDERSTOOD_FRESH: &str =
    "Mình chưa hiểu ý bạn. Bạn chọn một việc trong menu dưới đây, hoặc gõ câu hỏi ngắn gọn hơn.";

/// Fills `{name}` from the session's answers, then the facts.
pub(crate) fn fill(set: &DialogSet, session: Option<&Session>, s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fill_into(&mut out, set, session, s);
    out
}

/// [`fill`], appended to `out`.
fn fill_into(out: &mut String, set: &DialogSet, session: Option<&Session>, s: &str) {
    text::fill_into(out, s, |name| {
        let answer = session.and_then(|s| s.answers.get(name));
        let fact = || set.facts.get(name).map(|f| &f.value);
        Some(answer.or_else(fact).cloned().unwrap_or_else(|| MISSING_VALUE.to_owned()))
    });
}

/// The payload of choice `index` (0-based) of a node.
/// Written directly, not through `Payload`'s `Display`: every button of every step gets one,
/// and cloning the target and running the formatter showed in the engine's profile. Same text
/// as `Payload::Choice` (tested below).
pub(crate) fn choice_payload(target: &Target, index: usize) -> String {
    let number = index + 1;
    let mut payload = String::with_capacity(target.dialog.len() + target.node.len() + 8);
    payload.push_str("#c:");
    payload.push_str(&target.dialog);
    payload.push(':');
    payload.push_str(&target.node);
    payload.push(':');
    let _ = write!(payload, "{number}");
    payload
}

/// "Thông tin cập nhật tháng 3/2026": the as-of line of a fact-stating answer, from the oldest
/// `verified` date among the nodes shown in the step.
pub(crate) fn as_of_line(date: Date) -> String {
    format!("Thông tin cập nhật tháng {}/{}.", date.month, date.year)
}

/// The message for a node: step counter, text, as-of line, buttons, image.
/// `as_of`: the date for the as-of line (only on the last message of a step).
pub(crate) fn node(
    set: &DialogSet,
    session: Option<&Session>,
    at: &Target,
    node: &Node,
    as_of: Option<Date>,
) -> Reply {
    // Sized for the text and a few numbered choices: growing it was most of the rendering.
    let mut text = String::with_capacity(node.say.len() + 32 * node.choices.len() + 64);
    if let Some((i, n)) = node.step {
        let _ = writeln!(text, "Bước {i}/{n}");
    }
    fill_into(&mut text, set, session, &node.say);
    if let Some(date) = as_of {
        text.push_str("\n\n");
        text.push_str(&as_of_line(date));
    }
    let mut reply = Reply { image_url: node.image.clone(), ..Reply::default() };
    add_choices(set, session, at, node, &mut text, &mut reply);
    for (label, url) in &node.links {
        reply
            .buttons
            .push(Button::Url { title: fill(set, session, label), url: fill(set, session, url) });
    }
    for (label, phone) in &node.calls {
        let phone =
            fill(set, session, phone).chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
        reply.buttons.push(Button::Phone { title: fill(set, session, label), phone });
    }
    if node.end {
        // Say how to go on, unless the admin's text already mentions the menu.
        if !text::contains_phrase(&text::fold(&node.say), "menu") {
            text.push_str("\n\nGõ \"menu\" để về menu chính.");
        }
        add_menu_button(&mut reply);
    }
    if let Some(ask) = &node.ask {
        add_answer_buttons(&mut reply, ask.kind);
    }
    if node.auto_back && reply.buttons.len() < MAX_BUTTONS {
        reply.buttons.push(Button::Query {
            title: BACK_BUTTON.to_owned(),
            payload: BACK_PAYLOAD.to_owned(),
        });
    }
    reply.text = text;
    reply
}

fn add_choices(
    set: &DialogSet,
    session: Option<&Session>,
    at: &Target,
    node: &Node,
    text: &mut String,
    reply: &mut Reply,
) {
    if node.choices.is_empty() {
        return;
    }
    // Buttons carry the choices; numbered lines only when some could not be shown as buttons.
    let numbered = node.choices.len() > MAX_BUTTONS;
    if numbered {
        text.push('\n');
    }
    for (index, choice) in node.choices.iter().enumerate() {
        let label = fill(set, session, &choice.label);
        if numbered {
            let _ = write!(text, "\n{}. {label}", index + 1);
        }
        reply.buttons.push(Button::Query { title: label, payload: choice_payload(at, index) });
    }
}

fn add_menu_button(reply: &mut Reply) {
    if reply.buttons.len() < MAX_BUTTONS {
        reply.buttons.push(Button::Query {
            title: MENU_BUTTON.to_owned(),
            payload: Payload::Menu.to_string(),
        });
    }
}

/// Yes/no questions get "Có" / "Không" buttons that send those words.
pub(crate) fn add_answer_buttons(reply: &mut Reply, kind: AskKind) {
    if kind == AskKind::YesNo && reply.buttons.len() + 2 <= MAX_BUTTONS {
        for word in ["Có", "Không"] {
            reply.buttons.push(Button::Query { title: word.to_owned(), payload: word.to_owned() });
        }
    }
}

/// The re-ask text when the dialog does not set `ask.retry`.
pub(crate) fn default_retry(kind: AskKind) -> String {
    match kind {
        AskKind::Number { min: Some(min), max: Some(max) } => {
            format!("Bạn vui lòng nhập một số từ {min} đến {max}.")
        }
        AskKind::Number { min: Some(min), max: None } => {
            format!("Bạn vui lòng nhập một số từ {min} trở lên.")
        }
        AskKind::Number { min: None, max: Some(max) } => {
            format!("Bạn vui lòng nhập một số không quá {max}.")
        }
        AskKind::Number { .. } => "Bạn vui lòng nhập một số, ví dụ: 3.".to_owned(),
        AskKind::Text => "Bạn vui lòng nhập câu trả lời bằng chữ.".to_owned(),
        AskKind::YesNo => "Bạn trả lời \"có\" hoặc \"không\" nhé.".to_owned(),
        AskKind::Phone => {
            "Số điện thoại chưa đúng. Bạn nhập số di động 10 chữ số, ví dụ: 0912345678.".to_owned()
        }
        AskKind::Date => {
            "Ngày chưa đúng. Bạn nhập theo dạng ngày/tháng/năm, ví dụ: 05/03/2026.".to_owned()
        }
    }
}

/// "Not understood" at a node: repeat its choices (or the way out) briefly.
/// `typed_number`: the user typed a number that is not one of the choices.
pub(crate) fn not_understood(
    set: &DialogSet,
    session: Option<&Session>,
    at: &Target,
    node: &Node,
    typed_number: Option<&str>,
) -> Reply {
    let mut reply = Reply::default();
    let mut text = match typed_number {
        Some(number) if !node.choices.is_empty() => format!("Không có lựa chọn số {number}."),
        _ => String::from(NOT_UNDERSTOOD),
    };
    if node.choices.is_empty() {
        text.push_str(" Bạn gõ \"menu\" để về menu chính, hoặc \"trợ giúp\" để xem cách dùng.");
        add_menu_button(&mut reply);
    } else {
        let _ = write!(text, " Bạn bấm một nút hoặc gõ số từ 1 đến {}:", node.choices.len());
        add_choices(set, session, at, node, &mut text, &mut reply);
    }
    reply.text = text;
    reply
}

/// "Which one did you mean?" with a numbered line and a button per candidate.
pub(crate) fn ask_back(candidates: &[(String, Target)]) -> Reply {
    let mut reply = Reply::default();
    let mut text = String::from("Bạn muốn chọn mục nào?");
    let numbered = candidates.len() > MAX_BUTTONS;
    for (index, (label, target)) in candidates.iter().enumerate() {
        if numbered {
            let _ = write!(text, "\n{}. {label}", index + 1);
        }
        if reply.buttons.len() < MAX_BUTTONS {
            let payload = Payload::Go(target.clone()).to_string();
            reply.buttons.push(Button::Query { title: label.clone(), payload });
        }
    }
    reply.text = text;
    reply
}

/// "Did you mean …?" after free text matched two or three nodes about equally.
pub(crate) fn did_you_mean(candidates: &[(String, Target)]) -> Reply {
    let mut reply = ask_back(candidates);
    reply.text = reply.text.replacen("Bạn muốn chọn mục nào?", "Có phải bạn muốn hỏi:", 1);
    reply
}

/// What the user can type here.
pub(crate) fn help(set: &DialogSet, node: Option<&Node>) -> String {
    let mut text = String::from("Bạn có thể gõ:");
    if let Some(node) = node {
        if !node.choices.is_empty() {
            let _ = write!(text, "\n• số từ 1 đến {} (hoặc bấm nút) để chọn", node.choices.len());
        }
        if let Some(ask) = &node.ask {
            let _ = write!(text, "\n• câu trả lời cho câu hỏi vừa rồi ({})", answer_hint(ask.kind));
        }
    }
    text.push_str("\n• \"quay lại\" để về bước trước");
    text.push_str("\n• \"làm lại\" để bắt đầu lại mục này");
    text.push_str("\n• \"menu\" để về menu chính");
    text.push_str("\n• \"thoát\" để kết thúc");
    if !set.hints.is_empty() {
        let _ = write!(text, "\nHoặc gõ chủ đề cần hỏi, ví dụ: {}.", set.hints.join(", "));
    }
    text
}

fn answer_hint(kind: AskKind) -> &'static str {
    match kind {
        AskKind::Number { .. } => "một số",
        AskKind::Text => "bằng chữ",
        AskKind::YesNo => "\"có\" hoặc \"không\"",
        AskKind::Phone => "số điện thoại",
        AskKind::Date => "ngày/tháng/năm",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choice_payload_is_the_payload_text() {
        let at = Target { dialog: "dvc".into(), node: "buoc_1".into() };
        for index in [0, 1, 8, 9, 10, 99, 12_345, usize::MAX - 1] {
            let expected = Payload::Choice { at: at.clone(), number: index + 1 }.to_string();
            assert_eq!(choice_payload(&at, index), expected);
        }
    }
}
