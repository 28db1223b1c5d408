//! Outbox operations: queued messages, their sending state and the admin views.

use crate::calendar::UnixMs;
use serde::Deserialize;
use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, TransactionalTree, UnabortableTransactionError,
};

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use super::due::DueIndex;
use super::keys::{self, parse_u64, u64_key};
use super::{OutboxEntry, OutboxStatus, RawJson, Store, StoreError, from_json, get_json, to_json};

/// Admin listing filter.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct OutboxFilter {
    pub status: Option<OutboxStatus>,
}

/// (next attempt ms, user id) from a value of the old pending index (`outbox_pending`).
fn parse_pending(value: &[u8]) -> Option<(i64, String)> {
    let (at, user) = value.split_at_checked(8)?;
    Some((i64::from_be_bytes(at.try_into().ok()?), std::str::from_utf8(user).ok()?.to_owned()))
}

/// The trees an outbox entry lives in and the in-memory due index, for writers outside
/// `Store` (the journal).
#[derive(Clone)]
pub struct OutboxTrees {
    outbox: sled::Tree,
    queue: sled::Tree,
    due: Arc<Mutex<DueIndex>>,
    /// The sender's wake-up: rung when new replies become visible in the due index.
    wake: Arc<tokio::sync::Notify>,
}

impl OutboxTrees {
    #[cfg(test)]
    pub fn open(db: &sled::Db) -> Result<OutboxTrees, StoreError> {
        Ok(OutboxTrees {
            outbox: db.open_tree(keys::OUTBOX)?,
            queue: db.open_tree(keys::OUTBOX_QUEUE)?,
            due: Default::default(),
            wake: Default::default(),
        })
    }

