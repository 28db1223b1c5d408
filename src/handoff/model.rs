//! Records of the hand-off. Plain data kept as JSON by the store; new fields get
//! `#[serde(default)]` so older records still read.

use crate::calendar::UnixSecs;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for a member to claim it.
    Open,
    /// A member holds it.
    Claimed,
    Closed,
    /// Withdrawn by the citizen.
    Cancelled,
}

impl Status {
    pub fn parse(text: &str) -> Option<Status> {
        Some(match text {
            "open" => Status::Open,
            "claimed" => Status::Claimed,
            "closed" => Status::Closed,
            "cancelled" => Status::Cancelled,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Claimed => "claimed",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn is_live(self) -> bool {
        matches!(self, Status::Open | Status::Claimed)
    }
}

/// How far an unclaimed request has been passed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The village's own team.
    Team,
    /// Every team of the commune.
    Commune,
    /// The commune (or province) admin.
    Admin,
}

/// Who wrote a line of the request's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "user", rename_all = "snake_case")]
pub enum Party {
    Citizen,
    Member(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub from: Party,
    pub text: String,
    pub at: UnixSecs,
    /// A proposed home visit or meeting (`/hen`).
    #[serde(default)]
    pub visit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub satisfied: bool,
    #[serde(default)]
    pub comment: Option<String>,
    pub at: UnixSecs,
}

/// Request #N.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    /// OA-scoped Zalo id of the citizen; emptied when the texts are purged.
    pub citizen: String,
    /// The unit the citizen said they live in (village, or commune).
    pub unit: String,
    /// The commune above `unit` (or `unit` itself).
    #[serde(default)]
    pub commune: Option<String>,
    /// The team of `unit`, if it has one.
    #[serde(default)]
    pub team: Option<u64>,
    /// The dialog topic the citizen was in.
    #[serde(default)]
    pub topic: Option<String>,
    pub question: String,
    pub status: Status,
    pub created_at: UnixSecs,
    pub level: Level,
    /// When the current wait for a claim started (creation, or `/tra`).
    pub waiting_since: UnixSecs,
    /// Members (and admins) told about it: they may see and claim it.
    #[serde(default)]
    pub notified: Vec<String>,
    #[serde(default)]
    pub claimed_by: Option<String>,
    /// The team of the claimer when they claimed (contribution counts there).
    #[serde(default)]
    pub claimer_team: Option<u64>,
    #[serde(default)]
    pub claimed_at: Option<UnixSecs>,
    #[serde(default)]
    pub first_reply_at: Option<UnixSecs>,
    #[serde(default)]
    pub closed_at: Option<UnixSecs>,
    #[serde(default)]
    pub closed_by: Option<String>,
    pub last_citizen_at: UnixSecs,
    #[serde(default)]
    pub visits: u32,
    #[serde(default)]
    pub rating: Option<Rating>,
    #[serde(default)]
    pub lines: Vec<Line>,
    /// The claimer confirmed once that plain messages go to the citizen.
    #[serde(default)]
    pub plain_ok: bool,
    /// Texts and the citizen's id were removed after the retention time.
    #[serde(default)]
    pub purged: bool,
    /// Bumped on every write; a write based on an older revision is retried.
    #[serde(default)]
    pub rev: u64,
}

impl Request {
    /// A new open request #`id` for `unit`, waiting for the village team since `now`;
    /// place, topic and who was told are filled in by the caller.
    pub fn open(id: u64, citizen: &str, unit: &str, question: String, now: UnixSecs) -> Request {
        Request {
            id,
            citizen: citizen.to_owned(),
            unit: unit.to_owned(),
            commune: None,
            team: None,
            topic: None,
            question,
            status: Status::Open,
            created_at: now,
            level: Level::Team,
            waiting_since: now,
            notified: Vec::new(),
            claimed_by: None,
            claimer_team: None,
            claimed_at: None,
            first_reply_at: None,
            closed_at: None,
            closed_by: None,
            last_citizen_at: now,
            visits: 0,
            rating: None,
            lines: Vec::new(),
            plain_ok: false,
            purged: false,
            rev: 0,
        }
    }

    /// Who may see the request's texts in the chat: the notified members, the claimer.
    pub fn visible_to(&self, user: &str) -> bool {
        self.claimed_by.as_deref() == Some(user) || self.notified.iter().any(|u| u == user)
    }
}

/// Where a citizen is in the hand-off conversation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// Not in the hand-off: messages go to the dialogs.
    #[default]
    Idle,
    /// Asked where they live.
    AskPlace,
    /// Asked again after an answer that named no known place. Another miss means the
    /// citizen is asking something else: the text goes to the dialogs, the hand-off ends.
    AskPlaceAgain,
    /// Several places matched: the codes offered, in button order.
    ChoosePlace { options: Vec<String> },
    /// Asked "Bạn cần giúp việc gì?".
    AskQuestion,
    /// A live request: messages are added to it.
    Active { id: u64 },
    /// Asked to rate a closed request.
    Rate { id: u64 },
    /// Asked for an optional comment on the rating.
    Comment { id: u64 },
}

/// What the hand-off keeps about a citizen.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Citizen {
    /// The remembered unit code (changeable).
    #[serde(default)]
    pub place: Option<String>,
    #[serde(default)]
    pub stage: Stage,
    /// The dialog topic when the hand-off started.
    #[serde(default)]
    pub topic: Option<String>,
    /// Unix seconds of the last change (a stale question stage is dropped).
    #[serde(default)]
    pub updated_at: UnixSecs,
    /// The request typed when asked for the place ("nhờ tổ đến nhà cài VNeID"): kept so
    /// that once the place is known the request is made without asking again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
}

/// A member's pending plain message awaiting "send to the citizen?" confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRelay {
    pub id: u64,
    pub text: String,
}

/// Removes what the citizen wrote and who they are, keeping the figures (retention
/// and `user_withdraw`). A live request is cancelled.
pub fn purge(r: &mut Request) {
    r.citizen.clear();
    r.question.clear();
    r.topic = None;
    for line in &mut r.lines {
        line.text.clear();
    }
    if let Some(rating) = &mut r.rating {
        rating.comment = None;
    }
    if r.status.is_live() {
        r.status = Status::Cancelled;
    }
    r.purged = true;
}
