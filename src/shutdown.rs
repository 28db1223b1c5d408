//! Graceful stop: one signal every background part watches, and the order they stop in.
//!
//! On SIGTERM/SIGINT (`App::run`): the HTTP server stops accepting and lets in-flight
//! requests finish; the shard workers finish the event in hand and leave the rest in the
//! durable inbox; the sender lets the sends in flight come back and records each
//! result; reminders, pruning and token refresh stop at their next wait (a refresh
//! already talking to Zalo completes, so the single-use refresh chain is never cut);
//! finally the store is flushed. All of it within `server.shutdown_grace_secs`.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle as ThreadHandle;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle as TaskHandle;

/// The stop signal. Cheap to clone; clones share the flag.
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    stopping: AtomicBool,
    notify: Notify,
    threads: Mutex<Vec<ThreadHandle<()>>>,
    tasks: Mutex<Vec<TaskHandle<()>>>,
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Starts the stop. Idempotent.
    pub fn trigger(&self) {
        if !self.inner.stopping.swap(true, Ordering::SeqCst) {
            tracing::info!("stopping: finishing work in hand");
        }
        self.inner.notify.notify_waiters();
    }

    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// Completes once `trigger` was called (at once if it already was).
    pub async fn wait(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_stopping() {
                return;
            }
            notified.await;
        }
    }

    /// A background thread that exits by itself once `is_stopping`; joined on stop.
    pub fn track_thread(&self, handle: ThreadHandle<()>) {
        self.inner.threads.lock().unwrap_or_else(|p| p.into_inner()).push(handle);
    }

    /// A background task that returns by itself once `is_stopping`; awaited on stop.
    pub fn track_task(&self, handle: TaskHandle<()>) {
        self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()).push(handle);
    }

    /// Triggers the stop and waits for every tracked thread and task, at most `within`.
    /// Returns false when something was still running at the deadline.
    pub async fn drain(&self, within: Duration) -> bool {
        self.trigger();
        let threads =
            std::mem::take(&mut *self.inner.threads.lock().unwrap_or_else(|p| p.into_inner()));
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        let all = async move {
            for task in tasks {
                let _ = task.await;
            }
            let joined = tokio::task::spawn_blocking(move || {
                for thread in threads {
                    let name = thread.thread().name().map(str::to_owned);
                    if thread.join().is_err() {
                        tracing::error!(thread = ?name, "background thread panicked");
                    }
                }
            });
            let _ = joined.await;
        };
        tokio::time::timeout(within, all).await.is_ok()
    }
}

/// Runs `pass` off the async runtime every `every` (a missed tick waits, never bursts);
/// when a pass queued messages, wakes the sender. `what` names the pass in the logs. The
/// reminders and the hand-off scheduler both run this way; the caller stops the task.
pub fn spawn_periodic<F>(
    what: &'static str,
    every: Duration,
    sender_wake: Arc<Notify>,
    pass: F,
) -> TaskHandle<()>
where
    F: Fn() -> anyhow::Result<usize> + Clone + Send + Sync + 'static,
{
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match tokio::task::spawn_blocking(pass.clone()).await {
                Ok(Ok(0)) => {}
                Ok(Ok(queued)) => {
                    tracing::info!(queued, "{what}: messages queued");
                    sender_wake.notify_one();
                }
                Ok(Err(e)) => tracing::warn!(error = format!("{e:#}"), "{what} failed"),
                Err(e) => tracing::warn!(error = %e, "{what} panicked"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_returns_after_trigger_and_drain_joins_threads() {
        let stop = Shutdown::new();
        let waiter = tokio::spawn({
            let stop = stop.clone();
            async move { stop.wait().await }
        });
        let flag = stop.clone();
        stop.track_thread(std::thread::spawn(move || {
            while !flag.is_stopping() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }));
        assert!(stop.drain(Duration::from_secs(5)).await);
        waiter.await.unwrap();
        // Already stopped: returns at once.
        stop.wait().await;
    }

    #[tokio::test]
    async fn drain_reports_a_thread_that_overruns_the_bound() {
        let stop = Shutdown::new();
        stop.track_thread(std::thread::spawn(|| std::thread::sleep(Duration::from_millis(500))));
        assert!(!stop.drain(Duration::from_millis(50)).await);
    }
}