    /// Inserts an entry as a producer would (tests of writers outside `Store`).
    #[cfg(test)]
    pub fn save_new(&self, entry: &OutboxEntry) {
        (&self.outbox, &self.queue)
            .transaction(|(outbox, queue)| {
                insert_new(outbox, queue, std::slice::from_ref(entry))?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .unwrap();
        self.resync([(entry.user_id.as_str(), entry.id)]).unwrap();
    }

    #[cfg(test)]
    pub fn get(&self, id: u64) -> Option<OutboxEntry> {
        let bytes = self.outbox.get(u64_key(id)).ok()??;
        from_json(keys::OUTBOX, &bytes).ok()
    }

    /// Writes the entry and its queue entry in one transaction. Never brings back an
    /// entry that is gone; with `only_if_pending`, leaves alone an entry that is no
    /// longer pending (a replayed result must not undo a later change).
    pub fn save(&self, entry: &OutboxEntry, only_if_pending: bool) -> Result<(), StoreError> {
        let value = to_json(entry);
        (&self.outbox, &self.queue)
            .transaction(|(outbox, queue)| {
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
                    index_insert(queue, entry)?;
                } else {
                    index_remove(queue, entry)?;
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(StoreError::from)?;
        self.resync([(entry.user_id.as_str(), entry.id)])
    }

    /// A send result as it comes back, with plain writes instead of a transaction
    /// (each sled transaction costs two log-buffer hand-offs to sled's I/O threads).
    /// Safe because the result is already in the journal: a crash between the two
    /// writes is repaired by replaying it (`save` with `only_if_pending`). The entry is
    /// swapped only if it is still what was read, so a result never brings back an
    /// entry removed meanwhile (the user withdrew) nor undoes a concurrent change.
    pub fn record_result(&self, entry: &OutboxEntry, json: &[u8]) -> Result<(), StoreError> {
        let key = u64_key(entry.id);
        loop {
            let Some(stored) = self.outbox.get(key)? else { return Ok(()) };
            match self.outbox.compare_and_swap(key, Some(&stored), Some(json))? {
                Ok(()) => break,
                Err(_) => continue, // changed between the read and the swap: look again
            }
        }
        let queue_key = queue_key(&entry.user_id, entry.id);
        if entry.status == OutboxStatus::Pending {
            self.queue.insert(queue_key, &entry.next_attempt_ms.to_be_bytes())?;
        } else {
            self.queue.remove(queue_key)?;
        }
        self.resync([(entry.user_id.as_str(), entry.id)])
    }

    /// The outbox and queue trees, for a transaction that also writes other trees.
    pub(super) fn trees(&self) -> (&sled::Tree, &sled::Tree) {
        (&self.outbox, &self.queue)
    }

    /// Brings the due index in line with the queue tree for these messages, after a
    /// transaction changed them. Reading the tree back under the index's lock (rather
    /// than applying what the writer meant to do) means concurrent writers can never
    /// leave the index in a state the tree is no longer in. If any of them is pending,
    /// the sender is woken: whoever queued it (a step, a hand-off relay, a reminder, an
    /// admin's retry) need not know about the sender.
    pub(super) fn resync<'a>(
        &self,
        messages: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> Result<(), StoreError> {
        let mut pending = false;
        let drained = {
            let mut due = lock(&self.due);
            for (user, id) in messages {
                let at = self.queue.get(queue_key(user, id))?.map(|v| be_i64(&v));
                pending |= at.is_some();
                due.set(user, id, at);
            }
            due.take_drained()
        };
        if pending {
            self.wake.notify_one();
        }
        if drained {
            crate::alloc::release_free_memory();
        }
        Ok(())
    }

    /// Fills the due index from the queue tree (on open).
    fn load_due(&self) -> Result<usize, StoreError> {
        let mut due = lock(&self.due);
        for item in self.queue.iter() {
            let (key, value) = item?;
            let (user, id) = split_queue_key(&key);
            due.set(&String::from_utf8_lossy(user), id, Some(be_i64(&value)));
        }
        Ok(due.len())
    }
}

fn lock(due: &Mutex<DueIndex>) -> MutexGuard<'_, DueIndex> {
    // Every change is one `set`, which leaves the index consistent even if it panicked.
    due.lock().unwrap_or_else(|p| p.into_inner())
}

impl Store {
    pub(super) fn new_outbox_entries(
        &self,
        user_id: &str,
        messages: &[RawJson],
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
    /// Heads come from the in-memory due index (`due.rs`), earliest due first, so a
    /// user with any number of messages waiting behind a backing-off one delays nobody
    /// else. Every candidate is re-checked against its stored entry: an index entry
    /// left behind by a crash is repaired instead of re-sending a sent message.
    pub fn outbox_due(&self, now_ms: UnixMs, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.outbox_due_except(now_ms, limit, &Default::default(), &Default::default())
    }

    /// `outbox_due`, passing over users whose head message is in `sending` (being
    /// sent right now): their next message must wait for that send's result, and the
    /// slot goes to somebody else. A head in `settled` (sent, its result on the way to
    /// disk) is passed over for the user's next message (`due.rs`).
    pub fn outbox_due_except(
        &self,
        UnixMs(now_ms): UnixMs,
        limit: usize,
        sending: &std::collections::HashSet<u64>,
        settled: &std::collections::HashSet<u64>,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let trees = self.outbox_trees();
        let mut due = Vec::new();
        loop {
            let candidates = lock(&self.due).due(now_ms, limit, sending, settled);
            let mut repaired = false;
            for (id, user) in candidates {
                match self.outbox_get(id)? {
                    Some(entry) if entry.status == OutboxStatus::Pending => due.push(entry),
                    _ => {
                        // Entry gone (user withdrew) or no longer pending: repair the
                        // index; the user's next message may be due too.
                        self.outbox_queue.remove(queue_key(&user, id))?;
                        trees.resync([(&*user, id)])?;
                        repaired = true;
                    }
                }
            }
            if !repaired || due.len() >= limit {
                return Ok(due);
            }
            due.clear();
        }
    }

    /// The earliest time a user's oldest pending message becomes due.
    pub fn outbox_next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(lock(&self.due).next_due_ms())
    }

    /// Moves the pending index of stores written before the per-user queue existed
    /// (`outbox_pending`: id → due + user) into the queue tree, then drops it. Returns
    /// how many entries were moved.
    pub(super) fn migrate_pending_index(&self) -> Result<usize, StoreError> {
        let name = keys::OUTBOX_PENDING.as_bytes();
        if !self.db.tree_names().iter().any(|n| n.as_ref() == name) {
            return Ok(0);
        }
        let pending = self.db.open_tree(name)?;
        let mut n = 0;
        for item in pending.iter() {
            let (key, value) = item?;
            if let Some((at, user)) = parse_pending(&value) {
                self.outbox_queue.insert(queue_key(&user, parse_u64(&key)), &at.to_be_bytes())?;
                n += 1;
            }
        }
        self.db.flush()?;
        self.db.drop_tree(name)?;
        Ok(n)
    }

    /// After a committed transaction changed these messages' queue entries.
    pub(super) fn resync_due<'a>(
        &self,
        messages: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> Result<(), StoreError> {
        self.outbox_trees().resync(messages)
    }

    /// Fills the in-memory due index from the queue tree.
    pub(super) fn load_due_index(&self) -> Result<usize, StoreError> {
        self.outbox_trees().load_due()
    }

    /// Messages waiting to be sent (due or backing off), for `/metrics`.
    pub fn outbox_pending_count(&self) -> usize {
        lock(&self.due).len()
    }

    /// Events accepted but not yet processed, and events moved aside after failing.
    pub fn inbox_counts(&self) -> (usize, usize) {
        (self.inbox.len(), self.dead.len())
    }

    pub fn outbox_get(&self, id: u64) -> Result<Option<OutboxEntry>, StoreError> {
        get_json(&self.outbox, keys::OUTBOX, &u64_key(id))
    }

    /// Writes back an entry after a send attempt; sent and failed leave the queue.
    /// The entry and its queue entry change in one transaction,
    /// and an entry that is gone (the user withdrew meanwhile) is not brought back.
    pub fn outbox_save(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.outbox_trees().save(entry, false)?;
        self.note_unflushed_write();
        Ok(())
    }

    /// `outbox_save`, durable once the returned future completes: through the
    /// journal's shared fdatasync for a store on disk, or a sled flush for a temporary
    /// one. The result takes its place (its journal line, or its sled write) before this
    /// returns, so a result recorded after it (the same user's next message) can never
    /// reach the disk before it.
    pub fn outbox_record(
        &self,
        entry: OutboxEntry,
    ) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'static>> {
        match &self.journal {
            Some(journal) => match journal.queue_result(entry) {
                Ok(line) => Box::pin(line),
                Err(e) => Box::pin(std::future::ready(Err(e))),
            },
            None => {
                let saved = self.outbox_save(&entry);
                let store = self.clone();
                Box::pin(async move {
                    saved?;
                    store.flush().await
                })
            }
        }
    }

    pub(super) fn outbox_trees(&self) -> OutboxTrees {
        OutboxTrees {
            outbox: self.outbox.clone(),
            queue: self.outbox_queue.clone(),
            due: self.due.clone(),
            wake: self.sender_wake.clone(),
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

fn be_i64(value: &[u8]) -> i64 {
    value.get(..8).and_then(|b| b.try_into().ok()).map(i64::from_be_bytes).unwrap_or(0)
}

/// Stores new outbox entries and adds them to the queue, inside a transaction: every
/// write that queues messages (a processed event, a reminder, a hand-off) goes through
/// here, and calls `Store::resync_due` with the entries once it has committed.
pub(super) fn insert_new(
    outbox: &TransactionalTree,
    queue: &TransactionalTree,
    entries: &[OutboxEntry],
) -> Result<(), UnabortableTransactionError> {
    for entry in entries {
        outbox.insert(&super::keys::u64_key(entry.id), super::to_json(entry))?;
        index_insert(queue, entry)?;
    }
    Ok(())
}

/// Adds (or moves) an entry in the queue, inside a transaction.
pub(super) fn index_insert(
    queue: &TransactionalTree,
    entry: &OutboxEntry,
) -> Result<(), UnabortableTransactionError> {
    queue.insert(queue_key(&entry.user_id, entry.id), &entry.next_attempt_ms.to_be_bytes())?;
    Ok(())
}

/// Removes an entry from the queue, inside a transaction.
pub(super) fn index_remove(
    queue: &TransactionalTree,
    entry: &OutboxEntry,
) -> Result<(), UnabortableTransactionError> {
    queue.remove(queue_key(&entry.user_id, entry.id))?;
    Ok(())
}
