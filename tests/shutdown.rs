//! A deploy loses nothing and repeats nothing: the real binary under steady load gets
//! SIGTERM while sends are in flight (the fake Zalo answers slowly, like real Zalo),
//! exits 0 within the grace period, restarts on the same store, and every
//! acknowledged message gets its replies exactly once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cnscd_bot::zalo::fake::FakeZalo;
use common::process::Service;
use common::*;
use tokio::sync::Mutex;

const USERS: usize = 12;

/// Waits until `user` has `n` messages and nothing more arrives for a moment.
async fn settled_count(fake: &FakeZalo, user: &str, n: usize) -> usize {
    for _ in 0..300 {
        if fake.messages_for(user).len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    fake.messages_for(user).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_exits_cleanly_and_every_reply_goes_out_exactly_once() {
    let fake = FakeZalo::new(APP_SECRET, "access-0", "refresh-0");
    let base = fake.serve_loopback().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let env = [("CNSCD__ZALO__SEND_CONCURRENCY", "8")];
    let service = Arc::new(Service::start(&base, &base, &store, &env).await);

    // How many replies one "menu" turn produces (the same on every turn).
    service.say("warm", "warm-1", "menu").await;
    let per_turn = settled_count(&fake, "warm", 1).await;
    service.say("warm", "warm-2", "menu").await;
    assert_eq!(settled_count(&fake, "warm", 2 * per_turn).await, 2 * per_turn);

    // Sends now take 150 ms each: at SIGTERM several are in flight.
    fake.set_latency(Duration::from_millis(150));
    let acked: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let unacked: Arc<Mutex<Vec<String>>> = Arc::default();
    let running = Arc::new(AtomicBool::new(true));
    let mut load = Vec::new();
    for u in 0..USERS {
        let (service, acked, unacked, running) =
            (service.clone(), acked.clone(), unacked.clone(), running.clone());
        load.push(tokio::spawn(async move {
            let mut turn = 0;
            while running.load(Ordering::Relaxed) {
                let body =
                    text_event(&format!("77000000000000{u:04}"), &format!("t-{u}-{turn}"), "menu");
                match service.try_post_signed(&body).await {
                    Some(200) => acked.lock().await.push((u, body)),
                    _ => unacked.lock().await.push(body),
                }
                turn += 1;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // On a busy machine the workers may lag: stop only once replies are flowing, so that
    // sends are in flight at SIGTERM.
    for _ in 0..150 {
        if fake.messages().len() >= 2 * per_turn + 16 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent_before = fake.messages().len();
    let started = std::time::Instant::now();
    service.sigterm();
    // Zalo keeps posting during the stop: those get no 200 and are re-sent later.
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.store(false, Ordering::Relaxed);
    for task in load {
        let _ = task.await;
    }
    let service = Arc::try_unwrap(service).ok().expect("load finished");
    let status = tokio::task::spawn_blocking(move || service.wait_exit(Duration::from_secs(15)))
        .await
        .unwrap();
    let took = started.elapsed();
    let status = status.expect("exited within 15 s");
    assert!(status.success(), "exit status {status:?}");
    assert!(took < Duration::from_secs(10), "stopped in {took:?}");
    assert!(fake.messages().len() > sent_before, "sends were in flight during the stop");

    // Restart on the same store; Zalo re-sends what got no 200.
    fake.set_latency(Duration::ZERO);
    let service = Service::start(&base, &base, &store, &env).await;
    for body in unacked.lock().await.iter() {
        assert_eq!(service.post_signed(body).await, 200);
    }
    let acked = acked.lock().await.clone();
    let unacked_n = unacked.lock().await.len();
    let mut turns = [0usize; USERS];
    for (u, _) in &acked {
        turns[*u] += 1;
    }
    // Re-sent events count too: every event Zalo delivered is answered once.
    for body in unacked.lock().await.iter() {
        let user: serde_json::Value = serde_json::from_str(body).unwrap();
        let id = user["sender"]["id"].as_str().unwrap();
        let u: usize = id[id.len() - 4..].parse().unwrap();
        turns[u] += 1;
    }
    let mut wrong = Vec::new();
    for (u, n) in turns.iter().enumerate() {
        let user = format!("77000000000000{u:04}");
        let got = settled_count(&fake, &user, n * per_turn).await;
        if got != n * per_turn {
            wrong.push((user, n * per_turn, got));
        }
    }
    eprintln!(
        "shutdown under load: {} acknowledged, {} re-sent after restart, stop took {took:?}, {} users with a wrong count",
        acked.len(),
        unacked_n,
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "users with missing or repeated replies (user, want, got): {wrong:?}"
    );
}
