//! The inbox journal: how a webhook (and a send result) becomes durable cheaply.
//!
//! Acknowledging an event requires it on disk. A sled flush under a steady write load
//! costs far more than an fsync of an append-only file, so the webhook path appends the
//! event to this journal and fdatasyncs it (group commit: one dedicated thread, one sync
//! for every event waiting), then applies it to sled (`seen` + `inbox`) without a
//! flush. The journal stays the source of truth until a checkpoint: the same thread
//! flushes sled and then truncates the file. On open, records not yet in sled are
//! replayed. A torn last line (crash mid-write) was never acknowledged and is cut off;
//! an unreadable line before it stops start-up (see `replay`). When no event arrives
//! the writer checkpoints on its own, so an idle service leaves an empty journal.
//!
//! Send results ride in the same file and the same fdatasync: the sender must know a
//! result is on disk before it takes on another message (a crash then repeats at most
//! the sends in flight), and a sled flush per result cost far more CPU (every flush
//! seals a log buffer and hands it to sled's I/O threads) than a line in a file that is
//! synced anyway for the webhooks.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::keys::u64_key;
use super::{InboxEntry, OutboxEntry, StoreError};

/// Checkpoint when the journal grows past this size or age.
const CHECKPOINT_BYTES: u64 = 4 << 20;
const CHECKPOINT_AGE: Duration = Duration::from_secs(5);

/// One line of the journal: an acknowledged event (`seq` + `entry`) or a send result.
#[derive(Serialize, Deserialize)]
struct Record {
    #[serde(default)]
    seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entry: Option<InboxEntry>,
    /// The outbox entry as it stands after a send attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<OutboxEntry>,
}

struct Job {
    record: Record,
    done: oneshot::Sender<Result<(), String>>,
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
    pub outbox: super::outbox::OutboxTrees,
}

impl Journal {
    /// Opens (creating) the journal at `path`, replays what sled lacks, checkpoints,
    /// and starts the writer thread.
    pub fn open(path: &Path, target: Target) -> Result<Journal, StoreError> {
        let mut file = OpenOptions::new().create(true).read(true).append(true).open(path)?;
        let replayed = replay(&mut file, path, &target)?;
        if replayed > 0 {
            tracing::info!(
                events = replayed,
                "replayed acknowledged events from the inbox journal"
            );
        }
        checkpoint(&mut file, &target)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("inbox-journal".into())
            .spawn(move || writer(file, target, rx))?;
        Ok(Journal { tx })
    }

    /// Appends and syncs the event, then applies it to sled. Returns once durable.
    pub async fn append(&self, seq: u64, entry: InboxEntry) -> Result<(), StoreError> {
        self.write(Record { seq, entry: Some(entry), result: None }).await
    }

    /// Appends and syncs a send result, then writes it to the outbox. Returns once
    /// durable.
    pub async fn append_result(&self, entry: OutboxEntry) -> Result<(), StoreError> {
        self.write(Record { seq: 0, entry: None, result: Some(entry) }).await
    }

    async fn write(&self, record: Record) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.tx.send(Job { record, done }).map_err(|_| StoreError::FlushAborted)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => {
                Err(StoreError::Sled(sled::Error::Io(std::io::Error::other(message))))
            }
            Err(_) => Err(StoreError::FlushAborted),
        }
    }
}

