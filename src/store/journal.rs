//! The inbox journal: how a webhook (and a send result) becomes durable cheaply.
//!
//! Acknowledging an event requires it on disk. A sled flush under a steady write load
//! costs far more than an fsync of an append-only file, so the webhook path appends the
//! event to this journal and fdatasyncs it (group commit: one dedicated thread, one sync
//! for every event waiting). Just before the sync the event goes into sled (its `inbox`
//! entry, no flush; the dedupe mark comes when it leaves the inbox, `pending.rs`) and to
//! its worker, so that the worker's step line makes the next sync
//! (`Store::ingest_durable_then` says why that is safe); the webhook is answered after
//! the sync. The journal
//! stays the source of truth until a checkpoint: the same thread flushes sled and then
//! truncates the file. On open, records not yet in sled are replayed. A torn last line
//! (crash mid-write) was never acknowledged and is cut off; an unreadable line before
//! it stops start-up (see `replay`). When no event arrives the writer checkpoints on
//! its own, so an idle service leaves an empty journal.
//!
//! Send results ride in the same file and the same fdatasync: the sender must know a
//! result is on disk before it takes on another message (a crash then repeats at most
//! the sends in flight), and a sled flush per result cost far more CPU (every flush
//! seals a log buffer and hands it to sled's I/O threads) than a line in a file that is
//! synced anyway for the webhooks.
//!
//! Processed events' steps ride in it too (`step.rs`): the worker writes the step to
//! sled with plain writes and appends its line; the line makes the step durable, and
//! replaces a sled transaction plus a sled flush before sending.
//!
//! A checkpoint never stalls the appends: the writer renames the file to
//! `<journal>.old`, goes on in a fresh file, and a helper thread flushes sled and then
//! deletes the old file (a sled flush under load takes tens of milliseconds, and every
//! webhook waited for it). On open, `<journal>.old` (if a crash left it) is replayed
//! before the current file.

use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use serde_json::value::RawValue;

use super::journal_file::{JournalFile, records_end};
use super::keys::u64_key;
use super::step::{Step, StepRecord, Trees as StepTrees};
use super::{InboxEntry, OutboxEntry, StoreError};

/// Checkpoint when the journal grows past this size or age.
const CHECKPOINT_BYTES: u64 = 4 << 20;
const CHECKPOINT_AGE: Duration = Duration::from_secs(5);

/// One line of the journal, as read back: an acknowledged event (`seq` + `entry`), a
/// send result, or a processed event's writes (`seq` + `step`, see `step.rs`).
#[derive(Serialize, Deserialize)]
struct Record {
    #[serde(default)]
    seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entry: Option<InboxEntry>,
    /// The outbox entry as it stands after a send attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<OutboxEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    step: Option<StepRecord>,
}

/// The same line as written: values already serialised by the caller are embedded as
/// they are, so the journal thread neither serialises nor escapes anything twice.
#[derive(Serialize)]
struct RecordOut<'a> {
    #[serde(skip_serializing_if = "is_zero")]
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<&'a StepRecord>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl RecordOut<'_> {
    fn line(&self) -> Result<Vec<u8>, StoreError> {
        let mut line = serde_json::to_vec(self)
            .map_err(|source| StoreError::Corrupt { tree: "journal", source })?;
        line.push(b'\n');
        Ok(line)
    }
}

/// What the journal thread does once a line is on disk.
enum Apply {
    /// A step, written to sled by its worker before its line (see `step.rs`): its
    /// replies become visible to the sender now.
    Publish {
        user_id: String,
        ids: Vec<u64>,
    },
    /// An event: into sled's inbox and handed to `handoff` before the sync (see
    /// `Store::ingest_durable_then`), acknowledged after it.
    Event {
        seq: u64,
        json: Box<RawValue>,
        handoff: Option<(OnRecorded, InboxEntry)>,
    },
    Result {
        entry: Box<OutboxEntry>,
        json: Box<RawValue>,
    },
    /// No line: its caller waits until every job queued before it is done.
    Barrier,
}

