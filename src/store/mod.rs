//! The embedded store: the only module that imports `sled`.
//!
//! It speaks domain types, never raw `IVec`s, and owns the durability rules:
//! - `ingest_durable` records a webhook event (dedupe mark + inbox entry) and returns only
//!   once it survives a crash: through the fsync'd inbox journal (`journal.rs`) for a
//!   store on disk, or a transaction plus flush for a temporary one;
//! - `complete` removes a processed inbox entry and writes the session, the user record
//!   and the outbox messages in one transaction, so a crash either replays the event or
//!   has fully handled it;
//! - token pairs are flushed before they are used (the refresh token is single-use).
//!
//! Trees and key layout are in `keys.rs`. Values are JSON: readable in a dump and
//! evolvable with `#[serde(default)]`.

mod flusher;
mod journal;
mod keys;
mod outbox;
pub mod reports;
mod types;
mod unmatched;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

pub use keys::u64_key;
pub use outbox::OutboxFilter;
pub use types::{
    InboxEntry, IngestOutcome, OutboxEntry, OutboxStatus, SendError, SessionUpdate, TokenPair,
    UserRecord,
};
pub use unmatched::Unmatched;

use flusher::Flusher;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store i/o: {0}")]
    Sled(#[from] sled::Error),
    #[error("inbox journal i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("store value is not valid JSON in tree {tree}: {source}")]
    Corrupt { tree: &'static str, source: serde_json::Error },
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
    /// Ids of outbox entries still to send, in id (= enqueue) order.
    outbox_pending: sled::Tree,
    users: sled::Tree,
    sessions: sled::Tree,
    meta: sled::Tree,
    once: sled::Tree,
    /// Inbox entries that failed processing repeatedly, kept for inspection.
    dead: sled::Tree,
    /// Team reports: units, teams, members, invites, reports (see `reports/`).
    reports: sled::Tree,
    /// Messages not understood, for editors (see `unmatched.rs`).
    unmatched: sled::Tree,
    flusher: Flusher,
    /// Durable webhook ingest (see `journal.rs`); `None` for temporary stores, which
    /// fall back to a sled transaction and flush.
    journal: Option<journal::Journal>,
    /// Dedupe keys being journaled right now (std mutex, never held across `.await`).
    in_flight: Arc<Mutex<HashSet<String>>>,
}

/// A claim on a dedupe key while its event is being journaled; released on drop.
struct InFlight<'a> {
    set: &'a Mutex<HashSet<String>>,
    key: String,
}

impl<'a> InFlight<'a> {
    fn claim(set: &'a Mutex<HashSet<String>>, key: &str) -> Option<InFlight<'a>> {
        let mut guard = set.lock().unwrap_or_else(|p| p.into_inner());
        guard.insert(key.to_owned()).then(|| InFlight { set, key: key.to_owned() })
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.set.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.key);
    }
}

impl Store {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut store = Store::from_db(sled::Config::new().path(path).open()?)?;
        let target = journal::Target {
            db: store.db.clone(),
            seen: store.seen.clone(),
            inbox: store.inbox.clone(),
        };
        store.journal = Some(journal::Journal::open(&Store::journal_path(path), target)?);
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

