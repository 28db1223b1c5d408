//! From the durable inbox to the conversation workers.
//!
//! Events of one user are handled one at a time, in arrival order; different users in
//! parallel. Each user id hashes to one of N shard workers, each a single thread reading
//! its channel in order — so nobody may spawn a task per event. The workers are OS
//! threads, not tokio tasks: processing is synchronous store and engine work, and on a
//! 2-core machine it must not occupy the runtime threads that answer webhooks. On start-up the
//! inbox is replayed in order before the server accepts requests, so work a crash left
//! unfinished resumes first.

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use std::sync::mpsc;

use crate::conversation::Conversation;
use crate::error::ApiError;
use crate::shutdown::Shutdown;
use crate::store::{InboxEntry, IngestOutcome, OnRecorded, Store};

/// Records webhook events and hands them to the workers. Cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    store: Store,
    /// Each event goes to its worker with its entry, so the worker need not read it back.
    shards: Arc<Vec<mpsc::Sender<(u64, InboxEntry)>>>,
    /// `cnscd_inbox_depth{shard}`, one handle per shard, registered once (not per event).
    depth: Arc<Vec<metrics::Gauge>>,
    /// `workers.paused`: record events but leave them in the inbox.
    paused: bool,
}

impl Ingest {
    /// Durably records the event, then queues it. Answers only after the flush.
    ///
    /// Runs to the end even if the caller goes away: Zalo hangs up on a slow answer and
    /// delivers again, and by then the first delivery may be on disk. Had the hang-up
    /// also cancelled the hand-off to the worker, the re-delivery would be dropped as a
    /// duplicate and the citizen left unanswered until the next restart.
    pub async fn accept(&self, entry: InboxEntry) -> Result<IngestOutcome, ApiError> {
        let this = self.clone();
        tokio::spawn(async move { this.record_and_dispatch(entry).await })
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?
    }

    /// The store hands the event to its worker as soon as it is in the inbox, before
    /// its journal line is synced (`Store::ingest_durable_then` says why that is safe);
    /// the webhook is answered once it is synced.
    async fn record_and_dispatch(&self, entry: InboxEntry) -> Result<IngestOutcome, ApiError> {
        let then: Option<OnRecorded> = (!self.paused).then(|| {
            let (shards, depth) = (self.shards.clone(), self.depth.clone());
            Box::new(move |seq, entry| dispatch(&shards, &depth, seq, entry)) as OnRecorded
        });
        self.store
            .ingest_durable_then(entry, then)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))
    }
}

/// Queues the event for the worker of its user.
fn dispatch(
    shards: &[mpsc::Sender<(u64, InboxEntry)>],
    depth: &[metrics::Gauge],
    seq: u64,
    entry: InboxEntry,
) {
    let shard = shard_of(&entry.user_id, shards.len());
    depth[shard].increment(1.0);
    if shards[shard].send((seq, entry)).is_err() {
        // Only during shutdown; the entry stays in the inbox for the next start.
        tracing::warn!(seq, "worker gone; event left in the inbox");
    }
}

impl crate::zalo::webhook::EventSink for Ingest {
    fn accept(
        &self,
        entry: InboxEntry,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<IngestOutcome, ApiError>> + Send + '_>> {
        Box::pin(Ingest::accept(self, entry))
    }
}

fn shard_of(user_id: &str, shards: usize) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    user_id.hash(&mut hasher);
    (hasher.finish() % shards.max(1) as u64) as usize
}

/// Starts the workers and replays the inbox. Call before serving HTTP. On `stop` each
/// worker finishes the event in hand and exits; what is still queued stays in the
/// durable inbox and is replayed on the next start.
pub fn start(
    store: Store,
    conversation: Conversation,
    shards: usize,
    paused: bool,
    stop: &Shutdown,
) -> anyhow::Result<Ingest> {
    let mut senders = Vec::with_capacity(shards);
    let mut depth = Vec::with_capacity(shards);
    for shard in 0..shards {
        let (tx, rx) = mpsc::channel();
        senders.push(tx);
        let gauge = metrics::gauge!("cnscd_inbox_depth", "shard" => shard.to_string());
        depth.push(gauge.clone());
        let conversation = conversation.clone();
        let worker_stop = stop.clone();
        let handle = std::thread::Builder::new()
            .name(format!("conversation-{shard}"))
            .spawn(move || worker(shard, rx, conversation, worker_stop, gauge))?;
        stop.track_thread(handle);
    }
    let ingest =
        Ingest { store: store.clone(), shards: Arc::new(senders), depth: Arc::new(depth), paused };
    if paused {
        tracing::warn!(
            "workers.paused: events are recorded but not answered until restarted unpaused"
        );
        return Ok(ingest);
    }
    let pending = store.inbox_pending()?;
    if !pending.is_empty() {
        tracing::info!(events = pending.len(), "resuming unfinished events from the inbox");
    }
    for (seq, entry) in pending {
        dispatch(&ingest.shards, &ingest.depth, seq, entry);
    }
    Ok(ingest)
}

fn worker(
    shard: usize,
    rx: mpsc::Receiver<(u64, InboxEntry)>,
    conversation: Conversation,
    stop: Shutdown,
    depth: metrics::Gauge,
) {
    lower_thread_priority();
    let processed = metrics::histogram!("cnscd_stage_seconds", "stage" => "processed");
    loop {
        if stop.is_stopping() {
            return;
        }
        let (seq, entry) = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        depth.decrement(1.0);
        let started = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            // A failed attempt may have completed the step before it failed.
            if attempt > 1 && !conversation.still_pending(seq).unwrap_or(true) {
                break;
            }
            match conversation.process(seq, &entry) {
                Ok(()) => break,
                Err(e) if attempt < 3 => {
                    tracing::warn!(
                        shard,
                        seq,
                        attempt,
                        error = format!("{e:#}"),
                        "processing failed; retrying"
                    );
                    std::thread::sleep(Duration::from_millis(200 * attempt));
                }
                Err(e) => {
                    let reason = format!("{e:#}");
                    tracing::error!(shard, seq, error = %reason, "processing failed; moving event aside");
                    if let Err(e) = conversation.bury(seq, &reason) {
                        tracing::error!(seq, error = %e, "could not move failed event aside");
                    }
                    break;
                }
            }
        }
        processed.record(started.elapsed().as_secs_f64());
    }
}

/// Background work (processing, sending) runs at a lower CPU priority than the threads
/// that answer webhooks: under a burst, acknowledging fast matters more than replying
/// a few milliseconds sooner, and the backlog is durable. Relative to the process's own
/// priority (+5), so a service started with `nice` keeps the same ordering inside.
/// Linux only; a no-op elsewhere.
pub fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread's own id; no memory is shared.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        // getpriority can legitimately return -1; errno tells, but a failure here only
        // means starting from 0, which is the common case anyway.
        let current = libc::getpriority(libc::PRIO_PROCESS, tid);
        let lower = (current + 5).clamp(-20, 19);
        if libc::setpriority(libc::PRIO_PROCESS, tid, lower) != 0 {
            tracing::debug!("could not lower background thread priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::shard_of;

    #[test]
    fn a_user_always_maps_to_the_same_shard() {
        for user in ["1", "246845883529197922", "abc"] {
            let s = shard_of(user, 16);
            assert!(s < 16);
            assert_eq!(s, shard_of(user, 16));
        }
        assert_eq!(shard_of("x", 1), 0);
    }
}