fn writer(mut file: File, target: Target, rx: mpsc::Receiver<Job>) {
    let mut since_checkpoint = Instant::now();
    let mut dirty = false;
    loop {
        let first = match rx.recv_timeout(CHECKPOINT_AGE) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Idle: checkpoint so the journal does not keep old events around.
                if dirty {
                    match checkpoint(&mut file, &target) {
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
        let result = write_batch(&mut file, &target, &jobs);
        if let Err(e) = &result {
            tracing::error!(error = %e, "inbox journal write failed");
        }
        for job in jobs {
            let _ = job.done.send(result.clone());
        }
        let big = file.metadata().map(|m| m.len() > CHECKPOINT_BYTES).unwrap_or(false);
        if big || since_checkpoint.elapsed() > CHECKPOINT_AGE {
            match checkpoint(&mut file, &target) {
                Ok(()) => dirty = false,
                Err(e) => tracing::error!(error = %e, "inbox journal checkpoint failed"),
            }
            since_checkpoint = Instant::now();
        }
    }
}

fn write_batch(file: &mut File, target: &Target, jobs: &[Job]) -> Result<(), String> {
    let mut buf = Vec::with_capacity(jobs.len() * 512);
    for job in jobs {
        serde_json::to_writer(&mut buf, &job.record).map_err(|e| e.to_string())?;
        buf.push(b'\n');
    }
    file.write_all(&buf).map_err(|e| e.to_string())?;
    file.sync_data().map_err(|e| e.to_string())?;
    for job in jobs {
        apply(target, &job.record, false).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Records the event in sled (not flushed: the journal holds it until a checkpoint).
///
/// The inbox entry goes first: sled recovers a prefix of its log, so if the `seen` mark
/// survived a crash the inbox entry (or its later removal by processing) did too, and
/// replay may safely skip every record whose mark is present.
///
/// A send result is written like `Store::outbox_save`; on replay only over an entry
/// that is still pending (a later change, such as an admin's retry, is not undone).
fn apply(target: &Target, record: &Record, replaying: bool) -> Result<(), StoreError> {
    if let Some(entry) = &record.entry {
        target.inbox.insert(u64_key(record.seq), super::to_json(entry))?;
        target.seen.insert(entry.dedupe_key.as_bytes(), &entry.received_at_ms.to_be_bytes())?;
    }
    if let Some(result) = &record.result {
        target.outbox.save(result, replaying)?;
    }
    Ok(())
}

/// Replays what sled lacks. A torn last record (no final newline: the crash hit the
/// write, so it was never acknowledged) is cut off with a warning. A record that does
/// not read in the middle of the file is an acknowledged event we cannot read: start-up
/// stops with its offset and the command to remove it, rather than dropping it.
fn replay(file: &mut File, path: &Path, target: &Target) -> Result<usize, StoreError> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    std::io::Read::read_to_end(file, &mut bytes)?;
    let mut replayed = 0;
    let mut offset = 0usize;
    let mut line_no = 0usize;
    while offset < bytes.len() {
        line_no += 1;
        let rest = &bytes[offset..];
        let (line, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => (&rest[..end], true),
            None => (rest, false),
        };
        if !complete {
            tracing::warn!(
                offset,
                bytes = line.len(),
                "inbox journal ends with a torn record (crash mid-write, never acknowledged); truncating it"
            );
            file.set_len(offset as u64)?;
            file.sync_all()?;
            break;
        }
        if !line.is_empty() {
            let record =
                serde_json::from_slice::<Record>(line).map_err(|e| StoreError::JournalCorrupt {
                    path: path.to_owned(),
                    offset,
                    line: line_no,
                    reason: e.to_string(),
                })?;
            let missing = match &record.entry {
                Some(entry) => target.seen.get(entry.dedupe_key.as_bytes())?.is_none(),
                None => record.result.is_some(),
            };
            if missing {
                apply(target, &record, true)?;
                replayed += 1;
            }
        }
        offset += line.len() + 1;
    }
    Ok(replayed)
}

/// Makes sled durable, then empties the journal. Only the writer thread calls this,
/// so no record can slip in between.
fn checkpoint(file: &mut File, target: &Target) -> Result<(), StoreError> {
    target.db.flush()?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> InboxEntry {
        InboxEntry {
            dedupe_key: key.into(),
            user_id: "u".into(),
            event: serde_json::json!({}),
            received_at_ms: 1,
            failure: None,
        }
    }

    fn target() -> Target {
        let db = sled::Config::new().temporary(true).open().unwrap();
        Target {
            seen: db.open_tree("seen").unwrap(),
            inbox: db.open_tree("inbox").unwrap(),
            outbox: super::super::outbox::OutboxTrees::open(&db).unwrap(),
            db,
        }
    }

    fn line(seq: u64, key: &str) -> String {
        serde_json::to_string(&Record { seq, entry: Some(entry(key)), result: None }).unwrap()
            + "\n"
    }

    #[test]
    fn a_replayed_send_result_marks_a_pending_entry_but_never_undoes_a_later_change() {
        use super::super::{OutboxEntry, OutboxStatus};
        let dir = tempfile::tempdir().unwrap();
        let target = target();
        let entry = |id, status| OutboxEntry {
            id,
            user_id: "u".into(),
            message: serde_json::json!({"text": "x"}),
            status,
            attempts: 0,
            created_at_ms: 1,
            next_attempt_ms: 1,
            last_error: None,
            sent_at_ms: None,
            zalo_message_id: None,
        };
        // Entry 1 is pending in sled; entry 2 was failed and then retried by an admin
        // (pending again, written to sled directly); entry 3 is gone (user withdrew).
        target.outbox.save_new(&entry(1, OutboxStatus::Pending));
        target.outbox.save_new(&entry(2, OutboxStatus::Failed));
        let result = |e: OutboxEntry| {
            serde_json::to_string(&Record { seq: 0, entry: None, result: Some(e) }).unwrap() + "\n"
        };
        let path = dir.path().join("j");
        let text = result(entry(1, OutboxStatus::Sent))
            + &result(entry(2, OutboxStatus::Sent))
            + &result(entry(3, OutboxStatus::Sent));
        std::fs::write(&path, text).unwrap();
        let mut file = OpenOptions::new().read(true).append(true).open(&path).unwrap();
        replay(&mut file, &path, &target).unwrap();
        let status = |id| target.outbox.get(id).map(|e| e.status);
        assert_eq!(status(1), Some(OutboxStatus::Sent));
        assert_eq!(status(2), Some(OutboxStatus::Failed), "not undone");
        assert_eq!(status(3), None, "not brought back");
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
        let mut file = OpenOptions::new().read(true).append(true).open(&path).unwrap();
        assert_eq!(replay(&mut file, &path, &target).unwrap(), 1);
        assert!(target.inbox.get(u64_key(2)).unwrap().is_some());
        assert!(target.inbox.get(u64_key(1)).unwrap().is_none());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), good, "torn tail cut off");
    }

    #[test]
    fn an_unreadable_record_in_the_middle_stops_start_up_with_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let target = target();
        let path = dir.path().join("j");
        let first = line(1, "a");
        std::fs::write(&path, first.clone() + "garbage\n" + &line(3, "c")).unwrap();
        let mut file = OpenOptions::new().read(true).append(true).open(&path).unwrap();
        let err = replay(&mut file, &path, &target).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&format!("offset {}", first.len())), "{message}");
        assert!(message.contains("sed -i '2d'"), "{message}");
        // Nothing after the bad record was skipped silently, and the file is untouched.
        assert!(target.inbox.get(u64_key(3)).unwrap().is_none());
        assert!(std::fs::read_to_string(&path).unwrap().contains("garbage"));
    }
}