    fn from_db(db: sled::Db) -> Result<Store, StoreError> {
        Ok(Store {
            journal: None,
            inbox: db.open_tree(keys::INBOX)?,
            seen: db.open_tree(keys::SEEN)?,
            outbox: db.open_tree(keys::OUTBOX)?,
            outbox_pending: db.open_tree(keys::OUTBOX_PENDING)?,
            users: db.open_tree(keys::USERS)?,
            sessions: db.open_tree(keys::SESSIONS)?,
            meta: db.open_tree(keys::META)?,
            once: db.open_tree(keys::ONCE)?,
            dead: db.open_tree(keys::DEAD)?,
            reports: db.open_tree(reports::TREE)?,
            unmatched: db.open_tree(keys::UNMATCHED)?,
            flusher: Flusher::new(db.clone()),
            in_flight: Default::default(),
            db,
        })
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
    /// survives a crash. Concurrent deliveries of one key are serialised by `in_flight`.
    pub async fn ingest_durable(&self, entry: &InboxEntry) -> Result<IngestOutcome, StoreError> {
        let Some(journal) = &self.journal else {
            let outcome = self.ingest(entry)?;
            self.flush().await?;
            return Ok(outcome);
        };
        let Some(_claim) = InFlight::claim(&self.in_flight, &entry.dedupe_key) else {
            return Ok(IngestOutcome::Duplicate);
        };
        if self.seen.get(entry.dedupe_key.as_bytes())?.is_some() {
            return Ok(IngestOutcome::Duplicate);
        }
        let seq = self.db.generate_id()?;
        journal.append(seq, entry.clone()).await?;
        Ok(IngestOutcome::Accepted { seq })
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

    pub fn inbox_get(&self, seq: u64) -> Result<Option<InboxEntry>, StoreError> {
        get_json(&self.inbox, keys::INBOX, &u64_key(seq))
    }

    /// Moves an entry that keeps failing out of the inbox so it cannot block its user.
    pub fn inbox_bury(&self, seq: u64, reason: &str) -> Result<(), StoreError> {
        let Some(mut entry) = self.inbox_get(seq)? else { return Ok(()) };
        entry.failure = Some(reason.to_owned());
        (&self.inbox, &self.dead)
            .transaction(|(inbox, dead)| {
                inbox.remove(&u64_key(seq))?;
                dead.insert(&u64_key(seq), to_json(&entry))?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(StoreError::from)
    }

    /// Atomically: the event is handled, the user's session and record are updated and
    /// the replies are queued. Returns the ids of the queued outbox entries.
    pub fn complete(
        &self,
        seq: u64,
        user_id: &str,
        session: SessionUpdate,
        user: Option<&UserRecord>,
        messages: &[serde_json::Value],
        now_ms: i64,
    ) -> Result<Vec<u64>, StoreError> {
        let entries = self.new_outbox_entries(user_id, messages, now_ms)?;
        let user_value = user.map(to_json);
        (&self.inbox, &self.sessions, &self.users, &self.outbox, &self.outbox_pending)
            .transaction(|(inbox, sessions, users, outbox, pending)| {
                inbox.remove(&u64_key(seq))?;
                match &session {
                    SessionUpdate::Keep => {}
                    SessionUpdate::Set(value) => {
                        sessions.insert(user_id.as_bytes(), to_json(value))?;
                    }
                    SessionUpdate::Clear => {
                        sessions.remove(user_id.as_bytes())?;
                    }
                }
                if let Some(value) = &user_value {
                    users.insert(user_id.as_bytes(), value.as_slice())?;
                }
                for entry in &entries {
                    outbox.insert(&u64_key(entry.id), to_json(entry))?;
                    pending.insert(&u64_key(entry.id), outbox::pending_value(entry))?;
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })?;
        Ok(entries.iter().map(|e| e.id).collect())
    }

    // ----- users and sessions --------------------------------------------------

    pub fn session(&self, user_id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        get_json(&self.sessions, keys::SESSIONS, user_id.as_bytes())
    }

    pub fn user(&self, user_id: &str) -> Result<Option<UserRecord>, StoreError> {
        get_json(&self.users, keys::USERS, user_id.as_bytes())
    }

    /// Unix seconds of the user's last inbound event, if known.
    pub fn last_interaction(&self, user_id: &str) -> Option<i64> {
        self.user(user_id).ok().flatten().map(|u| u.last_interaction_ms / 1000)
    }

    /// Deletes what the service keeps about a user (Zalo `user_withdraw`): session, user
    /// record and unsent messages. Returns how many outbox entries were dropped.
    pub fn forget_user(&self, seq: u64, user_id: &str) -> Result<usize, StoreError> {
        let unsent = self.outbox_ids_for_user(user_id)?;
        (&self.inbox, &self.sessions, &self.users, &self.outbox, &self.outbox_pending)
            .transaction(|(inbox, sessions, users, outbox, pending)| {
                inbox.remove(&u64_key(seq))?;
                sessions.remove(user_id.as_bytes())?;
                users.remove(user_id.as_bytes())?;
                for id in &unsent {
                    outbox.remove(&u64_key(*id))?;
                    pending.remove(&u64_key(*id))?;
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })?;
        Ok(unsent.len())
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
        messages: &[serde_json::Value],
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let entries = self.new_outbox_entries(user_id, messages, now_ms)?;
        let queued = (&self.once, &self.outbox, &self.outbox_pending).transaction(
            |(once, outbox, pending)| {
                if once.get(once_key.as_bytes())?.is_some() {
                    return Ok(false);
                }
                once.insert(once_key.as_bytes(), &now_ms.to_be_bytes())?;
                for entry in &entries {
                    outbox.insert(&u64_key(entry.id), to_json(entry))?;
                    pending.insert(&u64_key(entry.id), outbox::pending_value(entry))?;
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(true)
            },
        )?;
        Ok(queued)
    }

    // ----- housekeeping --------------------------------------------------------

    /// Drops dedupe marks older than `dedupe_ms` and sent messages older than
    /// `sent_ms`. Returns (marks, messages) removed.
    pub fn prune(
        &self,
        now_ms: i64,
        dedupe_ms: i64,
        sent_ms: i64,
    ) -> Result<(usize, usize), StoreError> {
        let mut marks = 0;
        for item in self.seen.iter() {
            let (key, value) = item?;
            let at = value.as_ref().try_into().map(i64::from_be_bytes).unwrap_or(0);
            if now_ms - at > dedupe_ms {
                self.seen.remove(key)?;
                marks += 1;
            }
        }
        let messages = self.prune_sent(now_ms - sent_ms)?;
        Ok((marks, messages))
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising our own plain structs cannot fail (no maps with non-string keys).
    serde_json::to_vec(value).unwrap_or_default()
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