/// Who waits for the line: a task on the runtime, a worker thread (a barrier), or
/// nobody (a worker's step, whose replies the journal thread publishes itself).
enum Done {
    Async(oneshot::Sender<Result<(), String>>),
    Blocking(mpsc::SyncSender<Result<(), String>>),
    Detached,
}

impl Done {
    fn send(self, result: Result<(), String>) {
        match self {
            Done::Async(tx) => {
                let _ = tx.send(result);
            }
            Done::Blocking(tx) => {
                let _ = tx.send(result);
            }
            Done::Detached => {}
        }
    }
}

/// Called once an event is in sled's inbox, before its line is synced (the pipeline
/// hands the event to its worker).
pub type OnRecorded = Box<dyn FnOnce(u64, InboxEntry) + Send>;

struct Job {
    line: Vec<u8>,
    apply: Apply,
    done: Done,
}

#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Job>,
}

/// The sled pieces the journal thread writes to.
pub struct Target {
    pub db: sled::Db,
    pub seen: sled::Tree,
    pub inbox: sled::Tree,
    pub sessions: sled::Tree,
    pub users: sled::Tree,
    pub outbox: super::outbox::OutboxTrees,
}

impl Target {
    fn step_trees(&self) -> StepTrees {
        StepTrees {
            inbox: self.inbox.clone(),
            seen: self.seen.clone(),
            sessions: self.sessions.clone(),
            users: self.users.clone(),
            outbox: self.outbox.clone(),
        }
    }
}

impl Journal {
    /// Opens (creating) the journal at `path`, replays what sled lacks (from the file a
    /// crash left mid-checkpoint first), checkpoints, and starts the writer thread.
    pub fn open(path: &Path, target: Target) -> Result<Journal, StoreError> {
        let old = old_path(path);
        let mut replayed = 0;
        if old.exists() {
            let mut file = JournalFile::open(&old)?;
            replayed += replay(&mut file, &old, &target)?;
        }
        let mut file = JournalFile::open(path)?;
        replayed += replay(&mut file, path, &target)?;
        if replayed > 0 {
            tracing::info!(
                records = replayed,
                "replayed acknowledged events, steps and send results from the inbox journal"
            );
        }
        let mut segments = Segments { path: path.to_owned(), flushing: None };
        segments.checkpoint(&mut file, &target)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("inbox-journal".into())
            .spawn(move || writer(file, segments, target, rx))?;
        Ok(Journal { tx })
    }

    /// Applies the event to sled's inbox, calls `then` with it, appends and syncs its
    /// line. Returns once durable.
    pub async fn append(
        &self,
        seq: u64,
        entry: InboxEntry,
        then: Option<OnRecorded>,
    ) -> Result<(), StoreError> {
        let json = super::to_raw(&entry)?;
        let line = RecordOut { seq, entry: Some(&json), result: None, step: None }.line()?;
        let handoff = then.map(|then| (then, entry));
        self.write_async(line, Apply::Event { seq, json, handoff }).await
    }

