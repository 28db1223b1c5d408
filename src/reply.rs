//! Channel-neutral outgoing messages.
//!
//! The pure cores (`dialog`, `reports`) produce `Reply` values; `zalo::message` turns
//! them into OA API v3 payloads. Nothing here knows about Zalo, HTTP or the store.

use serde::{Deserialize, Serialize};

/// One message to a user: text, optionally with buttons or an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Reply {
    /// Plain text, NFC. May exceed Zalo's limit; the channel splits it.
    pub text: String,
    /// At most 5 buttons per Zalo message; the channel drops extras with a warning.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
    /// An image to show (by public https URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

/// A button under a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Button {
    /// Tapping it sends `payload` back to the bot as if the user typed it.
    Query { title: String, payload: String },
    /// Opens a web page.
    Url { title: String, url: String },
    /// Opens the phone dialer.
    Phone { title: String, phone: String },
}

impl Reply {
    /// A plain text reply.
    pub fn text(text: impl Into<String>) -> Reply {
        Reply { text: text.into(), ..Reply::default() }
    }

    /// Adds a button that sends `payload` back when tapped.
    pub fn with_query(mut self, title: impl Into<String>, payload: impl Into<String>) -> Reply {
        self.buttons.push(Button::Query { title: title.into(), payload: payload.into() });
        self
    }
}
