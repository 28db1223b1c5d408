//! Inbound webhook events (pure): just enough structure to route, dedupe and reply.
//!
//! Ids stay strings: Zalo ids exceed 2^53, and some senders emit them as JSON numbers,
//! which we turn back into their decimal text. Unknown event names are not errors — Zalo
//! disables webhooks that answer non-200 — they become `EventKind::Other`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A parsed webhook event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub name: String,
    pub kind: EventKind,
    /// The user the event is about (the one to reply to), per event family.
    pub user_id: Option<String>,
    pub msg_id: Option<String>,
    /// Text typed by the user (or a button payload), for `user_send_text`; the optional
    /// caption for media.
    pub text: Option<String>,
}

/// What the service does with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// `user_send_text`: drives the conversation.
    UserText,
    /// `user_send_image`, `_sticker`, `_file`, …: answered with a hint to type instead.
    UserMedia,
    /// `follow`: greet.
    Follow,
    /// `user_click_chatnow`: greet.
    ChatNow,
    /// `unfollow`: the user is no longer reachable.
    Unfollow,
    /// `user_withdraw`: delete what we store about the user.
    Withdraw,
    /// `oa_send_*` echoes and delivery/seen receipts: never answered (reply loops).
    EchoOrReceipt,
    /// Anything else, including events we do not handle yet.
    Other,
}

impl EventKind {
    /// Whether the event must be recorded and processed (vs. acknowledged and dropped).
    pub fn needs_processing(self) -> bool {
        matches!(
            self,
            EventKind::UserText
                | EventKind::UserMedia
                | EventKind::Follow
                | EventKind::ChatNow
                | EventKind::Unfollow
                | EventKind::Withdraw
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("body is not a JSON object")]
    NotAnObject,
    #[error("body has no event_name")]
    NoEventName,
}

impl Event {
    pub fn parse(body: &Value) -> Result<Event, EventError> {
        let obj = body.as_object().ok_or(EventError::NotAnObject)?;
        let name = obj.get("event_name").and_then(id_string);
        let msg_id = path_id(body, &["message", "msg_id"]);
        let text = body.pointer("/message/text").and_then(Value::as_str).map(str::to_owned);
        Event::build(name, |at| path_id(body, at.path()), msg_id, text)
    }

    /// The rules shared by both readers of a body (this module's `parse` and
    /// `envelope.rs`): the kind from the name, and where the user id is for that kind.
    pub(super) fn build(
        name: Option<String>,
        user_id_at: impl Fn(UserIdAt) -> Option<String>,
        msg_id: Option<String>,
        text: Option<String>,
    ) -> Result<Event, EventError> {
        let name = name.ok_or(EventError::NoEventName)?;
        let kind = kind_of(&name);
        let user_id = UserIdAt::for_kind(kind).iter().find_map(|&at| user_id_at(at));
        Ok(Event { name, kind, user_id, msg_id, text })
    }
}

/// Where an event family carries the id of the user it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UserIdAt {
    Sender,
    Recipient,
    Follower,
    UserId,
}

impl UserIdAt {
    /// Tried in order.
    fn for_kind(kind: EventKind) -> &'static [UserIdAt] {
        match kind {
            EventKind::Follow | EventKind::Unfollow => &[UserIdAt::Follower],
            EventKind::ChatNow => &[UserIdAt::UserId],
            EventKind::EchoOrReceipt => &[UserIdAt::Recipient],
            EventKind::Withdraw => &[UserIdAt::UserId, UserIdAt::Sender, UserIdAt::Follower],
            _ => &[UserIdAt::Sender],
        }
    }

    fn path(self) -> &'static [&'static str] {
        match self {
            UserIdAt::Sender => &["sender", "id"],
            UserIdAt::Recipient => &["recipient", "id"],
            UserIdAt::Follower => &["follower", "id"],
            UserIdAt::UserId => &["user_id"],
        }
    }
}

fn kind_of(name: &str) -> EventKind {
    match name {
        "user_send_text" => EventKind::UserText,
        "follow" => EventKind::Follow,
        "unfollow" => EventKind::Unfollow,
        "user_click_chatnow" => EventKind::ChatNow,
        "user_withdraw" => EventKind::Withdraw,
        "user_received_message" | "user_seen_message" => EventKind::EchoOrReceipt,
        n if n.starts_with("oa_send_") => EventKind::EchoOrReceipt,
        // Group chats are out of scope: the OA answers people one to one.
        n if n.starts_with("user_send_group") => EventKind::Other,
        "user_send_image"
        | "user_send_gif"
        | "user_send_sticker"
        | "user_send_link"
        | "user_send_audio"
        | "user_send_video"
        | "user_send_file"
        | "user_send_location"
        | "user_send_business_card" => EventKind::UserMedia,
        _ => EventKind::Other,
    }
}

/// Reads an id at `path`, accepting a string or a number (kept as its decimal text).
fn path_id(body: &Value, path: &[&str]) -> Option<String> {
    let mut value = body;
    for key in path {
        value = value.get(key)?;
    }
    id_string(value)
}

