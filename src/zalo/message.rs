//! Turns channel-neutral `Reply` values into OA API v3 `message` objects (pure).
//!
//! Zalo caps CS text at 2,000 characters and a message at 5 buttons
//! (docs/zalo.md §4). Long text is split at paragraph, line or
//! sentence boundaries; buttons ride on the last part so they stay under the text
//! they belong to.

use serde::Serialize;
use serde_json::Value;

use crate::reply::{Button, Reply};
use crate::store::RawJson;

pub use crate::reply::{MAX_BUTTONS, MAX_TEXT_CHARS};

/// The `message` objects to send, in order, for one reply, as JSON text.
///
/// Written straight from the reply through the borrowing types below: building each
/// message as a `serde_json::Value` first (a map per object, a copy of every string)
/// and serialising it again was a tenth of a conversation worker's time. The fields
/// are declared in the order `Value` sorted them, so the bytes are the same as before.
pub fn to_messages(reply: &Reply) -> Vec<RawJson> {
    let mut out = Vec::new();
    if let Some(url) = &reply.image_url {
        out.push(RawJson::new(&Message {
            attachment: Some(Attachment::template(Payload::Media {
                elements: [Element { media_type: "image", url }],
                template_type: "media",
            })),
            text: None,
        }));
    }
    let parts = split_text(&reply.text, MAX_TEXT_CHARS);
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.into_iter().enumerate() {
        let mut message = Message { attachment: None, text: Some(part) };
        if i == last && !reply.buttons.is_empty() {
            if reply.buttons.len() > MAX_BUTTONS {
                tracing::warn!(
                    buttons = reply.buttons.len(),
                    "reply has more than {MAX_BUTTONS} buttons; extra buttons dropped"
                );
            }
            let buttons = reply.buttons.iter().take(MAX_BUTTONS).map(ButtonOut::from).collect();
            message.attachment = Some(Attachment::template(Payload::Buttons { buttons }));
        }
        out.push(RawJson::new(&message));
    }
    out
}

/// An OA API `message` object (docs/zalo.md §4). Fields in alphabetical order: see
/// `to_messages`.
#[derive(Serialize)]
struct Message<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment: Option<Attachment<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

#[derive(Serialize)]
struct Attachment<'a> {
    payload: Payload<'a>,
    #[serde(rename = "type")]
    kind: &'static str,
}

impl<'a> Attachment<'a> {
    fn template(payload: Payload<'a>) -> Attachment<'a> {
        Attachment { payload, kind: "template" }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Payload<'a> {
    Buttons { buttons: Vec<ButtonOut<'a>> },
    Media { elements: [Element<'a>; 1], template_type: &'static str },
}

#[derive(Serialize)]
struct Element<'a> {
    media_type: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct ButtonOut<'a> {
    payload: ButtonPayload<'a>,
    title: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ButtonPayload<'a> {
    Query(&'a str),
    Url { url: &'a str },
    Phone { phone_code: &'a str },
}

impl<'a> From<&'a Button> for ButtonOut<'a> {
    fn from(button: &'a Button) -> ButtonOut<'a> {
        let (title, kind, payload) = match button {
            Button::Query { title, payload } => {
                (title, "oa.query.hide", ButtonPayload::Query(payload))
            }
            Button::Url { title, url } => (title, "oa.open.url", ButtonPayload::Url { url }),
            Button::Phone { title, phone } => {
                (title, "oa.open.phone", ButtonPayload::Phone { phone_code: phone })
            }
        };
        ButtonOut { payload, title, kind }
    }
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

/// Splits `text` into pieces of at most `max` characters, cutting at the latest
/// paragraph break, line break, sentence end or space that fits; a single unbroken run
/// longer than `max` is cut hard. Empty text yields one empty piece (a reply with only
/// buttons still needs a text).
pub fn split_text(text: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text.trim();
    while rest.chars().count() > max {
        // Byte index just past the `max`-th character.
        let limit = rest.char_indices().nth(max).map(|(i, _)| i).unwrap_or(rest.len());
        let window = &rest[..limit];
        let cut = best_cut(window).unwrap_or(limit);
        pieces.push(rest[..cut].trim_end());
        rest = rest[cut..].trim_start();
    }
    pieces.push(rest);
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
        let messages: Vec<Value> = to_messages(&reply).iter().map(RawJson::value).collect();
        assert_eq!(messages.len(), 3);
        assert!(messages[0].get("attachment").is_none());
        let buttons = messages[2]["attachment"]["payload"]["buttons"].as_array().unwrap();
        assert_eq!(buttons.len(), MAX_BUTTONS);
        assert_eq!(buttons[0]["type"], "oa.query.hide");
        assert_eq!(buttons[0]["payload"], "#0");
    }

    /// The JSON written for each shape of docs/zalo.md §4 (text, image, query, URL and
    /// phone buttons), byte for byte: compact, and the keys in the order a
    /// `serde_json::Value` sorts them (the bytes the service wrote before).
    #[test]
    fn messages_are_written_as_the_oa_api_shapes_in_sorted_key_order() {
        use serde_json::json;
        let reply = Reply {
            text: "Chọn \"một\" mục".into(),
            buttons: vec![
                Button::Query { title: "Dịch vụ công".into(), payload: "#1".into() },
                Button::Url { title: "Web".into(), url: "https://a.vn".into() },
                Button::Phone { title: "Gọi".into(), phone: "156".into() },
            ],
            image_url: Some("https://a.vn/x.png".into()),
        };
        let cases: &[(Reply, Vec<Value>)] = &[
            (Reply::text("Xin chào"), vec![json!({"text": "Xin chào"})]),
            (Reply::text(""), vec![json!({"text": ""})]),
            (
                reply,
                vec![
                    json!({"attachment": {"type": "template", "payload": {
                        "template_type": "media",
                        "elements": [{"media_type": "image", "url": "https://a.vn/x.png"}]
                    }}}),
                    json!({"text": "Chọn \"một\" mục", "attachment": {"type": "template", "payload": {
                        "buttons": [
                            {"title": "Dịch vụ công", "type": "oa.query.hide", "payload": "#1"},
                            {"title": "Web", "type": "oa.open.url", "payload": {"url": "https://a.vn"}},
                            {"title": "Gọi", "type": "oa.open.phone", "payload": {"phone_code": "156"}},
                        ]
                    }}}),
                ],
            ),
        ];
        for (reply, want) in cases {
            let got = to_messages(reply);
            let texts: Vec<&str> = got.iter().map(|m| m.raw().get()).collect();
            let want: Vec<String> = want.iter().map(|v| v.to_string()).collect();
            assert_eq!(texts, want, "{reply:?}");
        }
    }
}
