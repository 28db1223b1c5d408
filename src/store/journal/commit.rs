//! The journal's group commit, pipelined: the writer thread appends batch after batch
//! to the file while up to `SYNC_THREADS` fdatasyncs of it run at once.
//!
//! Why: with one sync at a time, every webhook, step and send result waited for the
//! sync in progress and then for its own, and the disk sat idle between them. On the
//! 2-vCPU VM of BENCHMARKS.md a lone fdatasync took about 3 ms while three issued
//! together took about 1.1 ms each: the device serves flushes side by side.
//!
//! Why it is still a prefix: an fdatasync returns only once everything written to the
//! file before it was called is on disk, including pages another sync is already
//! writing back. So when the sync issued after batch N was written returns, every batch
//! up to N is durable. Batches are released (applied to sled, their callers answered)
//! strictly in batch order, so callers observe exactly what one sync at a time gave.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};
use std::time::Instant;

use super::{CHECKPOINT_AGE, CHECKPOINT_BYTES, Job, Segments, Target};

/// How many fdatasyncs of the journal may run at once. More did not help in the
/// measurement above (four gave the same per-sync time as three) and each one that
/// waits holds a batch that could have grown instead.
const SYNC_THREADS: usize = 3;

/// A batch written to the file whose callers wait for it to be durable.
struct Batch {
    no: u64,
    jobs: Vec<Job>,
    /// The batch's own sync failed: it is answered with this error.
    failed: Option<String>,
}

struct State {
    /// Written batches not yet released, in batch order.
    pending: VecDeque<Batch>,
    /// The highest batch number whose own sync returned Ok: all batches up to it are
    /// on disk.
    durable: u64,
    /// Sync threads with nothing to do.
    idle: usize,
}

/// What the writer and the sync threads share.
struct Pipeline {
    state: Mutex<State>,
    /// Signalled when a sync thread becomes idle.
    changed: Condvar,
    target: Arc<Target>,
}