    /// Queues a send result's line now; the returned future completes once it is
    /// synced and written to the outbox.
    pub fn queue_result(
        &self,
        entry: OutboxEntry,
    ) -> Result<impl Future<Output = Result<(), StoreError>> + Send + 'static, StoreError> {
        let json = super::to_raw(&entry)?;
        let line = RecordOut { seq: 0, entry: None, result: Some(&json), step: None }.line()?;
        let wait = self.queue(line, Apply::Result { entry: Box::new(entry), json })?;
        Ok(async move { outcome(wait.await.ok()) })
    }

    /// Queues the line of a step the calling worker has just written to sled, and
    /// returns at once: the journal thread publishes the step's replies to the sender
    /// once the line is synced. The worker need not wait: its next event (of this or
    /// another user) is written to sled after this one, and its line comes after this
    /// one in the file. If the write fails the replies stay unpublished (in sled's
    /// queue, sent after a restart), as nothing proves the step durable.
    pub(super) fn append_step(&self, step: &Step) -> Result<(), StoreError> {
        let record = step.to_record();
        let line =
            RecordOut { seq: step.seq, entry: None, result: None, step: Some(&record) }.line()?;
        let apply = Apply::Publish { user_id: step.user_id.clone(), ids: step.reply_ids() };
        self.tx
            .send(Job { line, apply, done: Done::Detached })
            .map_err(|_| StoreError::FlushAborted)
    }

    /// Blocks the calling (worker) thread until every line queued before this call is
    /// on disk and its step published. A step that does not go through the journal
    /// (after a report or hand-off write) calls it before publishing its replies, so
    /// that they cannot overtake the same user's earlier replies still waiting for
    /// their line.
    pub(super) fn wait_for_queued_lines(&self) -> Result<(), StoreError> {
        let (done, wait) = mpsc::sync_channel(1);
        self.tx
            .send(Job { line: Vec::new(), apply: Apply::Barrier, done: Done::Blocking(done) })
            .map_err(|_| StoreError::FlushAborted)?;
        outcome(wait.recv().ok())
    }

    async fn write_async(&self, line: Vec<u8>, apply: Apply) -> Result<(), StoreError> {
        let wait = self.queue(line, apply)?;
        outcome(wait.await.ok())
    }

    /// Hands the line to the journal thread; the receiver says when it is done.
    fn queue(
        &self,
        line: Vec<u8>,
        apply: Apply,
    ) -> Result<oneshot::Receiver<Result<(), String>>, StoreError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job { line, apply, done: Done::Async(done) })
            .map_err(|_| StoreError::FlushAborted)?;
        Ok(wait)
    }
}

fn outcome(received: Option<Result<(), String>>) -> Result<(), StoreError> {
    match received {
        Some(Ok(())) => Ok(()),
        Some(Err(message)) => {
            Err(StoreError::Sled(sled::Error::Io(std::io::Error::other(message))))
        }
        None => Err(StoreError::FlushAborted),
    }
}

fn writer(mut file: JournalFile, mut segments: Segments, target: Target, rx: mpsc::Receiver<Job>) {
    let mut since_checkpoint = Instant::now();
    let mut dirty = false;
    loop {
        let first = match rx.recv_timeout(CHECKPOINT_AGE) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Idle: checkpoint so the journal does not keep old events around.
                if dirty {
                    match segments.checkpoint(&mut file, &target) {
                        Ok(()) => dirty = false,
                        Err(e) => tracing::error!(error = %e, "inbox journal checkpoint failed"),
                    }
                    since_checkpoint = Instant::now();
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        dirty = true;
        let mut jobs = vec![first];
        jobs.extend(rx.try_iter());
        metrics::histogram!("cnscd_journal_batch_events").record(jobs.len() as f64);
        let result = write_batch(&mut file, &target, &mut jobs);
        if let Err(e) = &result {
            tracing::error!(error = %e, "inbox journal write failed");
        }
        for job in jobs {
            job.done.send(result.clone());
        }
        if file.len() > CHECKPOINT_BYTES || since_checkpoint.elapsed() > CHECKPOINT_AGE {
            if let Err(e) = segments.rotate(&mut file, &target) {
                tracing::error!(error = %e, "inbox journal rotation failed");
            }
            since_checkpoint = Instant::now();
        }
    }
}

/// `<journal>.old`: the previous file while sled is flushed behind it.
pub fn old_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".old");
    name.into()
}

/// The journal file and, while a checkpoint runs behind the writer, its predecessor.
struct Segments {
    path: PathBuf,
    /// Flushes sled, then deletes `<journal>.old`.
    flushing: Option<JoinHandle<Result<(), String>>>,
}