fn id_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The body's `app_id` and `timestamp` as the strings used in the signature.
pub fn signing_fields(body: &Value) -> (Option<String>, Option<String>) {
    (body.get("app_id").and_then(id_string), body.get("timestamp").and_then(id_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_event_family_parses_with_string_ids() {
        let big = "246845883529197922";
        let cases: Vec<(Value, EventKind, Option<&str>, Option<&str>)> = vec![
            (
                json!({"app_id":"1","event_name":"user_send_text","sender":{"id":big},"recipient":{"id":"9"},
                       "message":{"text":"xin chào","msg_id":"96d3cdf3af150460909"},"timestamp":"154390853474"}),
                EventKind::UserText,
                Some(big),
                Some("xin chào"),
            ),
            (
                json!({"event_name":"user_send_image","sender":{"id":big},"recipient":{"id":"9"},
                       "message":{"msg_id":"m2","attachments":[{"type":"image","payload":{"url":"http://x"}}]}}),
                EventKind::UserMedia,
                Some(big),
                None,
            ),
            (
                json!({"event_name":"user_send_sticker","sender":{"id":big},"message":{"msg_id":"m"}}),
                EventKind::UserMedia,
                Some(big),
                None,
            ),
            (
                json!({"event_name":"user_send_location","sender":{"id":big},"message":{"msg_id":"m","text":"đây"}}),
                EventKind::UserMedia,
                Some(big),
                Some("đây"),
            ),
            (
                json!({"event_name":"user_send_file","sender":{"id":big},"message":{"msg_id":"m"}}),
                EventKind::UserMedia,
                Some(big),
                None,
            ),
            (
                json!({"event_name":"user_send_business_card","sender":{"id":big},"message":{"msg_id":"m"}}),
                EventKind::UserMedia,
                Some(big),
                None,
            ),
            (
                json!({"event_name":"follow","oa_id":"9","follower":{"id":big},"source":"oa_profile"}),
                EventKind::Follow,
                Some(big),
                None,
            ),
            (
                json!({"event_name":"unfollow","oa_id":"9","follower":{"id":big}}),
                EventKind::Unfollow,
                Some(big),
                None,
            ),
            (
                json!({"event_name":"user_click_chatnow","oa_id":"9","user_id":big}),
                EventKind::ChatNow,
                Some(big),
                None,
            ),
            (
                json!({"event_name":"oa_send_text","sender":{"id":"9"},"recipient":{"id":big},"message":{"msg_id":"m","text":"hi"}}),
                EventKind::EchoOrReceipt,
                Some(big),
                Some("hi"),
            ),
            (
                json!({"event_name":"user_received_message","sender":{"id":"9"},"recipient":{"id":big},"message":{"msg_id":"m"}}),
                EventKind::EchoOrReceipt,
                Some(big),
                None,
            ),
            (
                json!({"event_name":"user_seen_message","sender":{"id":"9"},"recipient":{"id":big},"message":{"msg_ids":["a","b"]}}),
                EventKind::EchoOrReceipt,
                Some(big),
                None,
            ),
            (
                json!({"event_name":"user_withdraw","user_id":big}),
                EventKind::Withdraw,
                Some(big),
                None,
            ),
            (
                json!({"event_name":"user_submit_info","sender":{"id":big},"info":{"phone":"84912345678"}}),
                EventKind::Other,
                Some(big),
                None,
            ),
            (
                json!({"event_name":"user_send_group_text","sender":{"id":big},"message":{"text":"x"}}),
                EventKind::Other,
                Some(big),
                Some("x"),
            ),
            (json!({"event_name":"shop_has_order"}), EventKind::Other, None, None),
            // Ids as JSON numbers (some proxies) keep every digit.
            (
                json!({"event_name":"follow","follower":{"id":246845883529197922u64}}),
                EventKind::Follow,
                Some(big),
                None,
            ),
        ];
        for (body, kind, user, text) in cases {
            let event = Event::parse(&body).unwrap();
            assert_eq!(event.kind, kind, "{body}");
            assert_eq!(event.user_id.as_deref(), user, "{body}");
            assert_eq!(event.text.as_deref(), text, "{body}");
        }
    }

    #[test]
    fn only_user_driven_events_are_processed() {
        assert!(EventKind::UserText.needs_processing());
        assert!(EventKind::Follow.needs_processing());
        assert!(!EventKind::EchoOrReceipt.needs_processing());
        assert!(!EventKind::Other.needs_processing());
    }

    #[test]
    fn missing_event_name_is_an_error() {
        assert_eq!(Event::parse(&json!({"app_id":"1"})), Err(EventError::NoEventName));
        assert_eq!(Event::parse(&json!([1, 2])), Err(EventError::NotAnObject));
        assert_eq!(Event::parse(&json!({"event_name": ""})), Err(EventError::NoEventName));
    }

    #[test]
    fn signing_fields_accept_numbers() {
        let body = json!({"app_id": 360846524940903967u64, "timestamp": 1735693200123u64});
        assert_eq!(
            signing_fields(&body),
            (Some("360846524940903967".into()), Some("1735693200123".into()))
        );
    }
}
