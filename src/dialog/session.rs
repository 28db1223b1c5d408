//! The per-user conversation state (persisted by the store) and the engine's input and output.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::model::Target;
use crate::calendar::UnixSecs;
use crate::reply::Reply;

/// Where one user is in the dialogs. Persisted: change only compatibly
/// (`#[serde(default)]` on new fields, aliases instead of renames).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// The dialog set version (content hash) this conversation runs on.
    pub version: String,
    pub dialog: String,
    pub node: String,
    /// Nodes the user was at before, most recent last (for "quay lại").
    #[serde(default)]
    pub history: Vec<Position>,
    /// Answers saved by `ask.save`, filled into `{name}` placeholders.
    #[serde(default)]
    pub answers: BTreeMap<String, String>,
    /// Invalid answers given to the current ask so far.
    #[serde(default)]
    pub retries: u32,
    /// Unix seconds of the last input; idle sessions expire.
    pub last_active: UnixSecs,
    /// Candidates of an ask-back ("did you mean 1 or 2?"), answered by number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Position>,
}

impl Session {
    /// A new conversation at `dialog:node` of dialog set `version`.
    pub fn new(version: &str, dialog: &str, node: &str, now: UnixSecs) -> Session {
        Session {
            version: version.to_owned(),
            dialog: dialog.to_owned(),
            node: node.to_owned(),
            history: Vec::new(),
            answers: BTreeMap::new(),
            retries: 0,
            last_active: now,
            pending: Vec::new(),
        }
    }
}

/// A node in a dialog, as stored in a session. Shared strings (stored as plain strings):
/// sessions are cloned (a version move, the hand-off), and the history holds up to
/// `MAX_HISTORY` of these.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Position {
    pub dialog: Arc<str>,
    pub node: Arc<str>,
}

impl From<&Target> for Position {
    fn from(target: &Target) -> Position {
        Position { dialog: target.dialog.as_str().into(), node: target.node.as_str().into() }
    }
}

impl Position {
    pub(crate) fn target(&self) -> Target {
        Target { dialog: self.dialog.to_string(), node: self.node.to_string() }
    }
}

/// What the user did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A text message, or the payload of a tapped button.
    Text(String),
    /// The user followed the OA or tapped "chat now": greet with the main menu.
    Follow,
}

/// The outcome of one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// `None`: the conversation ended, nothing to keep.
    pub session: Option<Session>,
    pub replies: Vec<Reply>,
    /// A node shown in this step asked the service to do something: the action and the
    /// index in `replies` of that node's message (the service may replace what follows).
    pub action: Option<(super::model::Action, usize)>,
    /// Whether the text was understood (misses and ask-backs are kept to improve examples).
    pub understood: Understood,
}

/// How well one text was understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Understood {
    /// Acted on (a button, a choice, an answer, a clear match), or not a text at all.
    #[default]
    Yes,
    /// Several candidates were offered ("Có phải bạn muốn hỏi: …").
    AskedBack,
    /// Nothing matched ("Mình chưa hiểu ý bạn").
    No,
}
