//! Shared integration-test harness: the real server on 127.0.0.1:0 with a temporary
//! store and the local fake Zalo on loopback. Nothing here reaches the network.
#![allow(dead_code)]

pub mod process;

use std::path::{Path, PathBuf};
use std::time::Duration;

use cnscd_bot::app;
use cnscd_bot::clock::Clock;
use cnscd_bot::settings::Settings;
use cnscd_bot::zalo::fake::{FakeMessage, FakeZalo};
use cnscd_bot::zalo::signature;
use serde_json::{Value, json};

pub const APP_ID: &str = "360846524940903967";
pub const OA_SECRET: &str = "test-oa-secret-key";
pub const APP_SECRET: &str = "test-app-secret";
pub const ADMIN_TOKEN: &str = "test-admin-token";

pub struct TestApp {
    pub base: String,
    pub fake: FakeZalo,
    pub fake_base: String,
    pub http: reqwest::Client,
    pub store_dir: tempfile::TempDir,
    pub settings: Settings,
    /// The service's clock: tests move it, and read dates from it, never from the system.
    pub clock: Clock,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Settings pointing at `fake_base` with a fresh store under `store_dir`.
pub fn test_settings(fake_base: &str, store_dir: &Path) -> Settings {
    let mut s = Settings::defaults();
    s.server.bind = "127.0.0.1:0".into();
    s.store.path = store_dir.join("store");
    s.zalo.app_id = APP_ID.into();
    s.zalo.oa_secret_key = OA_SECRET.into();
    s.zalo.app_secret = APP_SECRET.into();
    s.zalo.access_token = "access-0".into();
    s.zalo.refresh_token = "refresh-0".into();
    s.zalo.api_base = fake_base.into();
    s.zalo.oauth_base = fake_base.into();
    s.zalo.send_rate_per_sec = 1000.0;
    s.admin.token = ADMIN_TOKEN.into();
    s.dialogs.dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dialogs");
    s.dialogs.watch = false;
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Where a test's clock starts unless it picks a date: mid-month, mid-morning in Vietnam,
/// away from every period boundary, so no test depends on the day it runs.
pub fn default_clock() -> Clock {
    Clock::starting_at_vn(2026, 6, 15, 10, 0)
}

/// Starts the service on [`default_clock`]; `edit` adjusts the settings first.
pub async fn spawn_app_with(edit: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_at(default_clock(), edit).await
}

/// Starts the service reading `clock`; `edit` adjusts the settings first.
pub async fn spawn_app_at(clock: Clock, edit: impl FnOnce(&mut Settings)) -> TestApp {
    init_tracing();
    let fake = FakeZalo::new(APP_SECRET, "access-0", "refresh-0");
    let fake_base = fake.serve_loopback().await.expect("fake zalo");
    let store_dir = tempfile::tempdir().expect("tempdir");
    let mut settings = test_settings(&fake_base, store_dir.path());
    edit(&mut settings);
    start(fake, fake_base, store_dir, settings, clock).await
}

async fn start(
    fake: FakeZalo,
    fake_base: String,
    store_dir: tempfile::TempDir,
    settings: Settings,
    clock: Clock,
) -> TestApp {
    APP_CLOCK.with(|c| *c.borrow_mut() = Some(clock.clone()));
    let app = app::build_with_clock(settings.clone(), clock.clone()).await.expect("build app");
    let base = format!("http://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = app
            .run(async move {
                let _ = rx.await;
            })
            .await;
    });
    TestApp {
        base,
        fake,
        fake_base,
        http: reqwest::Client::new(),
        store_dir,
        settings,
        clock,
        _shutdown: tx,
    }
}

impl TestApp {
    /// Posts `body` exactly as given, signed like Zalo signs it.
    pub async fn post_signed(&self, body: &str) -> reqwest::Response {
        let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let ts = parsed.get("timestamp").and_then(Value::as_str).unwrap_or("");
        let mac = signature::sign(APP_ID, body.as_bytes(), ts, OA_SECRET);
        self.post_raw(body, Some(&format!("mac={mac}"))).await
    }

    pub async fn post_raw(&self, body: &str, signature: Option<&str>) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}/webhook/zalo", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(sig) = signature {
            req = req.header("X-ZEvent-Signature", sig);
        }
        req.send().await.expect("webhook request")
    }

    /// A user types `text`; returns the webhook status.
    pub async fn user_says(&self, user: &str, msg_id: &str, text: &str) -> u16 {
        self.post_signed(&text_event(user, msg_id, text)).await.status().as_u16()
    }

    /// Waits until the fake received at least `n` messages for `user` (5 s max).
    pub async fn wait_for_messages(&self, user: &str, n: usize) -> Vec<FakeMessage> {
        wait_for(&self.fake, user, n).await
    }

    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("admin get")
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("admin post")
    }
}

/// Waits for at least one message for `user`, then until no new one arrives for 300 ms
/// (one step's replies leave one after another), and returns them all (5 s max).
pub async fn wait_settled(fake: &FakeZalo, user: &str) -> Vec<FakeMessage> {
    let mut seen = wait_for(fake, user, 1).await.len();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = fake.messages_for(user).len();
        if now == seen {
            break;
        }
        seen = now;
    }
    fake.messages_for(user)
}

/// Waits up to 15 s: a message whose sends failed before a restart (tests/restart.rs
/// starts against a dead port) may be backing off for two attempts, up to 5 s.
pub async fn wait_for(fake: &FakeZalo, user: &str, n: usize) -> Vec<FakeMessage> {
    for _ in 0..300 {
        let got = fake.messages_for(user);
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fake.messages_for(user)
}

/// The texts of messages, for assertions.
pub fn texts(messages: &[FakeMessage]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| m.message.get("text").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

pub fn text_event(user: &str, msg_id: &str, text: &str) -> String {
    json!({
        "app_id": APP_ID, "event_name": "user_send_text", "user_id_by_app": "552177279717587730",
        "sender": {"id": user}, "recipient": {"id": "388613280878808645"},
        "message": {"text": text, "msg_id": msg_id}, "timestamp": now_ms_string()
    })
    .to_string()
}

pub fn follow_event(user: &str) -> String {
    json!({
        "app_id": APP_ID, "event_name": "follow", "oa_id": "388613280878808645",
        "follower": {"id": user}, "user_id_by_app": "552177279717587730", "source": "oa_profile",
        "timestamp": now_ms_string()
    })
    .to_string()
}

thread_local! {
    /// The clock of the app this test thread started last: events are stamped with it,
    /// as Zalo's clock agrees with the service's (the webhook refuses stale timestamps).
    static APP_CLOCK: std::cell::RefCell<Option<Clock>> = const { std::cell::RefCell::new(None) };
}

/// The clock of the child-process tests (`process.rs`): one per test binary, on
/// [`default_clock`]'s date; every child started is told to start from its "now".
pub fn child_clock() -> &'static Clock {
    static CLOCK: std::sync::OnceLock<Clock> = std::sync::OnceLock::new();
    CLOCK.get_or_init(default_clock)
}

/// "Now" as Zalo stamps it: the service's clock — the in-process app's on this thread,
/// else the child processes' shared one.
pub fn now_ms_string() -> String {
    APP_CLOCK
        .with(|c| c.borrow().clone())
        .unwrap_or_else(|| child_clock().clone())
        .now_ms()
        .get()
        .to_string()
}

fn init_tracing() {
    if std::env::var_os("TEST_LOG").is_some() {
        cnscd_bot::telemetry::init(cnscd_bot::telemetry::LogFormat::Text);
    }
}
