//! Chaos: the real binary under load from 50 users is `kill -9`ed at random moments, five
//! times, and restarted on the same store; events that got no 200 are re-sent, as Zalo
//! does. Every user works in a closed loop (the next message only after the replies to
//! the last), so at the end each acknowledged event must have its replies: none lost, and
//! duplicates bounded by the sends in flight at each kill (delivery is at least once; a
//! graceful stop repeats nothing, see `shutdown.rs`). The figures are printed.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cnscd_bot::zalo::fake::FakeZalo;
use common::process::Service;
use common::*;
use tokio::sync::RwLock;

const USERS: usize = 50;
const KILLS: usize = 5;
const SEND_CONCURRENCY: usize = 8;

/// Posts `body` signed to whatever instance is up; `None` when none answered.
async fn post(base: &RwLock<String>, body: &str) -> Option<u16> {
    let parsed: serde_json::Value = serde_json::from_str(body).unwrap();
    let ts = parsed["timestamp"].as_str().unwrap();
    let mac = cnscd_bot::zalo::signature::sign(APP_ID, body.as_bytes(), ts, OA_SECRET);
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let url = format!("{}/webhook/zalo", base.read().await);
    let response = HTTP
        .get_or_init(reqwest::Client::new)
        .post(url)
        .header("X-ZEvent-Signature", format!("mac={mac}"))
        .body(body.to_owned())
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}

async fn wait_replies(fake: &FakeZalo, user: &str, n: usize, within: Duration) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < within {
        if fake.messages_for(user).len() >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_storm_loses_nothing_and_repeats_at_most_what_was_in_flight() {
    let fake = FakeZalo::new(APP_SECRET, "access-0", "refresh-0");
    let fake_base = fake.serve_loopback().await.unwrap();
    fake.set_latency(Duration::from_millis(20));
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let concurrency = SEND_CONCURRENCY.to_string();
    let env = [("CNSCD__ZALO__SEND_CONCURRENCY", concurrency.as_str())];
    let mut service = Service::start(&fake_base, &fake_base, &store, &env).await;

    // How many messages one "menu" turn produces.
    service.say("warm", "warm-1", "menu").await;
    assert!(wait_replies(&fake, "warm", 1, Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let per_turn = fake.messages_for("warm").len();

    let base = Arc::new(RwLock::new(service.base.clone()));
    let running = Arc::new(AtomicBool::new(true));
    let resent = Arc::new(AtomicUsize::new(0));
    let mut users = Vec::new();
    for u in 0..USERS {
        let (fake, base, running, resent) =
            (fake.clone(), base.clone(), running.clone(), resent.clone());
        users.push(tokio::spawn(async move {
            let user = format!("66000000000000{u:04}");
            let mut acked = 0usize;
            let mut stuck = 0usize;
            while running.load(Ordering::Relaxed) {
                let body = text_event(&user, &format!("c-{u}-{acked}"), "menu");
                // Zalo re-sends an event until it gets a 200.
                while post(&base, &body).await != Some(200) {
                    resent.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                acked += 1;
                if !wait_replies(&fake, &user, acked * per_turn, Duration::from_secs(20)).await {
                    stuck += 1;
                }
            }
            (user, acked, stuck)
        }));
    }

    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.u64(400..1500))).await;
        service.kill9();
        tokio::time::sleep(Duration::from_millis(rng.u64(0..300))).await;
        service = Service::start(&fake_base, &fake_base, &store, &env).await;
        *base.write().await = service.base.clone();
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    running.store(false, Ordering::Relaxed);

    let (mut turns, mut lost, mut duplicates, mut stuck_turns) = (0, 0, 0, 0);
    for task in users {
        let (user, acked, stuck) = task.await.unwrap();
        wait_replies(&fake, &user, acked * per_turn, Duration::from_secs(20)).await;
        let got = fake.messages_for(&user).len();
        let expected = acked * per_turn;
        turns += acked;
        stuck_turns += stuck;
        lost += expected.saturating_sub(got);
        duplicates += got.saturating_sub(expected);
    }
    println!(
        "chaos: {USERS} users, {KILLS} kill -9, {turns} acknowledged turns, {} re-sent posts, \
         {lost} replies lost, {duplicates} duplicate replies, {stuck_turns} turns waited > 20 s",
        resent.load(Ordering::Relaxed)
    );
    assert_eq!(lost, 0, "acknowledged events without their replies");
    assert!(
        duplicates <= KILLS * SEND_CONCURRENCY * per_turn,
        "{duplicates} duplicates: more than the sends in flight at {KILLS} kills"
    );
    assert!(turns >= USERS, "the load ran");
    service.kill9();
}
