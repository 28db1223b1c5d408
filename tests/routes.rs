//! Routes without a server: `app::router` over an `AppState` built in the test, driven with
//! `tower::ServiceExt::oneshot`. The webhook's sink is a recorder here, so what the
//! handler accepted (and refused) is visible without workers or a fake Zalo.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cnscd_bot::app::{AppParts, AppState, router};
use cnscd_bot::clock::Clock;
use cnscd_bot::dialog_runtime::{Registry, RegistryOptions};
use cnscd_bot::error::ApiError;
use cnscd_bot::store::{InboxEntry, IngestOutcome, Store};
use cnscd_bot::zalo::client::ZaloClient;
use cnscd_bot::zalo::signature::sign;
use cnscd_bot::zalo::token::Tokens;
use cnscd_bot::zalo::webhook::{EventSink, WebhookState};
use common::*;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

/// Keeps what the webhook handed over.
#[derive(Default)]
struct Recorder(Mutex<Vec<InboxEntry>>);

impl EventSink for Recorder {
    fn accept(
        &self,
        entry: InboxEntry,
    ) -> Pin<Box<dyn Future<Output = Result<IngestOutcome, ApiError>> + Send + '_>> {
        let mut kept = self.0.lock().unwrap();
        let duplicate = kept.iter().any(|e| e.dedupe_key == entry.dedupe_key);
        let seq = kept.len() as u64 + 1;
        if !duplicate {
            kept.push(entry);
        }
        Box::pin(async move {
            Ok(if duplicate { IngestOutcome::Duplicate } else { IngestOutcome::Accepted { seq } })
        })
    }
}

fn state(clock: &Clock, sink: Arc<Recorder>) -> (AppState, cnscd_bot::settings::Settings) {
    let dir = tempfile::tempdir().unwrap().keep();
    let settings = test_settings("http://127.0.0.1:9", &dir);
    let store = Store::temporary().unwrap();
    let dialogs = Registry::load(
        &settings.dialogs.dir,
        RegistryOptions { clock: clock.clone(), ..RegistryOptions::default() },
    );
    let reporting =
        cnscd_bot::reports_runtime::Reporting::load(store.clone(), settings.reports.clone())
            .unwrap()
            .with_clock(clock.clone());
    let handoff = cnscd_bot::handoff_runtime::Handoff::new(
        store.clone(),
        settings.handoff.clone(),
        clock.clone(),
    );
    let client = ZaloClient::new(
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        APP_ID,
        APP_SECRET.into(),
        Duration::from_secs(1),
    )
    .unwrap();
    let state = AppState::new(AppParts {
        store: store.clone(),
        sender_wake: Arc::default(),
        admin_token: ADMIN_TOKEN.into(),
        webhook: Arc::new(WebhookState {
            app_id: APP_ID.into(),
            oa_secret: OA_SECRET.into(),
            ingest: sink,
            clock: clock.clone(),
            replay_window_ms: 48 * 3_600_000,
        }),
        dialogs,
        reporting,
        handoff,
        clock: clock.clone(),
        tokens: Tokens::new(store, client, 3600),
    });
    (state, settings)
}

async fn call(app: axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// `body` signed as Zalo signs it, over the `timestamp` it carries.
fn signed(body: &str, timestamp: &str) -> Request<Body> {
    let mac = sign(APP_ID, body.as_bytes(), timestamp, OA_SECRET);
    Request::post("/webhook/zalo")
        .header("content-type", "application/json")
        .header("X-ZEvent-Signature", format!("mac={mac}"))
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// An admin router is generic over its state (`FromRef`): a test builds only what the
/// routes read, here the dialog registry alone (no store, no tokens, no workers).
#[tokio::test]
async fn an_admin_router_runs_on_just_the_state_it_needs() {
    let dir = tempfile::tempdir().unwrap().keep();
    let settings = test_settings("http://127.0.0.1:9", &dir);
    // The tests' date, not today's: fact review dates are read against it.
    let options = RegistryOptions { clock: default_clock(), ..RegistryOptions::default() };
    let registry = Registry::load(&settings.dialogs.dir, options);
    let version = registry.status().version.expect("the test dialogs load");
    let app = cnscd_bot::admin::dialogs::router().with_state(registry);
    let (status, body) =
        call(app, Request::get("/admin/api/dialogs").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&version), "{body}");

    let app = cnscd_bot::admin::metrics::router().with_state(Store::temporary().unwrap());
    let (status, body) = call(app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn health_admin_auth_and_webhook_without_a_server() {
    let clock = Clock::starting_at_vn(2026, 12, 1, 9, 0);
    let started = clock.now_ms();
    let sink = Arc::new(Recorder::default());
    let (state, settings) = state(&clock, sink.clone());
    let app = router(state, &settings, false);

    let (status, _) =
        call(app.clone(), Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);

    let anonymous = Request::get("/admin/api/units").body(Body::empty()).unwrap();
    assert_eq!(call(app.clone(), anonymous).await.0, StatusCode::UNAUTHORIZED);
    let admin = Request::get("/admin/api/units")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(app.clone(), admin).await.0, StatusCode::OK);

    let timestamp = clock.now_ms().get().to_string();
    let body = json!({
        "app_id": APP_ID, "event_name": "user_send_text", "sender": {"id": "u-route"},
        "recipient": {"id": "388613280878808645"},
        "message": {"text": "menu", "msg_id": "m-route-1"},
        "timestamp": timestamp
    })
    .to_string();
    let (status, reply) = call(app.clone(), signed(&body, &timestamp)).await;
    assert_eq!((status, reply.contains("accepted")), (StatusCode::OK, true), "{reply}");
    let (status, reply) = call(app.clone(), signed(&body, &timestamp)).await;
    assert_eq!((status, reply.contains("duplicate")), (StatusCode::OK, true), "{reply}");
    let forged = Request::post("/webhook/zalo")
        .header("X-ZEvent-Signature", "mac=00")
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(call(app, forged).await.0, StatusCode::UNAUTHORIZED);

    let kept = sink.0.lock().unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].user_id, "u-route");
    // Stamped with the service's clock (which runs on from 1/12/2026 09:00 in Vietnam).
    let received = cnscd_bot::calendar::UnixMs(kept[0].received_at_ms);
    assert!(received >= started && received <= clock.now_ms(), "{received:?}");
}
