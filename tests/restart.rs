//! Crash safety with a real process: `kill -9` right after the webhook answered 200
//! loses nothing, and the rotated token pair outlives the process.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use cnscd_bot::zalo::fake::FakeZalo;
use common::process::Service;
use common::*;

#[tokio::test]
async fn kill_9_after_ack_loses_no_event_and_duplicates_nothing() {
    let fake = FakeZalo::new(APP_SECRET, "access-0", "refresh-0");
    let fake_base = fake.serve_loopback().await.unwrap();
    // A port nobody listens on: the first run cannot send anything.
    let dead = format!(
        "http://127.0.0.1:{}",
        TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    );
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");

    let service = Service::start(&dead, &dead, &store, &[]).await;
    let users: Vec<String> = (0..20).map(|i| format!("90000000000000{i:04}")).collect();
    let mut bodies = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let body = text_event(user, &format!("crash-{i}"), "menu");
        assert_eq!(service.post_signed(&body).await, 200);
        bodies.push(body);
    }
    service.kill9();

    let service = Service::start(&fake_base, &fake_base, &store, &[]).await;
    for user in &users {
        assert!(
            !wait_for(&fake, user, 1).await.is_empty(),
            "user {user} got no reply after the crash"
        );
    }
    // Zalo re-sends after the outage: still deduplicated across the restart.
    assert_eq!(service.post_signed(&bodies[0]).await, 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let counts: Vec<usize> = users.iter().map(|u| fake.messages_for(u).len()).collect();
    assert!(
        counts.iter().all(|&c| c == counts[0]),
        "every user got the same single reply set: {counts:?}"
    );
}

#[tokio::test]
async fn rotated_refresh_token_survives_kill_9() {
    let fake = FakeZalo::new(APP_SECRET, "access-0", "refresh-0");
    let base = fake.serve_loopback().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");

    let service = Service::start(&base, &base, &store, &[]).await;
    fake.expire_access_token();
    assert_eq!(service.post_signed(&text_event("500", "r-1", "menu")).await, 200);
    assert!(!wait_for(&fake, "500", 1).await.is_empty());
    assert_eq!(fake.refresh_calls(), 1);
    service.kill9();

    // The settings still carry the original seed ("refresh-0", now dead at Zalo); the
    // restarted service must use the rotated pair from its store.
    let service = Service::start(&base, &base, &store, &[]).await;
    let before = fake.messages_for("501").len();
    assert_eq!(service.post_signed(&text_event("501", "r-2", "menu")).await, 200);
    assert!(
        wait_for(&fake, "501", before + 1).await.len() > before,
        "stored access token works after restart"
    );
    assert_eq!(fake.refresh_calls(), 1, "no refresh needed");

    fake.expire_access_token();
    assert_eq!(service.post_signed(&text_event("502", "r-3", "menu")).await, 200);
    assert!(
        !wait_for(&fake, "502", 1).await.is_empty(),
        "refresh with the rotated token succeeded"
    );
    assert_eq!(fake.refresh_calls(), 2);
}
