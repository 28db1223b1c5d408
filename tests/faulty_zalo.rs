//! A faulty Zalo: 5xx, rate limits (-32), an expired token (-216), a user outside the
//! window (-230), one who unfollowed (-213), and a stretch where every call times out.
//! Every reply must end delivered or failed with Zalo's own code, nothing stays pending,
//! and the expired token is refreshed exactly once (the refresh-token chain unbroken).

mod common;

use std::time::Duration;

use cnscd_bot::zalo::fake::FakeFailure;
use common::*;
use serde_json::Value;

const USERS: usize = 8;

async fn outbox(app: &TestApp, status: &str) -> Vec<Value> {
    let body: Value =
        app.admin_get(&format!("/admin/api/outbox?status={status}")).await.json().await.unwrap();
    body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reply_ends_delivered_or_failed_with_zalos_code() {
    let app = spawn_app_with(|s| s.zalo.request_timeout_secs = 1).await;
    // One "menu" turn, delivered cleanly, to know how many messages a turn makes.
    app.user_says("warm", "warm-1", "menu").await;
    let per_turn = wait_settled(&app.fake, "warm").await.len();

    // Zalo is down for a while: every call hangs past the client's timeout.
    app.fake.set_latency(Duration::from_millis(1500));
    app.fake.expire_access_token();
    for failure in [
        FakeFailure::Http(503),
        FakeFailure::Api(-32, "Your application reached limit call api".into()),
        FakeFailure::Http(500),
        FakeFailure::Api(-230, "User has not interacted with the OA in the past 7 days".into()),
        FakeFailure::Api(-213, "User has not followed OA".into()),
    ] {
        app.fake.fail_next(failure);
    }
    for u in 0..USERS {
        assert_eq!(app.user_says(&format!("fz-{u}"), &format!("fz-m-{u}"), "menu").await, 200);
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    app.fake.set_latency(Duration::ZERO);

    // Backoff after failures is seconds long: wait until nothing is pending.
    let mut pending = Vec::new();
    for _ in 0..300 {
        pending = outbox(&app, "pending").await;
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(pending.is_empty(), "still pending: {pending:?}");

    let failed = outbox(&app, "failed").await;
    for item in &failed {
        let code = item["error"]["code"].as_i64().unwrap();
        assert!([-230, -213].contains(&code), "failed with a code Zalo gave: {item}");
    }
    let delivered: usize =
        (0..USERS).map(|u| app.fake.messages_for(&format!("fz-{u}")).len()).sum();
    assert_eq!(delivered + failed.len(), USERS * per_turn, "each reply delivered or failed");
    assert_eq!(failed.len(), 2, "the -230 and the -213: {failed:?}");
    assert_eq!(app.fake.refresh_calls(), 1, "exactly one refresh for one expiry");
    assert_ne!(app.fake.refresh_token(), "refresh-0", "the rotated pair is the one in use");
}
