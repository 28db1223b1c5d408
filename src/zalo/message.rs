//! Turns channel-neutral `Reply` values into OA API v3 `message` objects (pure).
//!
//! Zalo caps CS text at 2,000 characters and a message at 5 buttons
//! (docs/zalo.md §4). Long text is split at paragraph, line or
//! sentence boundaries; buttons ride on the last part so they stay under the text
//! they belong to.

use serde_json::{Value, json};

use crate::reply::{Button, Reply};

pub use crate::reply::{MAX_BUTTONS, MAX_TEXT_CHARS};

/// The `message` objects to send, in order, for one reply.
pub fn to_messages(reply: &Reply) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(url) = &reply.image_url {
        out.push(json!({
            "attachment": {"type": "template", "payload": {
                "template_type": "media",
                "elements": [{"media_type": "image", "url": url}]
            }}
        }));
    }
    let parts = split_text(&reply.text, MAX_TEXT_CHARS);
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.into_iter().enumerate() {
        let mut message = json!({ "text": part });
        if i == last && !reply.buttons.is_empty() {
            if reply.buttons.len() > MAX_BUTTONS {
                tracing::warn!(
                    buttons = reply.buttons.len(),
                    "reply has more than {MAX_BUTTONS} buttons; extra buttons dropped"
                );
            }
            let buttons: Vec<Value> = reply.buttons.iter().take(MAX_BUTTONS).map(button).collect();
            message["attachment"] = json!({"type": "template", "payload": {"buttons": buttons}});
        }
        out.push(message);
    }
    out
}

/// A readable rendering of a `message` object built by `to_messages`: the text, then
/// one `[title]` line per button (the console's test chat and logs for people).
pub fn plain_text(message: &Value) -> String {
    let mut out = message.get("text").and_then(Value::as_str).unwrap_or_default().to_owned();
    let buttons = message
        .pointer("/attachment/payload/buttons")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for b in buttons {
        if let Some(title) = b.get("title").and_then(Value::as_str) {
            out.push_str(&format!("\n[{title}]"));
        }
    }
    if out.is_empty() && message.pointer("/attachment/payload/elements").is_some() {
        out.push_str("[hình ảnh]");
    }
    out
}

fn button(button: &Button) -> Value {
    match button {
        Button::Query { title, payload } => {
            json!({"title": title, "type": "oa.query.hide", "payload": payload})
        }
        Button::Url { title, url } => {
            json!({"title": title, "type": "oa.open.url", "payload": {"url": url}})
        }
        Button::Phone { title, phone } => {
            json!({"title": title, "type": "oa.open.phone", "payload": {"phone_code": phone}})
        }
    }
}

/// Splits `text` into pieces of at most `max` characters, cutting at the latest
/// paragraph break, line break, sentence end or space that fits; a single unbroken run
/// longer than `max` is cut hard. Empty text yields one empty piece (a reply with only
/// buttons still needs a text).
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text.trim();
    while rest.chars().count() > max {
        // Byte index just past the `max`-th character.
        let limit = rest.char_indices().nth(max).map(|(i, _)| i).unwrap_or(rest.len());
        let window = &rest[..limit];
        let cut = best_cut(window).unwrap_or(limit);
        pieces.push(rest[..cut].trim_end().to_owned());
        rest = rest[cut..].trim_start();
    }
    pieces.push(rest.to_owned());
    pieces
}

/// Finds a cut position in a window of text.
type CutFinder = dyn Fn(&str) -> Option<usize>;

fn best_cut(window: &str) -> Option<usize> {
    // Do not cut so early that we produce a tiny piece: require at least half the window.
    let floor = window.len() / 2;
    let candidates: [&CutFinder; 4] = [
        &|w| w.rfind("\n\n").map(|i| i + 2),
        &|w| w.rfind('\n').map(|i| i + 1),
        &|w| {
            w.char_indices()
                .filter(|(i, c)| {
                    matches!(c, '.' | '!' | '?' | ';')
                        && w[*i + c.len_utf8()..].starts_with(char::is_whitespace)
                })
                .map(|(i, c)| i + c.len_utf8())
                .next_back()
        },
        &|w| w.rfind(' ').map(|i| i + 1),
    ];
    candidates.iter().filter_map(|f| f(window)).find(|&cut| cut >= floor && cut > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_table() {
        let cases: &[(&str, usize, &[&str])] = &[
            ("ngắn", 10, &["ngắn"]),
            ("", 10, &[""]),
            ("Câu một. Câu hai dài hơn.", 12, &["Câu một.", "Câu hai dài", "hơn."]),
            ("dòng một\ndòng hai\ndòng ba", 18, &["dòng một\ndòng hai", "dòng ba"]),
            ("aaaaaaaaaaaaaaaaaaaa", 8, &["aaaaaaaa", "aaaaaaaa", "aaaa"]),
            ("đoạn một.\n\nđoạn hai.", 15, &["đoạn một.", "đoạn hai."]),
        ];
        for (text, max, want) in cases {
            let got = split_text(text, *max);
            assert_eq!(got, want.to_vec(), "{text:?} at {max}");
            assert!(got.iter().all(|p| p.chars().count() <= *max));
        }
    }

    #[test]
    fn long_vietnamese_text_splits_under_limit_without_losing_words() {
        let sentence = "Bạn mở ứng dụng VNeID và chọn mục Đăng nhập. ";
        let text = sentence.repeat(120);
        let parts = split_text(&text, MAX_TEXT_CHARS);
        assert!(parts.len() >= 2);
        for p in &parts {
            assert!(p.chars().count() <= MAX_TEXT_CHARS);
            assert!(p.ends_with('.'), "cut at a sentence end: {:?}", &p[p.len() - 10..]);
        }
        let joined: String = parts.join(" ");
        assert_eq!(joined.split_whitespace().count(), text.split_whitespace().count());
    }

    #[test]
    fn buttons_go_on_the_last_part_and_are_capped() {
        let mut reply = Reply::text("x. ".repeat(1500));
        for i in 0..7 {
            reply = reply.with_query(format!("Nút {i}"), format!("#{i}"));
        }
        reply.buttons.push(Button::Url {
            title: "Cổng DVC".into(),
            url: "https://dichvucong.gov.vn".into(),
        });
        let messages = to_messages(&reply);
        assert_eq!(messages.len(), 3);
        assert!(messages[0].get("attachment").is_none());
        let buttons = messages[2]["attachment"]["payload"]["buttons"].as_array().unwrap();
        assert_eq!(buttons.len(), MAX_BUTTONS);
        assert_eq!(buttons[0]["type"], "oa.query.hide");
        assert_eq!(buttons[0]["payload"], "#0");
    }

    #[test]
    fn button_shapes_follow_the_facts_doc() {
        let reply = Reply {
            text: "Liên hệ".into(),
            buttons: vec![
                Button::Url { title: "Web".into(), url: "https://a.vn".into() },
                Button::Phone { title: "Gọi".into(), phone: "156".into() },
            ],
            image_url: Some("https://a.vn/x.png".into()),
        };
        let m = to_messages(&reply);
        assert_eq!(m[0]["attachment"]["payload"]["elements"][0]["url"], "https://a.vn/x.png");
        let b = &m[1]["attachment"]["payload"]["buttons"];
        assert_eq!(b[0]["payload"]["url"], "https://a.vn");
        assert_eq!(b[1]["type"], "oa.open.phone");
        assert_eq!(b[1]["payload"]["phone_code"], "156");
    }
}
