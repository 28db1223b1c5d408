//! Channel-neutral outgoing messages.
//!
//! The pure cores (`dialog`, `reports`) produce `Reply` values; `zalo::message` turns
//! them into OA API v3 payloads. Nothing here knows about Zalo, HTTP or the store.

use serde::{Deserialize, Serialize};

/// Zalo's limit for one text message; the channel splits longer text, and dialog
/// validation refuses it in admin files.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Zalo shows at most 5 buttons under a message.
pub const MAX_BUTTONS: usize = 5;

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

impl Button {
    /// The label shown on the button.
    pub fn title(&self) -> &str {
        match self {
            Button::Query { title, .. }
            | Button::Url { title, .. }
            | Button::Phone { title, .. } => title,
        }
    }
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
