//! The sender task: drains the durable outbox into the OA API.
//!
//! One user's messages go out in order (the store hands out only a user's oldest
//! pending message, and the next one only once Zalo has answered for it); different
//! users are served concurrently, throttled to the configured rate. Transient failures
//! back off exponentially with jitter; permanent ones are marked failed with Zalo's code
//! and never retried on their own; a rejected token is refreshed once and the send
//! retried once.

use crate::calendar::UnixMs;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use super::client::ZaloClient;
use super::response::{NIGHT_CODE, SendOutcome, is_unreachable_user};
use super::throttle::Throttle;
use super::token::Tokens;
use crate::clock::Clock;
use crate::shutdown::Shutdown;
use crate::store::{OutboxEntry, OutboxStatus, SendError, Store};

#[derive(Debug, Clone)]
pub struct SenderConfig {
    pub rate_per_sec: f64,
    pub concurrency: usize,
    pub max_attempts: u32,
    pub reply_window_days: i64,
}

#[derive(Clone)]
pub struct Sender {
    store: Store,
    client: ZaloClient,
    tokens: Tokens,
    config: SenderConfig,
    /// Woken whenever something is queued, so replies go out at once.
    wake: Arc<Notify>,
    clock: Clock,
}

/// Backoff before attempt `attempts + 1`: 2 s doubling to at most 15 min, ±25 % jitter
/// so a Zalo outage does not end in a thundering herd.
pub fn backoff_ms(attempts: u32, jitter: f64) -> i64 {
    let base = 2_000f64 * 2f64.powi(attempts.saturating_sub(1).min(20) as i32);
    let capped = base.min(15.0 * 60_000.0);
    (capped * (0.75 + 0.5 * jitter.clamp(0.0, 1.0))) as i64
}

/// 06:05 Vietnam time (UTC+7, no daylight saving) after `now_ms`.
pub fn next_morning_ms(UnixMs(now_ms): UnixMs) -> UnixMs {
    const DAY: i64 = 86_400_000;
    const OFFSET: i64 = crate::calendar::UTC_OFFSET_SECS * 1000;
    const MORNING: i64 = 6 * 3_600_000 + 5 * 60_000;
    let local = now_ms + OFFSET;
    let today_morning = local - local.rem_euclid(DAY) + MORNING;
    let next = if today_morning > local { today_morning } else { today_morning + DAY };
    UnixMs(next - OFFSET)
}

impl Sender {
    pub fn new(
        store: Store,
        client: ZaloClient,
        tokens: Tokens,
        config: SenderConfig,
        clock: Clock,
    ) -> Sender {
        let wake = store.sender_wake();
        Sender { store, client, tokens, config, wake, clock }
    }

    /// A handle to wake the sender after queueing messages.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Sends until `stop`: then no new send starts, the sends in flight come back and
    /// their results are recorded and flushed before this returns.
    ///
    /// A pipeline, not batches: each due message is sent as soon as a permit is free and
    /// its step is on disk, and the next scan starts at once, skipping the users whose
    /// head message is still in flight (their next message waits for that result, which
    /// keeps one user's messages in order). Waiting for a whole batch to come back before
    /// looking again made every message queued meanwhile wait a full round.
    pub async fn run(self, stop: Shutdown) {
        let mut throttle = Throttle::new(self.config.rate_per_sec, std::time::Instant::now());
        let permits = Arc::new(Semaphore::new(self.config.concurrency));
        let in_flight: Arc<Mutex<InFlight>> = Default::default();
        let mut sends = JoinSet::new();
        while !stop.is_stopping() {
            while sends.try_join_next().is_some() {}
            let now = self.clock.now_ms();
            let InFlight { sending, settled } = lock(&in_flight).clone();
            let limit = self.config.concurrency * 4;
            let due = match self.store.outbox_due_except(now, limit, &sending, &settled) {
                Ok(due) => due,
                Err(e) => {
                    tracing::error!(error = %e, "reading outbox failed");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.wait() => {}
                    }
                    continue;
                }
            };
            if due.is_empty() {
                tokio::select! {
                    _ = self.idle() => {}
                    _ = stop.wait() => {}
                    Some(_) = sends.join_next(), if !sends.is_empty() => {}
                }
                continue;
            }
            lock(&in_flight).sending.extend(due.iter().map(|e| e.id));
            // The steps that queued these messages must be durable before any of them
            // leaves (otherwise a crash would replay the step and send twice). Steps of
            // processed events are durable through the journal already; anything else
            // written to sled since the last flush (a report, a hand-off, a reminder)
            // is flushed here.
            if self.store.take_unflushed()
                && let Err(e) = self.store.flush().await
            {
                tracing::error!(error = %e, "store flush failed; not sending");
                lock(&in_flight).sending.retain(|id| !due.iter().any(|e| e.id == *id));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            let mut due = due.into_iter();
            for entry in due.by_ref() {
                let permit = tokio::select! {
                    permit = permits.clone().acquire_owned() => permit,
                    _ = stop.wait() => break,
                };
                let Ok(permit) = permit else { break };
                if !self.wait_for_token(&mut throttle, &stop).await {
                    break;
                }
                let (sender, in_flight) = (self.clone(), in_flight.clone());
                // Boxed: the task then holds a pointer, not the whole state of an HTTP
                // call, which tokio would copy as the task starts and ends.
                sends.spawn(Box::pin(async move {
                    let id = entry.id;
                    // The permit is held until the result is on disk: a kill -9 can
                    // repeat at most `concurrency` sends, the ones actually in flight.
                    sender.attempt(entry, &in_flight).await;
                    lock(&in_flight).finish(id);
                    drop(permit);
                    // The user's next message (if any) is now at the head of their queue.
                    sender.wake.notify_one();
                }));
            }
            // Stopping: what was not handed out is sent after the restart.
            let left: Vec<u64> = due.map(|e| e.id).collect();
            lock(&in_flight).sending.retain(|id| !left.contains(id));
        }
        while sends.join_next().await.is_some() {}
        if let Err(e) = self.store.flush().await {
            tracing::error!(error = %e, "final flush of send results failed");
        }
        tracing::info!("sender stopped");
    }