impl Pipeline {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a sync thread panicked mid-release; the state it
        // guards (a queue and two counters) is still consistent enough to go on.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Blocks until a sync thread is free and claims it.
    fn claim_sync(&self) {
        let mut state = self.lock();
        while state.idle == 0 {
            state = self.changed.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        state.idle -= 1;
    }

    fn give_back_sync(&self) {
        self.lock().idle += 1;
        self.changed.notify_all();
    }

    /// Blocks until every written batch is released and no sync runs: the file may
    /// then be rotated or truncated.
    fn wait_idle(&self) {
        let mut state = self.lock();
        while state.idle < SYNC_THREADS || !state.pending.is_empty() {
            state = self.changed.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn push(&self, batch: Batch) {
        self.lock().pending.push_back(batch);
    }

    /// Records the outcome of batch `no`'s own sync and releases, in order, every
    /// batch now known durable (or failed).
    fn settle(&self, no: u64, synced: Result<(), String>) {
        let mut state = self.lock();
        match synced {
            Ok(()) => state.durable = state.durable.max(no),
            Err(e) => {
                if let Some(batch) = state.pending.iter_mut().find(|b| b.no == no) {
                    batch.failed = Some(e);
                }
            }
        }
        while let Some(front) = state.pending.front() {
            let outcome = match &front.failed {
                Some(e) => Err(e.clone()),
                None if front.no <= state.durable => Ok(()),
                None => break,
            };
            let Some(batch) = state.pending.pop_front() else { break };
            let outcome = outcome.and_then(|()| super::apply_batch(&self.target, &batch.jobs));
            if let Err(e) = &outcome {
                tracing::error!(error = %e, "inbox journal write failed");
            }
            for job in batch.jobs {
                job.done.send(outcome.clone());
            }
        }
        state.idle += 1;
        drop(state);
        self.changed.notify_all();
    }
}

/// Starts the sync threads and the journal thread, which takes every job waiting as one
/// batch once a sync thread is free, appends it and hands its sync over, and rotates or
/// checkpoints between batches.
pub(super) fn start(
    file: File,
    segments: Segments,
    target: Target,
    rx: mpsc::Receiver<Job>,
) -> std::io::Result<()> {
    let target = Arc::new(target);
    let pipeline = Arc::new(Pipeline {
        state: Mutex::new(State { pending: VecDeque::new(), durable: 0, idle: SYNC_THREADS }),
        changed: Condvar::new(),
        target: target.clone(),
    });
    let (sync_tx, sync_rx) = mpsc::channel::<(u64, Arc<File>)>();
    let sync_rx = Arc::new(Mutex::new(sync_rx));
    for index in 0..SYNC_THREADS {
        let (pipeline, sync_rx) = (pipeline.clone(), sync_rx.clone());
        std::thread::Builder::new()
            .name(format!("journal-sync-{index}"))
            .spawn(move || sync_loop(&pipeline, &sync_rx))?;
    }
    std::thread::Builder::new()
        .name("inbox-journal".into())
        .spawn(move || writer(file, segments, &target, &pipeline, &sync_tx, rx))?;
    Ok(())
}

fn writer(
    file: File,
    mut segments: Segments,
    target: &Target,
    pipeline: &Pipeline,
    sync_tx: &mpsc::Sender<(u64, Arc<File>)>,
    rx: mpsc::Receiver<Job>,
) {
    let mut file = Arc::new(file);
    let mut written = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut since_checkpoint = Instant::now();
    let mut dirty = false;
    let mut next_no = 1u64;
    loop {
        let first = match rx.recv_timeout(CHECKPOINT_AGE) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Idle: checkpoint so the journal does not keep old events around.
                if dirty {
                    pipeline.wait_idle();
                    match segments.checkpoint(&file, target) {
                        Ok(()) => {
                            dirty = false;
                            written = 0;
                        }
                        Err(e) => tracing::error!(error = %e, "inbox journal checkpoint failed"),
                    }
                    since_checkpoint = Instant::now();
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                pipeline.wait_idle();
                return;
            }
        };
        dirty = true;
        pipeline.claim_sync();
        // Everything that arrived while the syncs were busy goes in this one batch.
        let mut jobs = vec![first];
        jobs.extend(rx.try_iter());
        metrics::histogram!("cnscd_journal_batch_events").record(jobs.len() as f64);
        let mut buf = Vec::with_capacity(jobs.iter().map(|j| j.line.len()).sum());
        for job in &jobs {
            buf.extend_from_slice(&job.line);
        }
        match (&*file).write_all(&buf) {
            Ok(()) => {
                written += buf.len() as u64;
                let no = next_no;
                next_no += 1;
                pipeline.push(Batch { no, jobs, failed: None });
                if sync_tx.send((no, file.clone())).is_err() {
                    // Only if every sync thread died: nothing can be made durable.
                    pipeline.settle(no, Err("inbox journal sync threads stopped".into()));
                }
            }
            Err(e) => {
                let e = e.to_string();
                tracing::error!(error = %e, "inbox journal write failed");
                for job in jobs {
                    job.done.send(Err(e.clone()));
                }
                pipeline.give_back_sync();
            }
        }
        if written > CHECKPOINT_BYTES || since_checkpoint.elapsed() > CHECKPOINT_AGE {
            // Rotation needs every record of the file applied to sled first.
            pipeline.wait_idle();
            match segments.rotate(&mut file, target) {
                Ok(true) => written = 0,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "inbox journal rotation failed"),
            }
            since_checkpoint = Instant::now();
        }
    }
}

fn sync_loop(pipeline: &Pipeline, jobs: &Mutex<mpsc::Receiver<(u64, Arc<File>)>>) {
    loop {
        let next = jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv();
        let Ok((no, file)) = next else { return };
        let synced = file.sync_data().map_err(|e| e.to_string());
        drop(file);
        pipeline.settle(no, synced);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Apply, Done};
    use super::*;

    fn pipeline() -> Pipeline {
        Pipeline {
            state: Mutex::new(State { pending: VecDeque::new(), durable: 0, idle: SYNC_THREADS }),
            changed: Condvar::new(),
            target: Arc::new(super::super::tests::target()),
        }
    }

    /// Pushes batch `no` (one job) as the writer does and returns how its caller waits.
    fn written(pipeline: &Pipeline, no: u64) -> mpsc::Receiver<Result<(), String>> {
        pipeline.claim_sync();
        let (done, wait) = mpsc::sync_channel(1);
        let job = Job { line: Vec::new(), apply: Apply::Nothing, done: Done::Blocking(done) };
        pipeline.push(Batch { no, jobs: vec![job], failed: None });
        wait
    }

    #[test]
    fn batches_are_released_in_order_once_a_later_sync_covers_them() {
        let pipeline = pipeline();
        let (one, two, three) =
            (written(&pipeline, 1), written(&pipeline, 2), written(&pipeline, 3));
        assert_eq!(pipeline.lock().idle, 0, "every sync thread busy");
        // Batch 2's sync returns first: it covers batch 1, written before it.
        pipeline.settle(2, Ok(()));
        assert_eq!(one.try_recv(), Ok(Ok(())));
        assert_eq!(two.try_recv(), Ok(Ok(())));
        assert!(three.try_recv().is_err(), "batch 3 waits for a sync issued after it");
        // Batch 1's own sync comes back late: nothing left to release, one more idle.
        pipeline.settle(1, Ok(()));
        assert!(three.try_recv().is_err());
        pipeline.settle(3, Ok(()));
        assert_eq!(three.try_recv(), Ok(Ok(())));
        assert_eq!(pipeline.lock().idle, SYNC_THREADS);
        assert!(pipeline.lock().pending.is_empty());
    }

    #[test]
    fn a_failed_sync_fails_its_own_batch_and_holds_back_none_after_it() {
        let pipeline = pipeline();
        let (one, two) = (written(&pipeline, 1), written(&pipeline, 2));
        pipeline.settle(1, Err("disk gone".into()));
        assert_eq!(one.try_recv(), Ok(Err("disk gone".into())));
        assert!(two.try_recv().is_err(), "batch 2 is not known durable yet");
        pipeline.settle(2, Ok(()));
        assert_eq!(two.try_recv(), Ok(Ok(())));
    }

    #[test]
    fn appends_from_many_threads_all_come_back_durable_and_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let target = super::super::tests::target();
        let seen = target.seen.clone();
        let journal = super::super::Journal::open(&path, target).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        rt.block_on(async {
            let mut tasks = Vec::new();
            for n in 0..400u64 {
                let journal = journal.clone();
                tasks.push(tokio::spawn(async move {
                    let entry = super::super::tests::entry(&format!("k{n}"));
                    journal.append(n + 1, &entry).await
                }));
            }
            for task in tasks {
                task.await.unwrap().unwrap();
            }
        });
        // Every acknowledged event was applied to sled and is a line of the file.
        let text = std::fs::read_to_string(&path).unwrap();
        for n in 0..400u64 {
            assert!(seen.get(format!("k{n}")).unwrap().is_some(), "k{n} applied");
            assert!(text.contains(&format!("\"dedupe_key\":\"k{n}\"")), "k{n} in the file");
        }
    }
}
