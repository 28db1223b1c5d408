//! The embedded store: the only module that imports `sled`.
//!
//! It speaks domain types, never raw `IVec`s, and owns the durability rules:
//! - `ingest_durable` records a webhook event (its inbox entry) and returns only once it
//!   survives a crash: through the fsync'd inbox journal (`journal.rs`) for a store on
//!   disk, or a transaction plus flush (with the dedupe mark) for a temporary one;
//! - `complete` removes a processed inbox entry, leaves its dedupe mark (`pending.rs`)
//!   and writes the session, the user record and the outbox messages as one step
//!   (`step.rs`: plain writes plus a journal line, or one transaction), so a crash
//!   either replays the event or has fully handled it, and the replies reach the sender
//!   only once the step is durable;
//! - token pairs are flushed before they are used (the refresh token is single-use).
//!
//! Trees and key layout are in `keys.rs`. Values are JSON: readable in a dump and
//! evolvable with `#[serde(default)]`.

pub mod console;
mod due;
mod flusher;
pub mod handoff;
mod journal;
mod journal_file;
mod keys;
mod outbox;
mod pending;
pub mod prune;
pub mod reports;
mod session_cache;
mod step;
mod types;
mod unmatched;

use crate::calendar::{UnixMs, UnixSecs};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

pub use journal::OnRecorded;
pub use journal::old_path as journal_old_path;
pub use keys::u64_key;
pub use outbox::OutboxFilter;
pub use types::{
    InboxEntry, IngestOutcome, OutboxEntry, OutboxStatus, RawJson, SendError, SessionUpdate,
    TokenPair, UserRecord,
};
pub use unmatched::Unmatched;