    /// Waits until the rate limit allows one more send; false if stopping meanwhile.
    async fn wait_for_token(&self, throttle: &mut Throttle, stop: &Shutdown) -> bool {
        while let Err(wait) = throttle.take(std::time::Instant::now()) {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait() => return false,
            }
        }
        true
    }

    /// Sleeps until woken, until the next backoff expires, or 30 s at most.
    async fn idle(&self) {
        let now = self.clock.now_ms();
        let wait_ms = match self.store.outbox_next_due_ms() {
            Ok(Some(at)) => (at - now.get()).clamp(10, 30_000),
            _ => 30_000,
        };
        let _ =
            tokio::time::timeout(Duration::from_millis(wait_ms as u64), self.wake.notified()).await;
    }

    #[tracing::instrument(skip_all, fields(outbox_id = entry.id, user = %crate::privacy::mask_id(&entry.user_id)))]
    async fn attempt(&self, mut entry: OutboxEntry, in_flight: &Mutex<InFlight>) {
        let now = self.clock.now_ms();
        metrics::histogram!("cnscd_stage_seconds", "stage" => "dispatched").record(
            (now.get() - entry.next_attempt_ms.max(entry.created_at_ms)).max(0) as f64 / 1000.0,
        );
        let call = std::time::Instant::now();
        let outcome = self.send_with_refresh(&entry, now).await;
        metrics::histogram!("cnscd_send_call_seconds").record(call.elapsed().as_secs_f64());
        // A night refusal does not count as an attempt.
        if !matches!(outcome, SendOutcome::Night { .. }) {
            entry.attempts += 1;
        }
        record_send(&outcome, now.get() - entry.created_at_ms);
        match outcome {
            SendOutcome::Sent { message_id } => {
                entry.status = OutboxStatus::Sent;
                entry.sent_at_ms = Some(self.clock.now_ms().get());
                entry.zalo_message_id = message_id;
                entry.last_error = None;
                tracing::debug!("message sent");
            }
            // Too early, not a failure: try again in the morning.
            SendOutcome::Night { message } => {
                tracing::info!(%message, "message refused at night; retrying after 06:00");
                entry.next_attempt_ms = next_morning_ms(now).get();
                entry.last_error = Some(SendError { code: NIGHT_CODE, message });
            }
            SendOutcome::Permanent { code, message } => {
                tracing::warn!(code, %message, "message failed permanently");
                if is_unreachable_user(code)
                    && let Err(e) = self.store.set_unreachable(&entry.user_id)
                {
                    tracing::error!(error = %e, "marking user unreachable failed");
                }
                entry.status = OutboxStatus::Failed;
                entry.last_error = Some(SendError { code, message });
            }
            SendOutcome::Transient { code, message }
            | SendOutcome::TokenRejected { code, message } => {
                entry.last_error = Some(SendError { code, message: message.clone() });
                if entry.attempts >= self.config.max_attempts {
                    tracing::warn!(code, %message, attempts = entry.attempts, "giving up on message");
                    entry.status = OutboxStatus::Failed;
                } else {
                    let delay = backoff_ms(entry.attempts, fastrand::f64());
                    tracing::info!(code, %message, attempts = entry.attempts, delay_ms = delay, "send failed, will retry");
                    entry.next_attempt_ms = now.plus_ms(delay).get();
                }
            }
        }
        // Recorded as it comes back; concurrent sends (and webhooks) share one fsync.
        // The result takes its place in the journal first; then, if the message is done
        // with, the user's next one may go while this result is being synced (it cannot
        // reach the disk before this one, and this permit is held until then, so a crash
        // still repeats at most `concurrency` sends).
        let (id, done_with) = (entry.id, entry.status != OutboxStatus::Pending);
        let recorded = self.store.outbox_record(entry);
        if done_with {
            lock(in_flight).settle(id);
            self.wake.notify_one();
        }
        if let Err(e) = recorded.await {
            tracing::error!(error = %e, "recording send result failed");
        }
    }

    async fn send_with_refresh(&self, entry: &OutboxEntry, now_ms: UnixMs) -> SendOutcome {
        // The web console's test chat user does not exist on Zalo: its replies are read
        // from the outbox and never sent.
        if entry.user_id.starts_with(super::LOCAL_TEST_USER_PREFIX) {
            return SendOutcome::Sent { message_id: None };
        }
        // Zalo rejects CS messages to users silent for longer than the window (-230);
        // do not spend a call on it.
        let window_ms = self.config.reply_window_days * 86_400_000;
        if let Ok(Some(user)) = self.store.user(&entry.user_id)
            && now_ms.get() - user.last_interaction_ms > window_ms
        {
            return SendOutcome::Permanent {
                code: super::response::code::OUTSIDE_WINDOW,
                message: format!(
                    "not sent: user has not interacted in the last {} days",
                    self.config.reply_window_days
                ),
            };
        }
        let token = match self.tokens.access_token() {
            Ok(token) => token,
            Err(e) => return SendOutcome::Transient { code: 0, message: e.to_string() },
        };
        let outcome = self.client.send_cs(&token, &entry.user_id, entry.message.raw()).await;
        let SendOutcome::TokenRejected { code, message } = outcome else { return outcome };
        tracing::info!(code, %message, "access token rejected; refreshing once");
        match self.tokens.refresh_after_rejection(&token, now_ms.to_secs()).await {
            Ok(fresh) => self.client.send_cs(&fresh, &entry.user_id, entry.message.raw()).await,
            Err(e) => {
                tracing::error!(error = %e, "token refresh failed");
                SendOutcome::TokenRejected {
                    code,
                    message: format!("{message}; refresh failed: {e}"),
                }
            }
        }
    }
}

