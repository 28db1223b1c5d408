//! No secret or personal datum reaches a log at any level: a full run of the real
//! binary at `RUST_LOG=debug` (webhooks, replies, a token refresh, an admin call with
//! the token in the query string, a graceful stop), then a grep of everything it logged.

mod common;

use std::time::Duration;

use cnscd_bot::zalo::fake::FakeZalo;
use common::process::Service;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_debug_log_of_a_full_run_holds_no_user_id_phone_or_token() {
    let fake = FakeZalo::new(APP_SECRET, "access-0", "refresh-0");
    let base = fake.serve_loopback().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("service.log");
    let log_str = log.to_str().unwrap().to_owned();
    let env = [("TEST_LOG_FILE", log_str.as_str())];
    let service = Service::start(&base, &base, &dir.path().join("store"), &env).await;
    let user = "7123456789012345678";
    let phone = "0912345678";
    service.say(user, "p-1", "menu").await;
    assert!(!wait_for(&fake, user, 1).await.is_empty());
    fake.expire_access_token();
    service.say(user, "p-2", &format!("số của tôi là {phone}")).await;
    service.say(user, "p-3", &format!("/dangky {phone}")).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = reqwest::get(format!("{}/admin/api/outbox?token={ADMIN_TOKEN}", service.base)).await;
    service.sigterm();
    assert!(
        tokio::task::spawn_blocking(move || service.wait_exit(Duration::from_secs(15)))
            .await
            .unwrap()
            .is_some_and(|s| s.success())
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() > 10, "the run logged at debug level");
    let secrets = [
        user,
        phone,
        "access-0",
        "refresh-0",
        "access-1",
        "refresh-1",
        ADMIN_TOKEN,
        OA_SECRET,
        APP_SECRET,
    ];
    let leaks: Vec<_> = secrets
        .iter()
        .filter_map(|s| text.lines().find(|l| l.contains(s)).map(|l| (s.to_owned(), l.to_owned())))
        .collect();
    assert!(leaks.is_empty(), "secrets or personal data in the log: {leaks:#?}");
}
