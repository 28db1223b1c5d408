//! The seam between the channel and the pure cores.
//!
//! For one inbox entry: load the user's state, turn the Zalo event into an input,
//! ask the dialog engine (through the `Registry`, which pins each conversation to its
//! dialog version) for replies, then — as one durable step (`store/step.rs`) — mark the event
//! handled, save the session and queue the replies; the store wakes the sender once that
//! step is durable.

use crate::calendar::UnixMs;

use anyhow::Context;

use crate::clock::Clock;
use crate::dialog::{self, Input, Session};
use crate::dialog_runtime::Registry;
use crate::reply::Reply;
use crate::reports_runtime::Reporting;
use crate::store::{InboxEntry, SessionUpdate, Store, UserRecord};
use crate::zalo::event::{Event, EventKind};
use crate::zalo::message;

#[derive(Clone)]
pub struct Conversation {
    store: Store,
    dialogs: Registry,
    /// Team report commands and forms, asked before the dialog engine.
    reporting: Reporting,
    clock: Clock,
    /// Citizen → team hand-off, asked first (see `handoff_runtime`).
    handoff: Option<crate::handoff_runtime::Handoff>,
}

impl Conversation {
    pub fn new(
        store: Store,
        dialogs: Registry,
        reporting: Reporting,
        clock: Clock,
    ) -> Conversation {
        Conversation { store, dialogs, reporting, clock, handoff: None }
    }

    /// The same, with the citizen → team hand-off.
    pub fn with_handoff(self, handoff: crate::handoff_runtime::Handoff) -> Conversation {
        Conversation { handoff: Some(handoff), ..self }
    }

    /// Handles inbox entry `seq`, handed over by the pipeline as it was recorded (the
    /// worker does not read it back from the store).
    #[tracing::instrument(skip(self, entry))]
    pub fn process(&self, seq: u64, entry: &InboxEntry) -> anyhow::Result<()> {
        let event: Event = entry.event.parse().context("inbox event")?;
        let user_id = entry.user_id.as_str();
        let now_ms = self.clock.now_ms();
        let waited_ms = (now_ms.get() - entry.received_at_ms).max(0);
        metrics::histogram!("cnscd_stage_seconds", "stage" => "queued")
            .record(waited_ms as f64 / 1000.0);
        let stored_user = self.store.user(user_id)?;
        let mut user = stored_user.clone().unwrap_or_default();
        let input = match event.kind {
            EventKind::Withdraw => {
                self.reporting.forget_user(user_id)?;
                if let Some(handoff) = &self.handoff {
                    handoff.forget_user(user_id)?;
                }
                let dropped = self.store.forget_user(seq, user_id)?;
                tracing::info!(user = %crate::privacy::mask_id(user_id), dropped, "user data deleted on request");
                return Ok(());
            }
            EventKind::Unfollow => {
                user.reachable = false;
                self.store.complete(seq, user_id, SessionUpdate::Keep, Some(&user), &[], now_ms)?;
                return Ok(());
            }
            // What the user did, as the responders see it; `None`: an image, sticker,
            // file, location… that the bot cannot read.
            EventKind::Follow | EventKind::ChatNow => Some(Input::Follow),
            EventKind::UserText => Some(Input::Text(event.text.clone().unwrap_or_default())),
            EventKind::UserMedia => None,
            EventKind::EchoOrReceipt | EventKind::Other => {
                self.store.complete(seq, user_id, SessionUpdate::Keep, None, &[], now_ms)?;
                return Ok(());
            }
        };
        // Any of these counts as an interaction: it opens Zalo's 7-day reply window.
        user.last_interaction_ms = entry.received_at_ms.max(user.last_interaction_ms);
        user.reachable = true;
        let handoff_replies = match (&input, &self.handoff) {
            (Some(Input::Text(text)), Some(handoff)) => {
                // The dialogs' scam warning still comes first while a person helps.
                let warn = |text: &str| {
                    self.dialogs.warning(text, now_ms.to_secs()).map(|step| step.replies)
                };
                handoff.handle_chat(user_id, text, now_ms.to_secs(), &entry.dedupe_key, &warn)?
            }
            _ => None,
        };
        let report_replies = match (&input, handoff_replies) {
            (_, Some(replies)) => Some(replies),
            (Some(Input::Text(text)), None) => {
                self.reporting.handle_chat(user_id, text, now_ms.to_secs(), &entry.dedupe_key)?
            }
            _ => None,
        };
        let (session, replies) = match report_replies {
            Some(replies) => (SessionUpdate::Keep, replies),
            None => self.respond(user_id, input.as_ref(), now_ms, &entry.dedupe_key)?,
        };
        let messages: Vec<_> = replies.iter().flat_map(message::to_messages).collect();
        let user_write = user_record_changed(stored_user.as_ref(), &user).then_some(&user);
        // The sender sees (and is woken for) the replies only once the step is durable;
        // a crash before that replays the event instead. Report and hand-off writes are
        // not in the journal: the store marks them, and the sender flushes sled before
        // it sends anything queued after them.
        self.store.complete(seq, user_id, session, user_write, &messages, now_ms)?;
        Ok(())
    }

