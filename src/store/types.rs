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
    pub event: RawJson,
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

/// A JSON value kept as the text it was written as: an inbox entry's event, an outbox
/// entry's OA API `message` object. They are written once and then only copied (into
/// sled, a journal line, a request body) or read by one reader; held as parsed maps
/// they were parsed, deep-copied and serialised again at every hop (a tenth of the
/// sender's CPU and a share of every webhook's).
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawJson(Box<serde_json::value::RawValue>);

impl RawJson {
    pub fn new<T: Serialize + ?Sized>(value: &T) -> RawJson {
        // Our values always serialise (structs, and maps with string keys); `null` is
        // the harmless answer if one ever did not.
        RawJson(
            serde_json::value::to_raw_value(value)
                .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned()),
        )
    }

    /// The JSON text, to embed as it is.
    pub fn raw(&self) -> &serde_json::value::RawValue {
        &self.0
    }

    /// Parsed into a type.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.0.get())
    }

    /// Parsed as a generic value (the console, the admin API, tests).
    pub fn value(&self) -> serde_json::Value {
        self.parse().unwrap_or(serde_json::Value::Null)
    }

    /// The value's `text` field, if it has one.
    pub fn text(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Text {
            text: Option<String>,
        }
        self.parse::<Text>().ok().and_then(|t| t.text)
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &RawJson) -> bool {
        self.0.get() == other.0.get()
    }
}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.get())
    }
}

impl From<serde_json::Value> for RawJson {
    fn from(value: serde_json::Value) -> RawJson {
        RawJson::new(&value)
    }
}

/// One message to one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: u64,
    pub user_id: String,
    /// The OA API `message` object.
    pub message: RawJson,
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
