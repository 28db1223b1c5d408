//! Retention: every tree that grows with traffic is pruned by age, off the async
//! runtime, in bounded steps (a step holds no lock and touches at most `STEP` keys, so
//! pruning a large store never stalls a webhook or a worker).
//!
//! | tree     | dropped when older than                           |
//! |----------|---------------------------------------------------|
//! | `seen`   | `store.dedupe_hours` (the replay window)          |
//! | `outbox` | sent: `sent_retention_days`; failed: `failed_retention_days` |
//! | `dead`   | `failed_retention_days`                           |
//! | `once`   | 400 days (longer than any period a reminder is about) |

use crate::calendar::UnixMs;
use std::time::Duration;

use super::keys;
use super::{InboxEntry, OutboxEntry, OutboxStatus, Store, StoreError, from_json};
use crate::clock::Clock;
use crate::shutdown::Shutdown;

/// Keys examined per blocking step.
const STEP: usize = 2_000;
/// `once` keys (reminder already sent for a period) are kept this long: longer than
/// any period a reminder can be about.
const ONCE_MS: i64 = 400 * 86_400_000;

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub dedupe_ms: i64,
    pub sent_ms: i64,
    pub failed_ms: i64,
}

/// Counts of what one full pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub marks: usize,
    pub sent: usize,
    pub failed: usize,
    pub dead: usize,
    pub once: usize,
}

/// Which tree a step works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Seen,
    Outbox,
    Dead,
    Once,
    Done,
}

/// A pass in progress: the tree and the key to continue after.
pub struct Pass {
    phase: Phase,
    after: Option<Vec<u8>>,
    now_ms: i64,
    retention: Retention,
    pub pruned: Pruned,
}

impl Pass {
    pub fn new(UnixMs(now_ms): UnixMs, retention: Retention) -> Pass {
        Pass { phase: Phase::Seen, after: None, now_ms, retention, pruned: Pruned::default() }
    }

    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }
}

impl Store {
    /// One bounded step of a pruning pass. Call until `pass.is_done()`.
    pub fn prune_step(&self, pass: &mut Pass) -> Result<(), StoreError> {
        let (tree, next) = match pass.phase {
            Phase::Seen => (&self.seen, Phase::Outbox),
            Phase::Outbox => (&self.outbox, Phase::Dead),
            Phase::Dead => (&self.dead, Phase::Once),
            Phase::Once => (&self.once, Phase::Done),
            Phase::Done => return Ok(()),
        };
        let iter = match &pass.after {
            Some(after) => tree.range::<&[u8], _>((
                std::ops::Bound::Excluded(after.as_slice()),
                std::ops::Bound::Unbounded,
            )),
            None => tree.iter(),
        };
        let mut seen = 0;
        let now = pass.now_ms;
        let r = pass.retention;
        for item in iter {
            let (key, value) = item?;
            seen += 1;
            match pass.phase {
                Phase::Seen => {
                    if now - be_ms(&value) > r.dedupe_ms {
                        self.seen.remove(&key)?;
                        pass.pruned.marks += 1;
                    }
                }
                Phase::Outbox => {
                    let entry: OutboxEntry = from_json(keys::OUTBOX, &value)?;
                    match entry.status {
                        OutboxStatus::Sent if now - entry.sent_at_ms.unwrap_or(0) > r.sent_ms => {
                            self.outbox.remove(&key)?;
                            pass.pruned.sent += 1;
                        }
                        OutboxStatus::Failed if now - entry.created_at_ms > r.failed_ms => {
                            self.outbox.remove(&key)?;
                            pass.pruned.failed += 1;
                        }
                        _ => {}
                    }
                }
                Phase::Dead => {
                    let entry: InboxEntry = from_json(keys::DEAD, &value)?;
                    if now - entry.received_at_ms > r.failed_ms {
                        self.dead.remove(&key)?;
                        pass.pruned.dead += 1;
                    }
                }
                Phase::Once => {
                    if now - be_ms(&value) > ONCE_MS.max(r.failed_ms) {
                        self.once.remove(&key)?;
                        pass.pruned.once += 1;
                    }
                }
                Phase::Done => {}
            }
            if seen >= STEP {
                pass.after = Some(key.to_vec());
                return Ok(());
            }
        }
        pass.phase = next;
        pass.after = None;
        Ok(())
    }

    /// A whole pass at once (tests, CLI).
    pub fn prune_all(&self, now_ms: UnixMs, retention: Retention) -> Result<Pruned, StoreError> {
        let mut pass = Pass::new(now_ms, retention);
        while !pass.is_done() {
            self.prune_step(&mut pass)?;
        }
        Ok(pass.pruned)
    }
}

fn be_ms(value: &[u8]) -> i64 {
    value.get(..8).and_then(|b| b.try_into().ok()).map(i64::from_be_bytes).unwrap_or(0)
}

/// The hourly pruning task. Each step runs on the blocking pool; between steps it
/// yields, and it stops at the next step boundary once `stop` is triggered.
pub async fn run(store: Store, retention: Retention, clock: Clock, stop: Shutdown) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait() => return,
        }
        let mut pass = Some(Pass::new(clock.now_ms(), retention));
        while let Some(mut p) = pass.take() {
            if stop.is_stopping() {
                return;
            }
            let step_store = store.clone();
            match tokio::task::spawn_blocking(move || step_store.prune_step(&mut p).map(|_| p))
                .await
            {
                Ok(Ok(p)) if p.is_done() => {
                    tracing::debug!(pruned = ?p.pruned, "store pruned");
                }
                Ok(Ok(p)) => pass = Some(p),
                Ok(Err(e)) => tracing::error!(error = %e, "store pruning failed"),
                Err(e) => tracing::error!(error = %e, "store pruning step panicked"),
            }
        }
    }
}
