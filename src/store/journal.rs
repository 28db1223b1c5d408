//! The inbox journal: how a webhook becomes durable cheaply.
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

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::keys::u64_key;
use super::{InboxEntry, StoreError};

/// Checkpoint when the journal grows past this size or age.
const CHECKPOINT_BYTES: u64 = 4 << 20;
const CHECKPOINT_AGE: Duration = Duration::from_secs(5);

#[derive(Serialize, Deserialize)]
struct Record {
    seq: u64,
    entry: InboxEntry,
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

    /// Appends and syncs the record, then applies it to sled. Returns once durable.
    pub async fn append(&self, seq: u64, entry: InboxEntry) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job { record: Record { seq, entry }, done })
            .map_err(|_| StoreError::FlushAborted)?;
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
        apply(target, &job.record).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Records the event in sled (not flushed: the journal holds it until a checkpoint).
///
/// The inbox entry goes first: sled recovers a prefix of its log, so if the `seen` mark
/// survived a crash the inbox entry (or its later removal by processing) did too, and
/// replay may safely skip every record whose mark is present.
fn apply(target: &Target, record: &Record) -> Result<(), StoreError> {
    target.inbox.insert(u64_key(record.seq), super::to_json(&record.entry))?;
    let key = record.entry.dedupe_key.as_bytes();
    target.seen.insert(key, &record.entry.received_at_ms.to_be_bytes())?;
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
            if target.seen.get(record.entry.dedupe_key.as_bytes())?.is_none() {
                apply(target, &record)?;
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
        Target { seen: db.open_tree("seen").unwrap(), inbox: db.open_tree("inbox").unwrap(), db }
    }

    fn line(seq: u64, key: &str) -> String {
        serde_json::to_string(&Record { seq, entry: entry(key) }).unwrap() + "\n"
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