    /// Whether entry `seq` still waits in the inbox: a retry after a failed attempt
    /// asks first, since that attempt may have completed the step before it failed.
    pub fn still_pending(&self, seq: u64) -> anyhow::Result<bool> {
        Ok(self.store.inbox_contains(seq)?)
    }

    pub fn bury(&self, seq: u64, reason: &str) -> anyhow::Result<()> {
        Ok(self.store.inbox_bury(seq, reason)?)
    }

    fn respond(
        &self,
        user_id: &str,
        input: Option<&Input>,
        now_ms: UnixMs,
        event_key: &str,
    ) -> anyhow::Result<(SessionUpdate, Vec<Reply>)> {
        let Some(input) = input else {
            // Media: the conversation stays where it is; the user is told to type instead.
            return Ok((SessionUpdate::Keep, vec![Reply::text(MEDIA_HINT)]));
        };
        let session = self.load_session(user_id)?;
        // The hand-off's topic is the dialog the user was in before this step.
        let topic =
            session.as_ref().map(|s| s.dialog.clone()).filter(|d| d != "main" && d != "gap_to");
        let step = self.dialogs.step(session, input, now_ms.to_secs());
        if let Input::Text(text) = input
            && step.understood != dialog::Understood::Yes
        {
            // Kept for editors (masked, no user id); losing a count is not worth failing for.
            let masked = dialog::text::mask_for_review(text);
            let asked_back = step.understood == dialog::Understood::AskedBack;
            let retention = self.dialogs.unmatched_retention_ms();
            if let Err(e) = self.store.unmatched_record(&masked, asked_back, now_ms, retention) {
                tracing::warn!(error = %e, "could not record an unmatched message");
            }
        }
        let update = match step.session {
            Some(session) => SessionUpdate::Set(session),
            None => SessionUpdate::Clear,
        };
        // A node asked for the hand-off: its message, then the hand-off takes over.
        if let (Some((dialog::Action::Handoff, at)), Some(handoff)) = (step.action, &self.handoff)
            && handoff.enabled()
        {
            let shown: Vec<Reply> = step.replies.iter().take(at + 1).cloned().collect();
            let replies = handoff.start(user_id, topic, shown, now_ms.to_secs(), event_key)?;
            return Ok((update, replies));
        }
        Ok((update, step.replies))
    }

    /// The stored session (one that no longer parses is `None`: see `Store::session`).
    fn load_session(&self, user_id: &str) -> anyhow::Result<Option<Session>> {
        Ok(self.store.session(user_id)?)
    }
}

/// Reply to images, stickers, files…: the bot reads only text.
pub const MEDIA_HINT: &str = "Xin lỗi, tôi chưa xem được hình ảnh, nhãn dán hay tệp. Bạn vui lòng nhắn bằng chữ hoặc bấm vào các nút bên dưới nhé.";

/// Whether the user record must be written after an interaction. Only for a new user, a
/// change of reachability, or a last interaction at least a minute newer than stored:
/// the record serves Zalo's 7-day reply window, and rewriting it on every message was
/// one more sled write per turn for nothing.
fn user_record_changed(stored: Option<&UserRecord>, now: &UserRecord) -> bool {
    const PRECISION_MS: i64 = 60_000;
    match stored {
        None => true,
        Some(stored) => {
            stored.reachable != now.reachable
                || now.last_interaction_ms - stored.last_interaction_ms >= PRECISION_MS
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_record_is_rewritten_only_when_it_matters() {
        let rec = |ms, reachable| UserRecord { last_interaction_ms: ms, reachable };
        let cases = [
            (None, rec(5, true), true),
            (Some(rec(0, true)), rec(59_999, true), false),
            (Some(rec(0, true)), rec(60_000, true), true),
            (Some(rec(0, false)), rec(10, true), true),
            (Some(rec(0, true)), rec(0, false), true),
            (Some(rec(100_000, true)), rec(100_000, true), false),
        ];
        for (stored, now, want) in cases {
            assert_eq!(user_record_changed(stored.as_ref(), &now), want, "{stored:?} → {now:?}");
        }
    }
}
