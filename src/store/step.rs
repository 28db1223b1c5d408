//! A processed event's writes (`Store::complete`), and how they become durable.
//!
//! A step removes the event from the inbox and saves the user's session, user record
//! and queued replies. In a store on disk they are plain sled writes followed by one
//! line in the inbox journal (`journal.rs`, shared fdatasync), not a sled transaction:
//! every sled transaction seals the log buffer it writes into and hands it to sled's
//! I/O pool twice, and the pool wakes all its idle threads each time — that was the
//! largest CPU cost of a turn (about a quarter, and some 26 thread wake-ups per turn).
//!
//! Why plain writes are safe here:
//! - they are written in this order: outbox entries and queue entries, session, user
//!   record, the event's dedupe mark (`pending.rs`), and last the removal of the inbox
//!   entry. sled recovers a prefix of its log, so if the inbox entry is gone after a
//!   crash, the whole step survived, its dedupe mark with it;
//! - the journal line is synced before the step's replies become visible to the sender:
//!   the journal thread updates the due index after the sync, so nothing leaves before
//!   the step is durable. The worker does not wait for that sync: its next event is
//!   written to sled after this one and its line follows this one in the file, so a
//!   crash keeps a prefix of its steps either way (a 16-thread pool that mostly slept
//!   in the sync became a few busy threads);
//! - on start-up a step line whose inbox entry is still in sled is written again (the
//!   same keys and values, so a partial step is completed, never doubled). A step whose
//!   inbox entry is gone is skipped: it survived whole, and so did anything logged
//!   before its last write, which is why replaying it could never overwrite a newer value.
//!
//! One exception: a step whose worker wrote to sled outside the journal while handling
//! the event (a report, a hand-off: `Store::note_unflushed_write`). A journal line for
//! the step could then outlive those writes after a crash, and replaying the step would
//! mark the event done without them. Such a step is one sled transaction instead, after
//! those writes in sled's log (so a crash keeps both or replays the event), and the
//! sender flushes sled before sending its replies. The mark is per thread: a worker
//! handles one event at a time, so whatever it wrote before `complete` belongs to it.
//!
//! A temporary store (tests) has no journal and writes the step in one transaction.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use super::keys::u64_key;
use super::outbox::{OutboxTrees, queue_key};
use super::pending::SeenMark;
use super::{OutboxEntry, OutboxStatus, StoreError};

