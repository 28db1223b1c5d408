//! Group commit: concurrent `flush` callers share one fsync.
//!
//! Every acknowledged webhook must be on disk, but an fsync per request would cap
//! throughput at the disk's sync rate. Callers park a oneshot in a channel; one
//! dedicated thread drains all waiters, flushes once (blocking) and wakes them all.
//! A plain thread rather than `sled::Db::flush_async`: the latter hands every call to
//! sled's own thread pool, and the thread churn cost more than the fsync itself.

use std::sync::mpsc;

use tokio::sync::oneshot;

use super::StoreError;

type Waiter = oneshot::Sender<Result<(), String>>;

#[derive(Clone)]
pub struct Flusher {
    tx: mpsc::Sender<Waiter>,
}

impl Flusher {
    pub fn new(db: sled::Db) -> Flusher {
        let (tx, rx) = mpsc::channel::<Waiter>();
        let spawned = std::thread::Builder::new().name("store-flusher".into()).spawn(move || {
            // Ends when every `Flusher` (and so every `Store`) is dropped.
            while let Ok(first) = rx.recv() {
                let mut waiters = vec![first];
                waiters.extend(rx.try_iter());
                let started = std::time::Instant::now();
                let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
                metrics::histogram!("cnscd_store_flush_seconds")
                    .record(started.elapsed().as_secs_f64());
                if let Err(e) = &result {
                    tracing::error!(error = %e, "store flush failed");
                }
                for waiter in waiters {
                    let _ = waiter.send(result.clone());
                }
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the store flusher thread");
        }
        Flusher { tx }
    }

    pub async fn flush(&self) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.tx.send(done).map_err(|_| StoreError::FlushAborted)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => {
                Err(StoreError::Sled(sled::Error::Io(std::io::Error::other(message))))
            }
            Err(_) => Err(StoreError::FlushAborted),
        }
    }
}
