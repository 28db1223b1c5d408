//! Outbox operations: queued messages, their sending state and the admin views.

use std::collections::HashSet;

use serde::Deserialize;

use super::keys::{self, parse_u64, u64_key};
use super::{OutboxEntry, OutboxStatus, Store, StoreError, from_json, get_json, to_json};

/// Admin listing filter.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct OutboxFilter {
    pub status: Option<OutboxStatus>,
}

/// The pending index value: when the entry is next due and whose it is, so the sender
/// can pick due messages without parsing every queued message.
pub(super) fn pending_value(entry: &OutboxEntry) -> Vec<u8> {
    let mut value = entry.next_attempt_ms.to_be_bytes().to_vec();
    value.extend_from_slice(entry.user_id.as_bytes());
    value
}

/// (next attempt ms, user id) from a pending index value.
fn parse_pending(value: &[u8]) -> Option<(i64, String)> {
    let (at, user) = value.split_at_checked(8)?;
    Some((i64::from_be_bytes(at.try_into().ok()?), std::str::from_utf8(user).ok()?.to_owned()))
}

impl Store {
    pub(super) fn new_outbox_entries(
        &self,
        user_id: &str,
        messages: &[serde_json::Value],
        now_ms: i64,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        messages
            .iter()
            .map(|message| {
                Ok(OutboxEntry {
                    id: self.db.generate_id()?,
                    user_id: user_id.to_owned(),
                    message: message.clone(),
                    status: OutboxStatus::Pending,
                    attempts: 0,
                    created_at_ms: now_ms,
                    next_attempt_ms: now_ms,
                    last_error: None,
                    sent_at_ms: None,
                    zalo_message_id: None,
                })
            })
            .collect()
    }

    /// The oldest pending message of each user among the first `scan` pending ids, as
    /// (id, next attempt ms): a user's later messages wait behind it.
    fn pending_heads(&self, scan: usize) -> Result<Vec<(u64, i64)>, StoreError> {
        let mut users = HashSet::new();
        let mut heads = Vec::new();
        for item in self.outbox_pending.iter().take(scan) {
            let (key, value) = item?;
            if let Some((at, user)) = parse_pending(&value)
                && users.insert(user)
            {
                heads.push((parse_u64(&key), at));
            }
        }
        Ok(heads)
    }

    /// Pending messages ready to send now, at most one per user (the oldest), so one
    /// user's messages go out in order while different users are served in parallel.
    /// A user whose oldest message is backing off blocks that user's later ones.
    /// The scan is bounded so a large backlog costs the sender constant work per pass.
    pub fn outbox_due(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut due = Vec::new();
        for (id, at) in self.pending_heads(limit.saturating_mul(16).max(256))? {
            if at > now_ms {
                continue;
            }
            let Some(entry) = self.outbox_get(id)? else {
                // Index without entry (e.g. the user withdrew): repair quietly.
                self.outbox_pending.remove(u64_key(id))?;
                continue;
            };
            due.push(entry);
            if due.len() >= limit {
                break;
            }
        }
        Ok(due)
    }

    /// The earliest time a pending message becomes due, if any, looking at the oldest
    /// 1,000 pending messages: enough to pick the sender's next wake-up.
    pub fn outbox_next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.pending_heads(1000)?.into_iter().map(|(_, at)| at).min())
    }

    pub fn outbox_get(&self, id: u64) -> Result<Option<OutboxEntry>, StoreError> {
        get_json(&self.outbox, keys::OUTBOX, &u64_key(id))
    }

    /// Writes back an entry after a send attempt; sent and failed leave the queue.
    pub fn outbox_save(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.outbox.insert(u64_key(entry.id), to_json(entry))?;
        if entry.status == OutboxStatus::Pending {
            self.outbox_pending.insert(u64_key(entry.id), pending_value(entry))?;
        } else {
            self.outbox_pending.remove(u64_key(entry.id))?;
        }
        Ok(())
    }

    /// Entries matching the filter, newest first, at most `limit`.
    pub fn outbox_list(
        &self,
        filter: OutboxFilter,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut out = Vec::new();
        for item in self.outbox.iter().rev() {
            let (_, value) = item?;
            let entry: OutboxEntry = from_json(keys::OUTBOX, &value)?;
            if filter.status.is_none_or(|s| s == entry.status) {
                out.push(entry);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Puts a failed (or pending) entry back in the queue, due now.
    pub fn outbox_retry(&self, id: u64, now_ms: i64) -> Result<OutboxEntry, StoreError> {
        let mut entry = self.outbox_get(id)?.ok_or(StoreError::NotFound)?;
        if entry.status == OutboxStatus::Sent {
            return Ok(entry);
        }
        entry.status = OutboxStatus::Pending;
        entry.attempts = 0;
        entry.next_attempt_ms = now_ms;
        self.outbox_save(&entry)?;
        Ok(entry)
    }

    pub(super) fn outbox_ids_for_user(&self, user_id: &str) -> Result<Vec<u64>, StoreError> {
        let mut ids = Vec::new();
        for item in self.outbox_pending.iter() {
            let (key, _) = item?;
            let id = parse_u64(&key);
            if self.outbox_get(id)?.is_some_and(|e| e.user_id == user_id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    pub(super) fn prune_sent(&self, before_ms: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for item in self.outbox.iter() {
            let (key, value) = item?;
            let entry: OutboxEntry = from_json(keys::OUTBOX, &value)?;
            if entry.status == OutboxStatus::Sent && entry.sent_at_ms.unwrap_or(0) < before_ms {
                self.outbox.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Marks a user unreachable (Zalo said they cannot receive messages).
    pub fn set_unreachable(&self, user_id: &str) -> Result<(), StoreError> {
        if let Some(mut user) = self.user(user_id)? {
            user.reachable = false;
            self.users.insert(user_id.as_bytes(), to_json(&user))?;
        }
        Ok(())
    }
}