thread_local! {
    static UNJOURNALED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static QUEUED_STEP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// This thread queued a step's journal line without waiting for it (`Store::complete`).
pub(super) fn note_queued_step_on_this_thread() {
    QUEUED_STEP.with(|flag| flag.set(true));
}

/// Whether this thread queued a step line since the last call; clears it.
pub(super) fn take_queued_step_on_this_thread() -> bool {
    QUEUED_STEP.with(|flag| flag.replace(false))
}

/// This thread wrote to sled outside the journal (see the module doc).
pub(super) fn note_unjournaled_on_this_thread() {
    UNJOURNALED.with(|flag| flag.set(true));
}

/// Whether this thread wrote outside the journal since the last call; clears it.
pub(super) fn take_unjournaled_on_this_thread() -> bool {
    UNJOURNALED.with(|flag| flag.replace(false))
}

/// One processed event's writes, serialised once by the worker.
pub(super) struct Step {
    pub seq: u64,
    pub user_id: String,
    /// `None`: keep the session; `Some(None)`: remove it; `Some(Some(json))`: set it.
    /// Values are JSON text, serialised once: the same bytes go to sled and, embedded
    /// as they are, into the journal line.
    pub session: Option<Option<Box<RawValue>>>,
    pub user: Option<Box<RawValue>>,
    pub entries: Vec<PreparedEntry>,
    /// The dedupe mark the event leaves in `seen` (`None`: written when it arrived, as
    /// a temporary store and older versions do).
    pub seen: Option<SeenMark>,
}

/// An outbox entry with its JSON and queue entry ready to write.
pub(super) struct PreparedEntry {
    pub id: u64,
    /// `id` as the outbox key.
    pub key: [u8; 8],
    pub json: Box<RawValue>,
    /// `None` for an entry that is not pending (only in a replayed step).
    pub queue: Option<(Vec<u8>, [u8; 8])>,
}

impl PreparedEntry {
    pub fn new(entry: &OutboxEntry) -> Result<PreparedEntry, StoreError> {
        Ok(PreparedEntry {
            id: entry.id,
            key: u64_key(entry.id),
            json: super::to_raw(entry)?,
            queue: (entry.status == OutboxStatus::Pending).then(|| {
                (queue_key(&entry.user_id, entry.id), entry.next_attempt_ms.to_be_bytes())
            }),
        })
    }
}

/// The trees a step writes to.
pub(super) struct Trees {
    pub inbox: sled::Tree,
    pub seen: sled::Tree,
    pub sessions: sled::Tree,
    pub users: sled::Tree,
    pub outbox: OutboxTrees,
}

/// A step as a journal line (`Record::step`). The values are the stored JSON, embedded
/// as they are (no second escaping).
#[derive(Serialize, Deserialize)]
pub(super) struct StepRecord {
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clear_session: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_record: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<SeenMark>,
}

/// Which tree a write of a step goes to.
#[derive(Clone, Copy)]
enum StepTree {
    Outbox,
    Queue,
    Sessions,
    Users,
    Seen,
    Inbox,
}

/// One write: a value to insert, or `None` to remove the key.
type Write<'a> = (StepTree, &'a [u8], Option<&'a [u8]>);

impl Step {
    /// The step's writes, in the order the module doc relies on: outbox and queue
    /// entries, session, user record, dedupe mark, and last the inbox removal.
    fn writes<'a>(&'a self, inbox_key: &'a [u8; 8], seen_at: &'a [u8; 8]) -> Vec<Write<'a>> {
        let mut writes = Vec::with_capacity(self.entries.len() * 2 + 4);
        for entry in &self.entries {
            writes.push((StepTree::Outbox, &entry.key[..], Some(entry.json.get().as_bytes())));
            if let Some((key, due)) = &entry.queue {
                writes.push((StepTree::Queue, key.as_slice(), Some(&due[..])));
            }
        }
        if let Some(value) = &self.session {
            let value = value.as_ref().map(|v| v.get().as_bytes());
            writes.push((StepTree::Sessions, self.user_id.as_bytes(), value));
        }
        if let Some(value) = &self.user {
            writes.push((StepTree::Users, self.user_id.as_bytes(), Some(value.get().as_bytes())));
        }
        if let Some(mark) = &self.seen {
            writes.push((StepTree::Seen, mark.key.as_bytes(), Some(&seen_at[..])));
        }
        writes.push((StepTree::Inbox, &inbox_key[..], None));
        writes
    }

    /// Plain writes, one after the other (a store with a journal).
    pub fn write_plain(&self, trees: &Trees) -> Result<(), StoreError> {
        let (outbox, queue) = trees.outbox.trees();
        let (inbox_key, seen_at) = self.keys();
        for (target, key, value) in self.writes(&inbox_key, &seen_at) {
            let tree = match target {
                StepTree::Outbox => outbox,
                StepTree::Queue => queue,
                StepTree::Sessions => &trees.sessions,
                StepTree::Users => &trees.users,
                StepTree::Seen => &trees.seen,
                StepTree::Inbox => &trees.inbox,
            };
            match value {
                Some(value) => tree.insert(key, value)?,
                None => tree.remove(key)?,
            };
        }
        Ok(())
    }

    /// All of it in one transaction (temporary stores, which have no journal, and steps
    /// after writes outside the journal).
    pub fn write_transaction(&self, trees: &Trees) -> Result<(), StoreError> {
        let (outbox, queue) = trees.outbox.trees();
        let (inbox_key, seen_at) = self.keys();
        let writes = self.writes(&inbox_key, &seen_at);
        (&trees.inbox, &trees.seen, &trees.sessions, &trees.users, outbox, queue)
            .transaction(|(inbox, seen, sessions, users, outbox, queue)| {
                for &(target, key, value) in &writes {
                    let tree = match target {
                        StepTree::Outbox => outbox,
                        StepTree::Queue => queue,
                        StepTree::Sessions => sessions,
                        StepTree::Users => users,
                        StepTree::Seen => seen,
                        StepTree::Inbox => inbox,
                    };
                    match value {
                        Some(value) => tree.insert(key, value)?,
                        None => tree.remove(key)?,
                    };
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(StoreError::from)
    }

    /// The inbox key and the dedupe mark's value (its arrival time, `prune.rs`).
    fn keys(&self) -> ([u8; 8], [u8; 8]) {
        (u64_key(self.seq), self.seen.as_ref().map_or([0; 8], SeenMark::value))
    }

    /// Lets the sender see the step's replies, and wakes it.
    pub fn publish(&self, trees: &Trees) -> Result<(), StoreError> {
        trees.outbox.resync(self.entries.iter().map(|e| (self.user_id.as_str(), e.id)))
    }

    /// The ids of the step's replies, to publish once its journal line is synced.
    pub fn reply_ids(&self) -> Vec<u64> {
        self.entries.iter().map(|e| e.id).collect()
    }

    pub fn to_record(&self) -> StepRecord {
        StepRecord {
            user: self.user_id.clone(),
            session: match &self.session {
                Some(Some(value)) => Some(value.clone()),
                _ => None,
            },
            clear_session: matches!(self.session, Some(None)),
            user_record: self.user.clone(),
            outbox: self.entries.iter().map(|e| e.json.clone()).collect(),
            seen: self.seen.clone(),
        }
    }

    pub fn from_record(seq: u64, record: &StepRecord) -> Result<Step, StoreError> {
        let corrupt = |source| StoreError::Corrupt { tree: "journal", source };
        let entries = record
            .outbox
            .iter()
            .map(|value| {
                let entry: OutboxEntry = serde_json::from_str(value.get()).map_err(corrupt)?;
                PreparedEntry::new(&entry)
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Step {
            seq,
            user_id: record.user.clone(),
            session: if record.clear_session {
                Some(None)
            } else {
                record.session.clone().map(Some)
            },
            user: record.user_record.clone(),
            entries,
            seen: record.seen.clone(),
        })
    }
}
