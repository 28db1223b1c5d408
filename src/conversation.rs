//! The seam between the channel and the pure cores.
//!
//! For one inbox entry: load the user's state, turn the Zalo event into an input,
//! ask the responder (today: the configured welcome/menu; next: the dialog engine and
//! the report commands) for replies, then — in one store transaction — mark the event
//! handled, save the state and queue the replies; then wake the sender.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Notify;

use crate::clock;
use crate::reply::Reply;
use crate::settings::BotSettings;
use crate::store::{SessionUpdate, Store};
use crate::zalo::event::{Event, EventKind};
use crate::zalo::message;

/// What the user did, as the responders see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Followed the OA or tapped "chat now": greet.
    Greet,
    /// Typed text (or tapped a button that sends a payload).
    Text(String),
    /// Sent an image, sticker, file, location… that the bot cannot read.
    Media,
}

#[derive(Clone)]
pub struct Conversation {
    store: Store,
    bot: Arc<BotSettings>,
    sender_wake: Arc<Notify>,
}

impl Conversation {
    pub fn new(store: Store, bot: BotSettings, sender_wake: Arc<Notify>) -> Conversation {
        Conversation { store, bot: Arc::new(bot), sender_wake }
    }

    #[tracing::instrument(skip(self))]
    pub async fn process(&self, seq: u64) -> anyhow::Result<()> {
        let Some(entry) = self.store.inbox_get(seq)? else {
            return Ok(()); // already handled (replayed after a crash, or duplicated dispatch)
        };
        let event: Event = serde_json::from_value(entry.event.clone()).context("inbox event")?;
        let user_id = entry.user_id.as_str();
        let now_ms = clock::now_ms();
        let previous = self.store.user(user_id)?;
        let mut user = previous.clone().unwrap_or_default();
        let input = match event.kind {
            EventKind::Withdraw => {
                let dropped = self.store.forget_user(seq, user_id)?;
                tracing::info!(user = %crate::privacy::mask_id(user_id), dropped, "user data deleted on request");
                return Ok(());
            }
            EventKind::Unfollow => {
                user.reachable = false;
                self.store.complete(seq, user_id, SessionUpdate::Keep, Some(&user), &[], now_ms)?;
                return Ok(());
            }
            EventKind::Follow | EventKind::ChatNow => Input::Greet,
            EventKind::UserText => Input::Text(event.text.clone().unwrap_or_default()),
            EventKind::UserMedia => Input::Media,
            EventKind::EchoOrReceipt | EventKind::Other => {
                self.store.complete(seq, user_id, SessionUpdate::Keep, None, &[], now_ms)?;
                return Ok(());
            }
        };
        // Any of these counts as an interaction: it opens Zalo's 7-day reply window.
        user.last_interaction_ms = entry.received_at_ms.max(user.last_interaction_ms);
        user.reachable = true;
        let (session, replies) = self.respond(user_id, &input, now_ms);
        let messages: Vec<_> = replies.iter().flat_map(message::to_messages).collect();
        self.store.complete(seq, user_id, session, Some(&user), &messages, now_ms)?;
        // No flush here: the sender flushes before it sends anything, so a reply never
        // leaves before the step that produced it is durable (a crash before that
        // replays the event instead), and one flush covers many events.
        self.sender_wake.notify_one();
        Ok(())
    }

    pub fn bury(&self, seq: u64, reason: &str) -> anyhow::Result<()> {
        Ok(self.store.inbox_bury(seq, reason)?)
    }

    fn respond(&self, _user_id: &str, input: &Input, _now_ms: i64) -> (SessionUpdate, Vec<Reply>) {
        let replies = match input {
            Input::Greet => vec![Reply::text(&self.bot.welcome), Reply::text(&self.bot.menu)],
            Input::Text(_) => vec![Reply::text(&self.bot.menu)],
            Input::Media => vec![Reply::text(MEDIA_HINT), Reply::text(&self.bot.menu)],
        };
        (SessionUpdate::Keep, replies)
    }
}

/// Reply to images, stickers, files…: the bot reads only text.
pub const MEDIA_HINT: &str = "Xin lỗi, tôi chưa xem được hình ảnh, nhãn dán hay tệp. Bạn vui lòng nhắn bằng chữ hoặc bấm vào các nút bên dưới nhé.";
