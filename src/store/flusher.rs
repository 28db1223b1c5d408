//! Group commit: concurrent `flush` callers share one fsync.
//!
//! Every acknowledged webhook must be on disk, but an fsync per request would cap
//! throughput at the disk's sync rate. Callers park a oneshot in a channel; one task
//! drains all waiters, flushes once and wakes them all.

use tokio::sync::{mpsc, oneshot};

use super::StoreError;

type Waiter = oneshot::Sender<Result<(), String>>;

#[derive(Clone)]
pub struct Flusher {
    db: sled::Db,
    /// `None` outside a tokio runtime (CLI use): flushes are then direct.
    tx: Option<mpsc::UnboundedSender<Waiter>>,
}

impl Flusher {
    pub fn new(db: sled::Db) -> Flusher {
        let tx = tokio::runtime::Handle::try_current().ok().map(|handle| {
            let (tx, rx) = mpsc::unbounded_channel();
            handle.spawn(run(db.clone(), rx));
            tx
        });
        Flusher { db, tx }
    }

    pub async fn flush(&self) -> Result<(), StoreError> {
        let Some(tx) = &self.tx else {
            self.db.flush()?;
            return Ok(());
        };
        let (done, wait) = oneshot::channel();
        tx.send(done).map_err(|_| StoreError::FlushAborted)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => {
                Err(StoreError::Sled(sled::Error::Io(std::io::Error::other(message))))
            }
            Err(_) => Err(StoreError::FlushAborted),
        }
    }
}

async fn run(db: sled::Db, mut rx: mpsc::UnboundedReceiver<Waiter>) {
    while let Some(first) = rx.recv().await {
        let mut waiters = vec![first];
        while let Ok(more) = rx.try_recv() {
            waiters.push(more);
        }
        let result = db.flush_async().await.map(|_| ()).map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(error = %e, "store flush failed");
        }
        for waiter in waiters {
            let _ = waiter.send(result.clone());
        }
    }
}