impl Segments {
    /// Moves on to a fresh file and checkpoints the previous one on a helper thread.
    /// Every record in the previous file was applied to sled before the rename, so the
    /// flush that starts after it covers them all. Skipped while the previous
    /// checkpoint still runs (the file just grows a little longer).
    fn rotate(&mut self, file: &mut JournalFile, target: &Target) -> Result<(), StoreError> {
        if self.flushing.as_ref().is_some_and(|h| !h.is_finished()) {
            return Ok(());
        }
        self.settle(target)?;
        let old = old_path(&self.path);
        std::fs::rename(&self.path, &old)?;
        let fresh =
            JournalFile::open(&self.path).and_then(|fresh| sync_dir(&self.path).map(|()| fresh));
        let fresh = match fresh {
            Ok(fresh) => fresh,
            Err(e) => {
                // Keep appending to the file we have, under its own name again: it must
                // not be taken for an old file and deleted by the next checkpoint.
                let _ = std::fs::remove_file(&self.path);
                std::fs::rename(&old, &self.path)?;
                return Err(e.into());
            }
        };
        // The new name is durable (synced above) before a record in it is acknowledged.
        *file = fresh;
        let db = target.db.clone();
        let path = self.path.clone();
        self.flushing = Some(std::thread::Builder::new().name("journal-checkpoint".into()).spawn(
            move || {
                db.flush().map_err(|e| e.to_string())?;
                std::fs::remove_file(&old).map_err(|e| e.to_string())?;
                sync_dir(&path).map_err(|e| e.to_string())
            },
        )?);
        Ok(())
    }

    /// Waits for a checkpoint running behind the writer; if it failed (or a crash left
    /// `<journal>.old`), does it here, so the old file is gone when this returns.
    fn settle(&mut self, target: &Target) -> Result<(), StoreError> {
        if let Some(handle) = self.flushing.take() {
            match handle.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "journal checkpoint failed; retrying"),
                Err(_) => tracing::warn!("journal checkpoint thread panicked; retrying"),
            }
        }
        let old = old_path(&self.path);
        if old.exists() {
            target.db.flush()?;
            std::fs::remove_file(&old)?;
            sync_dir(&self.path)?;
        }
        Ok(())
    }

    /// Makes sled durable, then empties the journal (and removes any old file). Only
    /// the writer thread calls this, so no record can slip in between.
    fn checkpoint(&mut self, file: &mut JournalFile, target: &Target) -> Result<(), StoreError> {
        self.settle(target)?;
        checkpoint(file, target)
    }
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => File::open(dir)?.sync_all(),
        None => File::open(".")?.sync_all(),
    }
}

