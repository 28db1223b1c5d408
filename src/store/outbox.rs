//! Outbox operations: queued messages, their sending state and the admin views.

use crate::calendar::UnixMs;
use serde::Deserialize;
use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, TransactionalTree, UnabortableTransactionError,
};

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

/// The three trees an outbox entry lives in, for writers outside `Store` (the journal).
pub struct OutboxTrees {
    outbox: sled::Tree,
    pending: sled::Tree,
    queue: sled::Tree,
}

impl OutboxTrees {
    #[cfg(test)]
    pub fn open(db: &sled::Db) -> Result<OutboxTrees, StoreError> {
        Ok(OutboxTrees {
            outbox: db.open_tree(keys::OUTBOX)?,
            pending: db.open_tree(keys::OUTBOX_PENDING)?,
            queue: db.open_tree(keys::OUTBOX_QUEUE)?,
        })
    }

    /// Inserts an entry as a producer would (tests of writers outside `Store`).
    #[cfg(test)]
    pub fn save_new(&self, entry: &OutboxEntry) {
        (&self.outbox, &self.pending, &self.queue)
            .transaction(|(outbox, pending, queue)| {
                insert_new(outbox, pending, queue, std::slice::from_ref(entry))?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .unwrap();
    }

    #[cfg(test)]
    pub fn get(&self, id: u64) -> Option<OutboxEntry> {
        let bytes = self.outbox.get(u64_key(id)).ok()??;
        from_json(keys::OUTBOX, &bytes).ok()
    }

    /// Writes the entry and its index entries in one transaction. Never brings back an
    /// entry that is gone; with `only_if_pending`, leaves alone an entry that is no
    /// longer pending (a replayed result must not undo a later change).
    pub fn save(&self, entry: &OutboxEntry, only_if_pending: bool) -> Result<(), StoreError> {
        let value = to_json(entry);
        (&self.outbox, &self.pending, &self.queue)
            .transaction(|(outbox, pending, queue)| {
                let Some(stored) = outbox.get(u64_key(entry.id))? else {
                    return Ok(());
                };
                if only_if_pending
                    && from_json::<OutboxEntry>(keys::OUTBOX, &stored)
                        .is_ok_and(|s| s.status != OutboxStatus::Pending)
                {
                    return Ok(());
                }
                outbox.insert(&u64_key(entry.id), value.as_slice())?;
                if entry.status == OutboxStatus::Pending {
                    index_insert(pending, queue, entry)?;
                } else {
                    index_remove(pending, queue, entry)?;
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(StoreError::from)
    }
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

    /// Pending messages ready to send now, at most one per user (the oldest), so one
    /// user's messages go out in order while different users are served in parallel.
    ///
    /// Heads are found through the per-user queue index by jumping from one user to the
    /// next, so a user with any number of messages waiting behind a backing-off one
    /// costs one seek: nobody else's due message is delayed by it. The walk starts where
    /// the previous one stopped (round robin), so under a backlog no user waits for all
    /// users sorted before them. Every candidate is re-checked against its entry: an
    /// index left behind by a crash is repaired instead of re-sending a sent message.
    pub fn outbox_due(&self, now_ms: UnixMs, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.outbox_due_except(now_ms, limit, &Default::default())
    }

    /// `outbox_due`, passing over users whose head message is in `in_flight` (being
    /// sent right now): their next message must wait for that send's result, and the
    /// slot goes to somebody else.
    pub fn outbox_due_except(
        &self,
        UnixMs(now_ms): UnixMs,
        limit: usize,
        in_flight: &std::collections::HashSet<u64>,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let start = self.due_cursor.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut due = Vec::new();
        let mut cursor = start.clone();
        let mut wrapped = false;
        let mut resume = None;
        loop {
            let Some((key, at)) = self.first_queue_key_from(&cursor)? else {
                if wrapped || start.is_empty() {
                    break;
                }
                wrapped = true;
                cursor.clear();
                continue;
            };
            let (user, id) = split_queue_key(&key);
            if wrapped && user >= start.as_slice() {
                break;
            }
            if in_flight.contains(&id) {
                cursor = next_user(user);
                continue;
            }
            if at <= now_ms {
                match self.outbox_get(id)? {
                    Some(entry) if entry.status == OutboxStatus::Pending => {
                        due.push(entry);
                        if due.len() >= limit {
                            resume = Some(next_user(user));
                            break;
                        }
                    }
                    stale => {
                        // Entry gone (user withdrew) or no longer pending: repair the
                        // index and look at this user's next message.
                        let _ = stale;
                        self.unindex(id, user)?;
                        continue;
                    }
                }
            }
            cursor = next_user(user);
        }
        *self.due_cursor.lock().unwrap_or_else(|p| p.into_inner()) = resume.unwrap_or_default();
        Ok(due)
    }

    /// The first queue key at or after `from`, with its due time.
    fn first_queue_key_from(&self, from: &[u8]) -> Result<Option<(Vec<u8>, i64)>, StoreError> {
        match self.outbox_queue.range(from..).next() {
            Some(item) => {
                let (key, value) = item?;
                Ok(Some((key.to_vec(), be_i64(&value))))
            }
            None => Ok(None),
        }
    }

    fn unindex(&self, id: u64, user: &[u8]) -> Result<(), StoreError> {
        let key = queue_key_bytes(user, id);
        (&self.outbox_pending, &self.outbox_queue)
            .transaction(|(pending, queue)| {
                pending.remove(&u64_key(id))?;
                queue.remove(key.as_slice())?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(StoreError::from)
    }

    /// The earliest time a user's oldest pending message becomes due, over the first
    /// 10,000 users with pending messages: enough to pick the sender's next wake-up.
    pub fn outbox_next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        let mut cursor = Vec::new();
        let mut earliest: Option<i64> = None;
        for _ in 0..10_000 {
            let Some((key, at)) = self.first_queue_key_from(&cursor)? else { break };
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
            cursor = next_user(split_queue_key(&key).0);
        }
        Ok(earliest)
    }

    /// Rebuilds the per-user queue index from the pending index (stores written before
    /// the queue index existed). Returns how many entries were indexed.
    pub(super) fn rebuild_queue_index(&self) -> Result<usize, StoreError> {
        if !self.outbox_queue.is_empty() || self.outbox_pending.is_empty() {
            return Ok(0);
        }
        let mut n = 0;
        for item in self.outbox_pending.iter() {
            let (key, value) = item?;
            if let Some((at, user)) = parse_pending(&value) {
                self.outbox_queue.insert(queue_key(&user, parse_u64(&key)), &at.to_be_bytes())?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Messages waiting to be sent (due or backing off), for `/metrics`. Counts the
    /// pending index only (sled counts by iterating), never the retained history.
    pub fn outbox_pending_count(&self) -> usize {
        self.outbox_pending.len()
    }

    /// Events accepted but not yet processed, and events moved aside after failing.
    pub fn inbox_counts(&self) -> (usize, usize) {
        (self.inbox.len(), self.dead.len())
    }

    pub fn outbox_get(&self, id: u64) -> Result<Option<OutboxEntry>, StoreError> {
        get_json(&self.outbox, keys::OUTBOX, &u64_key(id))
    }

    /// Writes back an entry after a send attempt; sent and failed leave the queue.
    /// The entry, the pending index and the per-user queue change in one transaction,
    /// and an entry that is gone (the user withdrew meanwhile) is not brought back.
    pub fn outbox_save(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.outbox_trees().save(entry, false)
    }

    /// `outbox_save`, durable when it returns: through the journal's shared fdatasync
    /// for a store on disk, or a sled flush for a temporary one.
    pub async fn outbox_record(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        match &self.journal {
            Some(journal) => journal.append_result(entry.clone()).await,
            None => {
                self.outbox_save(entry)?;
                self.flush().await
            }
        }
    }

    pub(super) fn outbox_trees(&self) -> OutboxTrees {
        OutboxTrees {
            outbox: self.outbox.clone(),
            pending: self.outbox_pending.clone(),
            queue: self.outbox_queue.clone(),
        }
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

    /// One page of the entries matching the filter, newest first, and how many match
    /// in all.
    pub fn outbox_page(
        &self,
        filter: OutboxFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<OutboxEntry>, usize), StoreError> {
        let mut page = Vec::new();
        let mut total = 0;
        for item in self.outbox.iter().rev() {
            let (_, value) = item?;
            let entry: OutboxEntry = from_json(keys::OUTBOX, &value)?;
            if filter.status.is_none_or(|s| s == entry.status) {
                if total >= offset && page.len() < limit {
                    page.push(entry);
                }
                total += 1;
            }
        }
        Ok((page, total))
    }

    /// Puts a failed (or pending) entry back in the queue, due now.
    pub fn outbox_retry(&self, id: u64, UnixMs(now_ms): UnixMs) -> Result<OutboxEntry, StoreError> {
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

    /// Every outbox entry of the user (pending, sent or failed), for `forget_user`.
    pub(super) fn outbox_ids_for_user(&self, user_id: &str) -> Result<Vec<u64>, StoreError> {
        let mut ids = Vec::new();
        for item in self.outbox.iter() {
            let (key, value) = item?;
            let entry: OutboxEntry = from_json(keys::OUTBOX, &value)?;
            if entry.user_id == user_id {
                ids.push(parse_u64(&key));
            }
        }
        Ok(ids)
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

/// Per-user queue key: user id, a 0 byte, then the outbox id (big-endian), so one
/// user's messages sort together in id order. Zalo user ids are digits (no 0 byte).
pub(super) fn queue_key(user_id: &str, id: u64) -> Vec<u8> {
    queue_key_bytes(user_id.as_bytes(), id)
}

/// The prefix of every queue key of `user_id`.
pub(super) fn queue_prefix(user_id: &str) -> Vec<u8> {
    let mut key = user_id.as_bytes().to_vec();
    key.push(0);
    key
}

fn queue_key_bytes(user: &[u8], id: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(user.len() + 9);
    key.extend_from_slice(user);
    key.push(0);
    key.extend_from_slice(&id.to_be_bytes());
    key
}

/// (user bytes, outbox id) of a queue key.
fn split_queue_key(key: &[u8]) -> (&[u8], u64) {
    let cut = key.len().saturating_sub(9);
    (&key[..cut], parse_u64(&key[cut + 1..]))
}

/// The smallest key after every key of `user`.
fn next_user(user: &[u8]) -> Vec<u8> {
    let mut next = user.to_vec();
    next.push(1);
    next
}

fn be_i64(value: &[u8]) -> i64 {
    value.get(..8).and_then(|b| b.try_into().ok()).map(i64::from_be_bytes).unwrap_or(0)
}

/// Stores new outbox entries and adds them to both due indexes, inside a transaction:
/// every write that queues messages (a processed event, a reminder, a hand-off) goes
/// through here.
pub(super) fn insert_new(
    outbox: &TransactionalTree,
    pending: &TransactionalTree,
    queue: &TransactionalTree,
    entries: &[OutboxEntry],
) -> Result<(), UnabortableTransactionError> {
    for entry in entries {
        outbox.insert(&super::keys::u64_key(entry.id), super::to_json(entry))?;
        index_insert(pending, queue, entry)?;
    }
    Ok(())
}

/// Adds (or moves) an entry in both due indexes, inside a transaction.
pub(super) fn index_insert(
    pending: &TransactionalTree,
    queue: &TransactionalTree,
    entry: &OutboxEntry,
) -> Result<(), UnabortableTransactionError> {
    pending.insert(&u64_key(entry.id), pending_value(entry))?;
    queue.insert(queue_key(&entry.user_id, entry.id), &entry.next_attempt_ms.to_be_bytes())?;
    Ok(())
}

/// Removes an entry from both due indexes, inside a transaction.
pub(super) fn index_remove(
    pending: &TransactionalTree,
    queue: &TransactionalTree,
    entry: &OutboxEntry,
) -> Result<(), UnabortableTransactionError> {
    pending.remove(&u64_key(entry.id))?;
    queue.remove(queue_key(&entry.user_id, entry.id))?;
    Ok(())
}