use flusher::Flusher;
use pending::SeenMark;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store i/o: {0}")]
    Sled(#[from] sled::Error),
    #[error("inbox journal i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("store value is not valid JSON in tree {tree}: {source}")]
    Corrupt { tree: &'static str, source: serde_json::Error },
    #[error(
        "inbox journal {path} has an unreadable record at byte offset {offset} (line {line}): {reason}. \
         It holds an acknowledged event, so start-up stops instead of skipping it. Keep a copy \
         (`cp '{path}' '{path}.bak'`), inspect the line (`sed -n '{line}p' '{path}'`), then either \
         repair it or remove just that record with `sed -i '{line}d' '{path}'` and start again.",
        path = path.display()
    )]
    JournalCorrupt { path: std::path::PathBuf, offset: usize, line: usize, reason: String },
    #[error("store flush did not complete")]
    FlushAborted,
    #[error("not found")]
    NotFound,
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(err: TransactionError<StoreError>) -> StoreError {
        match err {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

/// Handle to the store; cheap to clone (sled trees are `Arc`s inside).
#[derive(Clone)]
pub struct Store {
    pub(crate) db: sled::Db,
    inbox: sled::Tree,
    seen: sled::Tree,
    outbox: sled::Tree,
    /// Outbox entries still to send, keyed by user then id (`outbox::queue_key`), with
    /// their next attempt time.
    outbox_queue: sled::Tree,
    /// The same, in memory, as the sender reads it (`due.rs`).
    due: Arc<Mutex<due::DueIndex>>,
    /// Wakes the sender when replies become visible in `due` (`Store::sender_wake`).
    sender_wake: Arc<tokio::sync::Notify>,
    users: sled::Tree,
    sessions: sled::Tree,
    meta: sled::Tree,
    once: sled::Tree,
    /// Inbox entries that failed processing repeatedly, kept for inspection.
    dead: sled::Tree,
    /// Team reports: units, teams, members, invites, reports (see `reports/`).
    reports: sled::Tree,
    /// Citizen → team hand-off: requests, citizens' stage (see `handoff.rs`).
    handoff: sled::Tree,
    /// Messages not understood, for editors (see `unmatched.rs`).
    unmatched: sled::Tree,
    flusher: Flusher,
    /// Set by every write to sled that is not in the journal and may precede a reply
    /// (see `take_unflushed`).
    unflushed: Arc<std::sync::atomic::AtomicBool>,
    /// Durable webhook ingest (see `journal.rs`); `None` for temporary stores, which
    /// fall back to a sled transaction and flush.
    journal: Option<journal::Journal>,
    /// Dedupe keys being journaled or waiting in the inbox, whose `seen` mark is
    /// written when their event leaves it (`pending.rs`).
    pending: pending::Pending,
    /// Bumped after every write to units, teams or members (in this process, which is
    /// the only one with the store open): lets the hand-off keep its routing directory
    /// until one of them changes (`directory_generation`).
    directory_generation: Arc<AtomicU64>,
}

/// A one-off command could not open the store; usually the running service holds sled's
/// lock (sled allows one process), so the message names the online alternative.
#[derive(Debug, thiserror::Error)]
#[error("opening store at {path} (is the service running? then use {online})")]
pub struct OpenForCommandError {
    path: String,
    online: &'static str,
    #[source]
    source: StoreError,
}

impl Store {
    /// Opens the store for a command-line operation (`tokens set`, `units import`, …) run
    /// while the service is stopped. `online` says how to do the same with it running.
    pub fn open_for_command(
        path: &Path,
        online: &'static str,
    ) -> Result<Store, OpenForCommandError> {
        Store::open(path).map_err(|source| OpenForCommandError {
            path: path.display().to_string(),
            online,
            source,
        })
    }

    /// Opens (or creates) the store at `path` with sled's default cache.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(path, 0)
    }

    /// Opens the store with a page cache of `cache_bytes` (0: sled's default, 1 GB).
    pub fn open_with_cache(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let mut config = sled::Config::new().path(path);
        if cache_bytes > 0 {
            config = config.cache_capacity(cache_bytes);
        }
        let mut store = Store::from_db(config.open()?)?;
        let target = journal::Target {
            db: store.db.clone(),
            seen: store.seen.clone(),
            inbox: store.inbox.clone(),
            sessions: store.sessions.clone(),
            users: store.users.clone(),
            outbox: store.outbox_trees(),
        };
        store.journal = Some(journal::Journal::open(&Store::journal_path(path), target)?);
        store.hold_inbox_keys()?;
        Ok(store)
    }

    /// The inbox journal sits beside the sled directory: `<path>.journal`.
    pub fn journal_path(path: &Path) -> std::path::PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(".journal");
        name.into()
    }

    /// A throw-away store for tests.
    pub fn temporary() -> Result<Store, StoreError> {
        Store::from_db(sled::Config::new().temporary(true).open()?)
    }

    /// Changes whenever units, teams or members were written since (see the field).
    pub fn directory_generation(&self) -> u64 {
        self.directory_generation.load(Ordering::Acquire)
    }

    /// Called after each write to units, teams or members.
    pub(crate) fn directory_changed(&self) {
        self.directory_generation.fetch_add(1, Ordering::AcqRel);
    }

    fn from_db(db: sled::Db) -> Result<Store, StoreError> {
        let store = Store {
            unflushed: Default::default(),
            journal: None,
            inbox: db.open_tree(keys::INBOX)?,
            seen: db.open_tree(keys::SEEN)?,
            outbox: db.open_tree(keys::OUTBOX)?,
            outbox_queue: db.open_tree(keys::OUTBOX_QUEUE)?,
            due: Default::default(),
            sender_wake: Default::default(),
            users: db.open_tree(keys::USERS)?,
            sessions: db.open_tree(keys::SESSIONS)?,
            meta: db.open_tree(keys::META)?,
            once: db.open_tree(keys::ONCE)?,
            dead: db.open_tree(keys::DEAD)?,
            reports: db.open_tree(reports::TREE)?,
            handoff: db.open_tree(handoff::TREE)?,
            unmatched: db.open_tree(keys::UNMATCHED)?,
            flusher: Flusher::new(db.clone()),
            pending: Default::default(),
            directory_generation: Default::default(),
            db,
        };
        let migrated = store.migrate_pending_index()?;
        if migrated > 0 {
            tracing::info!(migrated, "moved the old outbox pending index into the queue");
        }
        store.load_due_index()?;
        let rolled = store.ensure_report_rollups()?;
        if rolled > 0 {
            tracing::info!(rolled, "rebuilt the current-report roll-up records");
        }
        Ok(store)
    }

    fn step_trees(&self) -> step::Trees {
        step::Trees {
            inbox: self.inbox.clone(),
            seen: self.seen.clone(),
            sessions: self.sessions.clone(),
            users: self.users.clone(),
            outbox: self.outbox_trees(),
        }
    }

    /// Before replies written outside the journal are shown to the sender: this
    /// thread's earlier steps may still wait for their journal line, and their replies
    /// must go first, or one user's messages could leave out of order. Only a worker
    /// that queued a step line waits (for the journal thread to catch up, which costs
    /// no extra sync).
    pub(crate) fn settle_queued_steps(&self) -> Result<(), StoreError> {
        match &self.journal {
            Some(journal) if step::take_queued_step_on_this_thread() => {
                journal.wait_for_queued_lines()
            }
            _ => Ok(()),
        }
    }

    /// The sender's wake-up, rung whenever replies become visible to it: after a step
    /// (by the journal thread once the step is durable) or by whoever queued something.
    pub fn sender_wake(&self) -> Arc<tokio::sync::Notify> {
        self.sender_wake.clone()
    }

    /// Records that sled holds a write that is not in the journal and that a reply may
    /// depend on (a report, a hand-off, a queued reminder…): the sender flushes before
    /// it sends anything after it.
    pub fn note_unflushed_write(&self) {
        self.unflushed.store(true, Ordering::Release);
        step::note_unjournaled_on_this_thread();
    }

    /// Whether the sender must flush sled before sending what it has just picked up;
    /// clears the mark (a write after this sets it again, and the flush that follows
    /// covers every write made before it).
    pub fn take_unflushed(&self) -> bool {
        self.unflushed.swap(false, Ordering::AcqRel)
    }

    /// Makes every write so far durable. Concurrent callers share one fsync.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.flusher.flush().await
    }

    /// Blocking flush for code outside the async runtime (CLI commands).
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// A cheap liveness probe for `/readyz`.
    pub fn is_healthy(&self) -> bool {
        self.meta.get(b"probe").is_ok()
    }

    // ----- inbox ---------------------------------------------------------------

    /// Records an event durably unless its dedupe key was seen before; returns once it
    /// survives a crash. A key is a duplicate while its first copy is journaled or waits
    /// in the inbox (`pending`), and once handled (`seen`, written as it left).
    pub async fn ingest_durable(&self, entry: &InboxEntry) -> Result<IngestOutcome, StoreError> {
        self.ingest_durable_then(entry.clone(), None).await
    }

    /// The same, and `on_recorded(seq, entry)` is called (on the journal thread) as soon
    /// as the event is in sled's inbox, before its journal line is synced: the pipeline
    /// hands it to its worker there, so that the worker's step goes to disk in the next
    /// group fdatasync instead of the one after (a turn waited for three syncs; now two).
    ///
    /// Why that is safe: nothing of the step leaves before its own line is synced, and
    /// that line comes after the event's in the same file, so one sync covers both. If
    /// the process dies before the event's sync, the webhook was not answered and Zalo
    /// delivers it again; that copy is refused as a duplicate if sled kept the inbox
    /// entry or the step (its key is held from the inbox on open, or marked `seen`),
    /// and is a new event if sled kept neither.
    pub async fn ingest_durable_then(
        &self,
        entry: InboxEntry,
        on_recorded: Option<OnRecorded>,
    ) -> Result<IngestOutcome, StoreError> {
        let Some(journal) = &self.journal else {
            let outcome = self.ingest(&entry)?;
            self.flush().await?;
            if let (IngestOutcome::Accepted { seq }, Some(then)) = (&outcome, on_recorded) {
                then(*seq, entry);
            }
            return Ok(outcome);
        };
        let Some(claim) = self.pending.claim(&entry.dedupe_key) else {
            return Ok(IngestOutcome::Duplicate);
        };
        if self.seen.get(entry.dedupe_key.as_bytes())?.is_some() {
            return Ok(IngestOutcome::Duplicate);
        }
        let seq = self.db.generate_id()?;
        // Held before the worker can see the event: its step reads the mark it leaves.
        claim.hold(seq, entry.received_at_ms);
        if let Err(e) = journal.append(seq, entry, on_recorded).await {
            // Not in the inbox: the key is free for Zalo's retry. In the inbox (the sync
            // failed after it was handed over): still held, so the retry is a duplicate
            // of an event that will be answered.
            if !self.inbox.contains_key(keys::u64_key(seq)).unwrap_or(true) {
                self.pending.release(seq);
            }
            return Err(e);
        }
        Ok(IngestOutcome::Accepted { seq })
    }

    /// On open: every event waiting in the inbox holds its dedupe key (`pending.rs`).
    /// Reads only the two fields it needs from each entry.
    fn hold_inbox_keys(&self) -> Result<(), StoreError> {
        #[derive(serde::Deserialize)]
        struct Key<'a> {
            #[serde(borrow)]
            dedupe_key: std::borrow::Cow<'a, str>,
            received_at_ms: i64,
        }
        for item in self.inbox.iter() {
            let (seq, value) = item?;
            let key: Key = serde_json::from_slice(&value)
                .map_err(|source| StoreError::Corrupt { tree: keys::INBOX, source })?;
            let mark = SeenMark { key: key.dedupe_key.into_owned(), at: key.received_at_ms };
            self.pending.hold(keys::parse_u64(&seq), mark);
        }
        Ok(())
    }

    /// Records an event unless its dedupe key was seen before. Not durable until `flush`.
    pub fn ingest(&self, entry: &InboxEntry) -> Result<IngestOutcome, StoreError> {
        let seq = self.db.generate_id()?;
        let value = to_json(entry);
        let seen_at = entry.received_at_ms.to_be_bytes();
        let outcome = (&self.seen, &self.inbox).transaction(|(seen, inbox)| {
            if seen.get(entry.dedupe_key.as_bytes())?.is_some() {
                return Ok(IngestOutcome::Duplicate);
            }
            seen.insert(entry.dedupe_key.as_bytes(), &seen_at[..])?;
            inbox.insert(&u64_key(seq), value.as_slice())?;
            Ok(IngestOutcome::Accepted { seq })
        });
        outcome.map_err(|e: TransactionError<StoreError>| StoreError::from(e))
    }

    /// Unprocessed inbox entries in arrival order (used on start-up to resume work).
    pub fn inbox_pending(&self) -> Result<Vec<(u64, InboxEntry)>, StoreError> {
        self.inbox
            .iter()
            .map(|item| {
                let (key, value) = item?;
                Ok((keys::parse_u64(&key), from_json(keys::INBOX, &value)?))
            })
            .collect()
    }

    /// Whether entry `seq` is still in the inbox (not yet handled).
    pub fn inbox_contains(&self, seq: u64) -> Result<bool, StoreError> {
        Ok(self.inbox.contains_key(u64_key(seq))?)
    }

    pub fn inbox_get(&self, seq: u64) -> Result<Option<InboxEntry>, StoreError> {
        get_json(&self.inbox, keys::INBOX, &u64_key(seq))
    }

    /// Moves an entry that keeps failing out of the inbox so it cannot block its user.
    pub fn inbox_bury(&self, seq: u64, reason: &str) -> Result<(), StoreError> {
        let Some(mut entry) = self.inbox_get(seq)? else { return Ok(()) };
        entry.failure = Some(reason.to_owned());
        // It leaves the inbox, so it leaves its dedupe mark (`pending.rs`).
        let mark = SeenMark::of(&entry);
        (&self.inbox, &self.dead, &self.seen)
            .transaction(|(inbox, dead, seen)| {
                seen.insert(mark.key.as_bytes(), &mark.value()[..])?;
                inbox.remove(&u64_key(seq))?;
                dead.insert(&u64_key(seq), to_json(&entry))?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(StoreError::from)?;
        self.pending.release(seq);
        Ok(())
    }

    /// Atomically: the event is handled, the user's session and record are updated and
    /// the replies are queued. Returns the ids of the queued outbox entries once all of
    /// it is in sled; the sender sees the replies (and is woken) only once the step is
    /// durable: at once for a transaction, or when the journal has synced its line (see
    /// `step.rs`). The calling worker does not wait for that sync.
    pub fn complete(
        &self,
        seq: u64,
        user_id: &str,
        session: SessionUpdate,
        user: Option<&UserRecord>,
        messages: &[RawJson],
        UnixMs(now_ms): UnixMs,
    ) -> Result<Vec<u64>, StoreError> {
        let entries = self.new_outbox_entries(user_id, messages, now_ms)?;
        let ids = entries.iter().map(|e| e.id).collect();
        let step = step::Step {
            seq,
            user_id: user_id.to_owned(),
            session: match &session {
                SessionUpdate::Keep => None,
                SessionUpdate::Set(value) => Some(Some(to_raw(value)?)),
                SessionUpdate::Clear => Some(None),
            },
            user: user.map(to_raw).transpose()?,
            entries: entries.iter().map(step::PreparedEntry::new).collect::<Result<_, _>>()?,
            seen: self.pending.mark(seq),
        };
        let trees = self.step_trees();
        // Writes this thread made outside the journal while handling the event (a
        // report, a hand-off) are not covered by a journal line: such a step goes the
        // transactional way, after them in sled's log, and marks the store for the
        // sender's flush (see `step.rs`).
        let after_unjournaled = step::take_unjournaled_on_this_thread();
        match &self.journal {
            Some(journal) if !after_unjournaled => {
                // The journal thread publishes the replies once the line is synced; the
                // worker goes on with its next event meanwhile (see `step.rs`).
                step.write_plain(&trees)?;
                journal.append_step(&step)?;
                step::note_queued_step_on_this_thread();
            }
            _ => {
                step.write_transaction(&trees)?;
                self.unflushed.store(true, Ordering::Release);
                self.settle_queued_steps()?;
                step.publish(&trees)?;
            }
        }
        self.pending.release(seq);
        match (session, &step.session) {
            (SessionUpdate::Set(session), Some(Some(json))) => {
                session_cache::put(user_id, json.get().as_bytes(), session);
            }
            (SessionUpdate::Clear, _) => session_cache::forget(user_id),
            _ => {}
        }
        Ok(ids)
    }

    // ----- users and sessions --------------------------------------------------

    /// The user's dialog session. One that no longer parses (an old format) is `None`,
    /// so the conversation starts afresh rather than blocking the user. A worker reading
    /// back the session it wrote itself gets it without a parse (`session_cache.rs`).
    pub fn session(&self, user_id: &str) -> Result<Option<crate::dialog::Session>, StoreError> {
        let Some(stored) = self.sessions.get(user_id.as_bytes())? else {
            session_cache::forget(user_id);
            return Ok(None);
        };
        if let Some(session) = session_cache::take(user_id, &stored) {
            return Ok(Some(session));
        }
        match from_json(keys::SESSIONS, &stored) {
            Err(StoreError::Corrupt { source, .. }) => {
                tracing::warn!(error = %source, "stored session unreadable; starting afresh");
                Ok(None)
            }
            other => other.map(Some),
        }
    }

    pub fn user(&self, user_id: &str) -> Result<Option<UserRecord>, StoreError> {
        get_json(&self.users, keys::USERS, user_id.as_bytes())
    }

    /// Unix seconds of the user's last inbound event, unless the user cannot be messaged
    /// at all (unfollowed, or Zalo refused them: `UserRecord::reachable` is false); `None`
    /// also for a user never seen. With `reports::reminders::within_window` this is the one
    /// definition of "reachable" (reminders, admin member list).
    pub fn last_reachable_interaction(
        &self,
        user_id: &str,
    ) -> Result<Option<UnixSecs>, StoreError> {
        Ok(self
            .user(user_id)?
            .filter(|u| u.reachable)
            .map(|u| UnixMs(u.last_interaction_ms).to_secs()))
    }

    /// Deletes what the service keeps about a user (Zalo `user_withdraw`): session, user
    /// record, every outbox message (sent ones hold what we told them), dead-letter
    /// entries (they hold the user's raw text) and reminder marks. Returns how many
    /// outbox entries were dropped.
    pub fn forget_user(&self, seq: u64, user_id: &str) -> Result<usize, StoreError> {
        let messages = self.outbox_ids_for_user(user_id)?;
        let mut dead = Vec::new();
        for item in self.dead.iter() {
            let (key, value) = item?;
            if from_json::<InboxEntry>(keys::DEAD, &value).is_ok_and(|e| e.user_id == user_id) {
                dead.push(key);
            }
        }
        let suffix = format!(":{user_id}");
        let mut once_keys = Vec::new();
        for item in self.once.iter() {
            let (key, _) = item?;
            if key.ends_with(suffix.as_bytes()) {
                once_keys.push(key);
            }
        }
        let queued: Vec<Vec<u8>> = self
            .outbox_queue
            .scan_prefix(outbox::queue_prefix(user_id))
            .keys()
            .map(|k| k.map(|k| k.to_vec()))
            .collect::<Result<_, _>>()?;
        // The withdrawal event leaves its dedupe mark as it leaves the inbox (`pending.rs`).
        let mark = self.pending.mark(seq);
        (
            &self.inbox,
            &self.sessions,
            &self.users,
            &self.outbox,
            &self.outbox_queue,
            &self.dead,
            &self.once,
            &self.seen,
        )
            .transaction(
                |(inbox, sessions, users, outbox, queue, dead_tree, once, seen)| {
                    if let Some(mark) = &mark {
                        seen.insert(mark.key.as_bytes(), &mark.value()[..])?;
                    }
                    inbox.remove(&u64_key(seq))?;
                    sessions.remove(user_id.as_bytes())?;
                    users.remove(user_id.as_bytes())?;
                    for id in &messages {
                        outbox.remove(&u64_key(*id))?;
                    }
                    for key in &queued {
                        queue.remove(key.as_slice())?;
                    }
                    for key in &dead {
                        dead_tree.remove(key)?;
                    }
                    for key in &once_keys {
                        once.remove(key)?;
                    }
                    Ok::<_, ConflictableTransactionError<StoreError>>(())
                },
            )?;
        self.pending.release(seq);
        self.resync_due(messages.iter().map(|id| (user_id, *id)))?;
        session_cache::forget(user_id);
        Ok(messages.len())
    }

    // ----- tokens --------------------------------------------------------------

    pub fn tokens(&self) -> Result<Option<TokenPair>, StoreError> {
        get_json(&self.meta, keys::META, keys::TOKENS)
    }

    /// Stores a token pair and makes it durable before returning: the old refresh token
    /// is dead once Zalo has issued a new one.
    pub async fn put_tokens(&self, tokens: &TokenPair) -> Result<(), StoreError> {
        self.meta.insert(keys::TOKENS, to_json(tokens))?;
        self.flush().await
    }

    /// Same as `put_tokens` for the CLI (outside the runtime).
    pub fn put_tokens_blocking(&self, tokens: &TokenPair) -> Result<(), StoreError> {
        self.meta.insert(keys::TOKENS, to_json(tokens))?;
        self.flush_blocking()
    }

    // ----- one-off sends (reminders, digests) ----------------------------------

    /// Queues `messages` for `user_id` unless `once_key` was used before; atomically,
    /// so a reminder is never sent twice. Returns whether it was queued.
    pub fn enqueue_once(
        &self,
        once_key: &str,
        user_id: &str,
        messages: &[RawJson],
        UnixMs(now_ms): UnixMs,
    ) -> Result<bool, StoreError> {
        let entries = self.new_outbox_entries(user_id, messages, now_ms)?;
        let queued = (&self.once, &self.outbox, &self.outbox_queue).transaction(
            |(once, outbox, queue)| {
                if once.get(once_key.as_bytes())?.is_some() {
                    return Ok(false);
                }
                once.insert(once_key.as_bytes(), &now_ms.to_be_bytes())?;
                outbox::insert_new(outbox, queue, &entries)?;
                Ok::<_, ConflictableTransactionError<StoreError>>(true)
            },
        )?;
        if queued {
            self.note_unflushed_write();
            self.resync_due(entries.iter().map(|e| (e.user_id.as_str(), e.id)))?;
        }
        Ok(queued)
    }

    // ----- housekeeping --------------------------------------------------------
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising our own plain structs cannot fail (no maps with non-string keys).
    serde_json::to_vec(value).unwrap_or_default()
}

/// The same as embeddable JSON text (a journal line takes it as it is, without parsing
/// it again).
fn to_raw<T: Serialize>(value: &T) -> Result<Box<serde_json::value::RawValue>, StoreError> {
    serde_json::value::to_raw_value(value)
        .map_err(|source| StoreError::Corrupt { tree: "journal", source })
}

fn from_json<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt { tree, source })
}

fn get_json<T: DeserializeOwned>(
    tree: &sled::Tree,
    name: &'static str,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    tree.get(key)?.map(|v| from_json(name, &v)).transpose()
}

#[cfg(test)]
mod tests;