/// Messages the sender has taken on and whose result is not on disk yet.
#[derive(Default, Clone)]
struct InFlight {
    /// Being sent: the user's next message waits.
    sending: HashSet<u64>,
    /// Sent (or failed for good), the result on its way to disk: the user's next
    /// message may go (`DueIndex::due`).
    settled: HashSet<u64>,
}

impl InFlight {
    /// Moves `id` from sending to settled in one step, so that no scan sees it in
    /// neither set and takes it for a message still to send.
    fn settle(&mut self, id: u64) {
        self.settled.insert(id);
        self.sending.remove(&id);
    }

    /// The result of `id` is on disk (or failed to get there).
    fn finish(&mut self, id: u64) {
        self.sending.remove(&id);
        self.settled.remove(&id);
    }
}

/// The in-flight sets are only touched for inserts and removals, never across an
/// `.await`, so a poisoned lock still holds consistent sets.
fn lock(set: &Mutex<InFlight>) -> MutexGuard<'_, InFlight> {
    set.lock().unwrap_or_else(|p| p.into_inner())
}

/// `cnscd_sends_total{result, code}` and, for delivered messages, the time from queued to
/// sent (`cnscd_stage_seconds{stage="sent"}`).
fn record_send(outcome: &SendOutcome, queued_ms: i64) {
    let (result, code) = match outcome {
        SendOutcome::Sent { .. } => ("sent", 0),
        SendOutcome::Night { .. } => ("night", NIGHT_CODE),
        SendOutcome::Permanent { code, .. } => ("failed", *code),
        SendOutcome::Transient { code, .. } => ("retry", *code),
        SendOutcome::TokenRejected { code, .. } => ("token_rejected", *code),
    };
    metrics::counter!("cnscd_sends_total", "result" => result, "code" => code.to_string())
        .increment(1);
    if result == "sent" {
        metrics::histogram!("cnscd_stage_seconds", "stage" => "sent")
            .record(queued_ms.max(0) as f64 / 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;
    use crate::calendar::UnixMs;

    #[test]
    fn night_refusals_wait_for_the_morning() {
        // Vietnam local times (UTC+7) as unix ms.
        let cases = [
            (1_795_537_800_000, 1_795_561_500_000), // 24/11 23:30 → 25/11 06:05
            (1_795_557_600_000, 1_795_561_500_000), // 25/11 05:00 → 25/11 06:05
            (1_795_564_800_000, 1_795_647_900_000), // 25/11 07:00 → 26/11 06:05
        ];
        for (now, want) in cases {
            assert_eq!(super::next_morning_ms(UnixMs(now)), UnixMs(want), "now {now}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let cases = [
            (1, 0.5, 2_000),
            (2, 0.5, 4_000),
            (3, 0.5, 8_000),
            (30, 0.5, 900_000),
            (1, 0.0, 1_500),
            (1, 1.0, 2_500),
        ];
        for (attempts, jitter, want) in cases {
            assert_eq!(backoff_ms(attempts, jitter), want, "attempts {attempts} jitter {jitter}");
        }
    }
}