/// Writes and syncs a batch of lines. Events go into sled's inbox and to their worker
/// first, so that a worker's step can make the next sync; everything else is applied
/// once the lines are on disk.
fn write_batch(file: &mut JournalFile, target: &Target, jobs: &mut [Job]) -> Result<(), String> {
    for job in jobs.iter_mut() {
        if let Apply::Event { seq, json, handoff } = &mut job.apply {
            target.inbox.insert(u64_key(*seq), json.get().as_bytes()).map_err(|e| e.to_string())?;
            if let Some((then, entry)) = handoff.take() {
                then(*seq, entry);
            }
        }
    }
    let mut buf = Vec::with_capacity(jobs.iter().map(|j| j.line.len()).sum());
    for job in jobs.iter() {
        buf.extend_from_slice(&job.line);
    }
    if !buf.is_empty() {
        file.append(&buf).map_err(|e| e.to_string())?;
        file.sync().map_err(|e| e.to_string())?;
    }
    for job in jobs.iter() {
        match &job.apply {
            Apply::Barrier | Apply::Event { .. } => {}
            Apply::Publish { user_id, ids } => {
                target
                    .outbox
                    .resync(ids.iter().map(|id| (user_id.as_str(), *id)))
                    .map_err(|e| e.to_string())?;
            }
            Apply::Result { entry, json } => {
                target
                    .outbox
                    .record_result(entry, json.get().as_bytes())
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

/// Applies a record read back on start-up (sled is not flushed: the journal holds it
/// until a checkpoint). A send result is written only over an entry that is still
/// pending (a later change, such as an admin's retry, is not undone); a step only if
/// its inbox entry is still there (see `step.rs`).
fn apply(target: &Target, record: &Record) -> Result<(), StoreError> {
    if let Some(entry) = &record.entry {
        target.inbox.insert(u64_key(record.seq), super::to_json(entry))?;
    }
    if let Some(result) = &record.result {
        target.outbox.save(result, true)?;
    }
    if let Some(step) = &record.step {
        let trees = target.step_trees();
        let step = Step::from_record(record.seq, step)?;
        step.write_plain(&trees)?;
        step.publish(&trees)?;
    }
    Ok(())
}

/// Replays what sled lacks. The records end at the first NUL byte (`journal_file.rs`
/// grows the file ahead in zeros). A torn last record (no final newline: the crash hit
/// the write, so it was never acknowledged) is cut off with a warning, and so is
/// anything after a gap of zeros (pages of that same unacknowledged write that reached
/// the disk out of order); the zeros ahead are cut quietly. A record that does not read
/// before that point is an acknowledged event we cannot read: start-up stops with its
/// offset and the command to remove it, rather than dropping it.
fn replay(file: &mut JournalFile, path: &Path, target: &Target) -> Result<usize, StoreError> {
    let bytes = file.read_all()?;
    let records = &bytes[..records_end(&bytes)];
    let mut replayed = 0;
    let mut offset = 0usize;
    let mut line_no = 0usize;
    while offset < records.len() {
        line_no += 1;
        let rest = &records[offset..];
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            tracing::warn!(
                offset,
                bytes = rest.len(),
                "inbox journal ends with a torn record (crash mid-write, never acknowledged); truncating it"
            );
            break;
        };
        let line = &rest[..end];
        if !line.is_empty() {
            let record =
                serde_json::from_slice::<Record>(line).map_err(|e| StoreError::JournalCorrupt {
                    path: path.to_owned(),
                    offset,
                    line: line_no,
                    reason: e.to_string(),
                })?;
            // An event is in sled while it waits in the inbox; once handled, its inbox
            // entry is gone and its dedupe mark is there (written before the removal, so
            // sled's prefix recovery cannot keep the one without the other). A journal
            // from an older version wrote the mark on arrival: present, skipped too.
            let missing = match (&record.entry, &record.step) {
                (Some(entry), _) => {
                    target.inbox.get(u64_key(record.seq))?.is_none()
                        && target.seen.get(entry.dedupe_key.as_bytes())?.is_none()
                }
                (None, Some(_)) => target.inbox.get(u64_key(record.seq))?.is_some(),
                (None, None) => record.result.is_some(),
            };
            if missing {
                apply(target, &record)?;
                replayed += 1;
            }
        }
        offset += line.len() + 1;
    }
    if offset < bytes.len() {
        let after_gap = bytes[records.len()..].iter().filter(|&&b| b != 0).count();
        if after_gap > 0 {
            tracing::warn!(
                offset = records.len(),
                bytes = after_gap,
                "inbox journal has bytes after a gap of zeros (crash mid-write, never acknowledged); truncating them"
            );
        }
        file.truncate(offset as u64)?;
    }
    Ok(replayed)
}

/// Makes sled durable, then empties the journal. Only the writer thread calls this,
/// so no record can slip in between.
fn checkpoint(file: &mut JournalFile, target: &Target) -> Result<(), StoreError> {
    target.db.flush()?;
    file.reset()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> InboxEntry {
        InboxEntry {
            dedupe_key: key.into(),
            user_id: "u".into(),
            event: serde_json::json!({}).into(),
            received_at_ms: 1,
            failure: None,
        }
    }

    fn target() -> Target {
        let db = sled::Config::new().temporary(true).open().unwrap();
        Target {
            seen: db.open_tree("seen").unwrap(),
            inbox: db.open_tree("inbox").unwrap(),
            sessions: db.open_tree("sessions").unwrap(),
            users: db.open_tree("users").unwrap(),
            outbox: super::super::outbox::OutboxTrees::open(&db).unwrap(),
            db,
        }
    }

    impl Target {
        fn clone_handles(&self) -> Target {
            Target {
                db: self.db.clone(),
                seen: self.seen.clone(),
                inbox: self.inbox.clone(),
                sessions: self.sessions.clone(),
                users: self.users.clone(),
                outbox: super::super::outbox::OutboxTrees::open(&self.db).unwrap(),
            }
        }
    }

    fn line(seq: u64, key: &str) -> String {
        serde_json::to_string(&Record { seq, entry: Some(entry(key)), result: None, step: None })
            .unwrap()
            + "\n"
    }

    #[test]
    fn a_replayed_send_result_marks_a_pending_entry_but_never_undoes_a_later_change() {
        use super::super::{OutboxEntry, OutboxStatus};
        let dir = tempfile::tempdir().unwrap();
        let target = target();
        let entry = outbox_entry;
        // Entry 1 is pending in sled; entry 2 was failed and then retried by an admin
        // (pending again, written to sled directly); entry 3 is gone (user withdrew).
        target.outbox.save_new(&entry(1, OutboxStatus::Pending));
        target.outbox.save_new(&entry(2, OutboxStatus::Failed));
        let result = |e: OutboxEntry| {
            serde_json::to_string(&Record { seq: 0, entry: None, result: Some(e), step: None })
                .unwrap()
                + "\n"
        };
        let path = dir.path().join("j");
        let text = result(entry(1, OutboxStatus::Sent))
            + &result(entry(2, OutboxStatus::Sent))
            + &result(entry(3, OutboxStatus::Sent));
        std::fs::write(&path, text).unwrap();
        let mut file = JournalFile::open(&path).unwrap();
        replay(&mut file, &path, &target).unwrap();
        let status = |id| target.outbox.get(id).map(|e| e.status);
        assert_eq!(status(1), Some(OutboxStatus::Sent));
        assert_eq!(status(2), Some(OutboxStatus::Failed), "not undone");
        assert_eq!(status(3), None, "not brought back");
    }

    /// An outbox entry of user "u", created and due at 1 ms.
    fn outbox_entry(id: u64, status: super::super::OutboxStatus) -> OutboxEntry {
        OutboxEntry {
            id,
            user_id: "u".into(),
            message: serde_json::json!({"text": "x"}).into(),
            status,
            attempts: 0,
            created_at_ms: 1,
            next_attempt_ms: 1,
            last_error: None,
            sent_at_ms: None,
            zalo_message_id: None,
        }
    }

    fn step_line(seq: u64, session: &str, entry_id: u64) -> String {
        use super::super::OutboxStatus;
        use super::super::step::{PreparedEntry, Step};
        let outbox = outbox_entry(entry_id, OutboxStatus::Pending);
        let step = Step {
            seq,
            user_id: "u".into(),
            session: Some(Some(RawValue::from_string(session.to_owned()).unwrap())),
            user: Some(RawValue::from_string(r#"{"last_interaction_ms":1}"#.to_owned()).unwrap()),
            entries: vec![PreparedEntry::new(&outbox).unwrap()],
            seen: Some(super::super::pending::SeenMark { key: "k".into(), at: 42 }),
        };
        let record = step.to_record();
        let line = RecordOut { seq, entry: None, result: None, step: Some(&record) }.line();
        String::from_utf8(line.unwrap()).unwrap()
    }

    #[test]
    fn a_step_whose_inbox_entry_is_still_there_is_written_again_on_replay() {
        let dir = tempfile::tempdir().unwrap();
        let target = target();
        let path = dir.path().join("j");
        // A crash after the event was in sled and part of its step was written.
        target.inbox.insert(u64_key(5), &b"{}"[..]).unwrap();
        target.sessions.insert("u", &br#"{"old":true}"#[..]).unwrap();
        std::fs::write(&path, line(5, "k") + &step_line(5, r#"{"node":"b"}"#, 77)).unwrap();
        let mut file = JournalFile::open(&path).unwrap();
        replay(&mut file, &path, &target).unwrap();
        assert!(target.inbox.get(u64_key(5)).unwrap().is_none(), "event done");
        assert_eq!(&*target.seen.get("k").unwrap().unwrap(), &42i64.to_be_bytes(), "mark left");
        assert_eq!(&*target.sessions.get("u").unwrap().unwrap(), br#"{"node":"b"}"#);
        assert!(target.users.get("u").unwrap().is_some());
        assert_eq!(target.outbox.get(77).map(|e| e.user_id), Some("u".to_owned()));
        let queued = target.outbox.trees().1.get(super::super::outbox::queue_key("u", 77));
        assert!(queued.unwrap().is_some(), "queued for the sender");
    }

    #[test]
    fn an_event_in_the_inbox_or_handled_is_skipped_and_one_sled_lost_is_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let target = target();
        let path = dir.path().join("j");
        // 1 waits in the inbox (no dedupe mark yet); 2 was handled (mark, no entry);
        // 3 was lost with sled's unflushed tail.
        target.inbox.insert(u64_key(1), &b"{}"[..]).unwrap();
        target.seen.insert("b", &[0u8; 8]).unwrap();
        std::fs::write(&path, line(1, "a") + &line(2, "b") + &line(3, "c")).unwrap();
        let mut file = JournalFile::open(&path).unwrap();
        assert_eq!(replay(&mut file, &path, &target).unwrap(), 1);
        assert_eq!(&*target.inbox.get(u64_key(1)).unwrap().unwrap(), b"{}", "left alone");
        assert!(target.inbox.get(u64_key(2)).unwrap().is_none(), "not brought back");
        assert!(target.inbox.get(u64_key(3)).unwrap().is_some());
        assert!(target.seen.get("c").unwrap().is_none(), "marked only once handled");
    }

    #[test]
    fn a_step_that_survived_whole_is_not_replayed_over_newer_values() {
        let dir = tempfile::tempdir().unwrap();
        let target = target();
        let path = dir.path().join("j");
        // The step's inbox removal survived, and so did a later change of the session.
        target.seen.insert("k", &[0u8; 8]).unwrap();
        target.sessions.insert("u", &br#"{"node":"later"}"#[..]).unwrap();
        std::fs::write(&path, line(5, "k") + &step_line(5, r#"{"node":"b"}"#, 77)).unwrap();
        let mut file = JournalFile::open(&path).unwrap();
        assert_eq!(replay(&mut file, &path, &target).unwrap(), 0);
        assert_eq!(&*target.sessions.get("u").unwrap().unwrap(), br#"{"node":"later"}"#);
        assert!(target.outbox.get(77).is_none());
    }

    #[test]
    fn a_checkpoint_cut_short_by_a_crash_is_replayed_old_file_first_then_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = target();
        let path = dir.path().join("j");
        // A crash after the rotation, before sled was flushed: records in both files.
        std::fs::write(old_path(&path), line(1, "a") + &line(2, "b")).unwrap();
        std::fs::write(&path, line(3, "c")).unwrap();
        let journal = Journal::open(&path, target.clone_handles()).unwrap();
        for seq in [1, 2, 3] {
            assert!(target.inbox.get(u64_key(seq)).unwrap().is_some(), "event {seq}");
        }
        assert!(!old_path(&path).exists(), "old file removed after the checkpoint");
        assert_eq!(std::fs::read(&path).unwrap().len(), 0, "current file checkpointed");
        drop(journal);
    }

    #[test]
    fn appends_go_on_in_a_fresh_file_while_the_old_one_is_checkpointed() {
        let dir = tempfile::tempdir().unwrap();
        let target = target();
        let path = dir.path().join("j");
        let mut file = JournalFile::open(&path).unwrap();
        let mut segments = Segments { path: path.clone(), flushing: None };
        file.append(line(1, "a").as_bytes()).unwrap();
        segments.rotate(&mut file, &target).unwrap();
        // The writer keeps appending to the new file at once.
        file.append(line(2, "b").as_bytes()).unwrap();
        let records = || {
            let bytes = std::fs::read(&path).unwrap();
            String::from_utf8(bytes[..records_end(&bytes)].to_vec()).unwrap()
        };
        assert_eq!(records(), line(2, "b"));
        segments.settle(&target).unwrap();
        assert!(!old_path(&path).exists(), "old file gone once sled is flushed");
        assert_eq!(records(), line(2, "b"), "new records kept");
    }

    #[test]
    fn event_lines_written_before_send_results_existed_still_read() {
        let old =
            r#"{"seq":7,"entry":{"dedupe_key":"k","user_id":"u","event":{},"received_at_ms":1}}"#;
        let record: Record = serde_json::from_str(old).unwrap();
        assert_eq!(record.seq, 7);
        assert_eq!(record.entry.unwrap().dedupe_key, "k");
        assert!(record.result.is_none());
    }

    #[test]
    fn replay_applies_missing_records_and_truncates_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let target = target();
        let path = dir.path().join("j");
        let good = line(1, "a") + &line(2, "b");
        let text = good.clone() + "{\"seq\":3,\"entry\":{\"dedu"; // torn
        std::fs::write(&path, text).unwrap();
        // "a" is already in sled: only "b" is replayed.
        target.seen.insert("a", &[0u8; 8]).unwrap();
        let mut file = JournalFile::open(&path).unwrap();
        assert_eq!(replay(&mut file, &path, &target).unwrap(), 1);
        assert!(target.inbox.get(u64_key(2)).unwrap().is_some());
        assert!(target.inbox.get(u64_key(1)).unwrap().is_none());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), good, "torn tail cut off");
    }

    #[test]
    fn replay_stops_at_the_zeros_grown_ahead_and_cuts_them() {
        let dir = tempfile::tempdir().unwrap();
        let target = target();
        let path = dir.path().join("j");
        let good = line(1, "a") + &line(2, "b");
        let mut bytes = good.clone().into_bytes();
        bytes.resize(4096, 0);
        std::fs::write(&path, bytes).unwrap();
        let mut file = JournalFile::open(&path).unwrap();
        assert_eq!(replay(&mut file, &path, &target).unwrap(), 2);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), good);
        // Appends go on after the last record, not after the zeros.
        file.append(line(3, "c").as_bytes()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..records_end(&bytes)], (good + &line(3, "c")).as_bytes());
    }

    #[test]
    fn a_torn_write_with_a_gap_of_zeros_is_cut_at_the_gap() {
        let dir = tempfile::tempdir().unwrap();
        let target = target();
        let path = dir.path().join("j");
        let good = line(1, "a");
        // The unacknowledged batch "b", "c": its first page partly reached the disk,
        // then zeros, then a later page of it.
        let mut bytes = (good.clone() + "{\"seq\":2,\"ent").into_bytes();
        bytes.resize(bytes.len() + 100, 0);
        bytes.extend_from_slice(line(3, "c").as_bytes());
        bytes.resize(8192, 0);
        std::fs::write(&path, bytes).unwrap();
        let mut file = JournalFile::open(&path).unwrap();
        assert_eq!(replay(&mut file, &path, &target).unwrap(), 1);
        assert!(target.inbox.get(u64_key(1)).unwrap().is_some());
        assert!(target.inbox.get(u64_key(3)).unwrap().is_none(), "never acknowledged");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), good);
    }

    #[test]
    fn an_unreadable_record_in_the_middle_stops_start_up_with_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let target = target();
        let path = dir.path().join("j");
        let first = line(1, "a");
        std::fs::write(&path, first.clone() + "garbage\n" + &line(3, "c")).unwrap();
        let mut file = JournalFile::open(&path).unwrap();
        let err = replay(&mut file, &path, &target).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&format!("offset {}", first.len())), "{message}");
        assert!(message.contains("sed -i '2d'"), "{message}");
        // Nothing after the bad record was skipped silently, and the file is untouched.
        assert!(target.inbox.get(u64_key(3)).unwrap().is_none());
        assert!(std::fs::read_to_string(&path).unwrap().contains("garbage"));
    }
}
