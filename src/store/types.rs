//! Values kept in the store. New fields get `#[serde(default)]` so old data still reads.

use crate::calendar::UnixSecs;
use serde::{Deserialize, Serialize};

/// A webhook event waiting to be processed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxEntry {
    /// `message.msg_id`, or a hash of the body when there is none.
    pub dedupe_key: String,
    pub user_id: String,
    /// The parsed event (`zalo::Event`), kept as JSON so the store stays channel-agnostic.
    pub event: serde_json::Value,
    pub received_at_ms: i64,
    /// Why processing gave up (only in the `dead` tree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    Accepted { seq: u64 },
    Duplicate,
}

/// What processing does to the user's dialog session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionUpdate {
    Keep,
    Set(crate::dialog::Session),
    Clear,
}

/// What we know about a user of the OA. No names or phone numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Last event from the user (message, follow, tap), unix ms: Zalo only accepts CS
    /// messages within 7 days of it.
    pub last_interaction_ms: i64,
    /// False after `unfollow` or when Zalo says the user cannot receive messages.
    pub reachable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    Pending,
    Sent,
    Failed,
}

/// Zalo's reason for a failed send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendError {
    pub code: i64,
    pub message: String,
}

/// An OA API `message` object, kept as the JSON text it was built as. The sender only
/// copies it into the request body and the journal: held as a parsed map it was parsed,
/// deep-copied and serialised again on every send (a tenth of the sender's CPU).
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageJson(Box<serde_json::value::RawValue>);

impl MessageJson {
    pub fn new(message: &serde_json::Value) -> MessageJson {
        // A `Value` always serialises (its map keys are strings).
        MessageJson(
            serde_json::value::to_raw_value(message)
                .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned()),
        )
    }

    /// The JSON text, to embed as it is.
    pub fn raw(&self) -> &serde_json::value::RawValue {
        &self.0
    }

    /// Parsed, for the few readers that look inside (the console, the admin API).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).unwrap_or(serde_json::Value::Null)
    }

    /// The message's `text`, if it has one.
    pub fn text(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Text {
            text: Option<String>,
        }
        serde_json::from_str::<Text>(self.0.get()).ok().and_then(|t| t.text)
    }
}

impl PartialEq for MessageJson {
    fn eq(&self, other: &MessageJson) -> bool {
        self.0.get() == other.0.get()
    }
}

impl std::fmt::Debug for MessageJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.get())
    }
}

impl From<serde_json::Value> for MessageJson {
    fn from(message: serde_json::Value) -> MessageJson {
        MessageJson::new(&message)
    }
}

/// One message to one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: u64,
    pub user_id: String,
    /// The OA API `message` object.
    pub message: MessageJson,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub created_at_ms: i64,
    /// Not before this time (backoff).
    pub next_attempt_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<SendError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zalo_message_id: Option<String>,
}

/// The OA's token pair. The refresh token is single-use: each refresh returns a new one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Unix seconds; `None` when seeded from settings without a known expiry.
    pub expires_at: Option<UnixSecs>,
    /// Unix seconds when this pair was obtained (refresh tokens live about 3 months).
    pub issued_at: UnixSecs,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("issued_at", &self.issued_at)
            .finish()
    }
}
