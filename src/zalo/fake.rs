//! A local Zalo-compatible fake of the OA send API and the OAuth token endpoint.
//!
//! Sandbox mode (`serve` with no credentials) talks to it on loopback so a newcomer can
//! chat with the bot at once, and the integration tests use the very same fake. It
//! checks what real Zalo checks that matters to us: the `access_token` header, the
//! single-use refresh token and the `secret_key` header, the 2,000-character text limit
//! and at most 5 buttons. Tests can script failures and expire the access token.

use crate::calendar::UnixMs;
use crate::zalo::response::code;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Credentials the sandbox uses. They only ever meet the local fake.
pub const SANDBOX_APP_ID: &str = "sandbox-app";
pub const SANDBOX_OA_SECRET: &str = "sandbox-oa-secret";
pub const SANDBOX_APP_SECRET: &str = "sandbox-app-secret";
pub const SANDBOX_ACCESS_TOKEN: &str = "sandbox-access-0";
pub const SANDBOX_REFRESH_TOKEN: &str = "sandbox-refresh-0";

/// A message the fake accepted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FakeMessage {
    pub seq: usize,
    pub user_id: String,
    pub message: Value,
}

impl FakeMessage {
    /// What a person sees of the message: its text, an image link, the buttons as
    /// (title, payload).
    pub fn shown(&self) -> Shown {
        let message = &self.message;
        let text = message.get("text").and_then(Value::as_str).map(str::to_owned);
        let image = message
            .pointer("/attachment/payload/elements/0/url")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let buttons = message
            .pointer("/attachment/payload/buttons")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|button| {
                let title = button.get("title").and_then(Value::as_str).unwrap_or("").to_owned();
                let payload = match button.get("payload") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                (title, payload)
            })
            .collect();
        Shown { text, image, buttons }
    }
}

/// A sent message as the user sees it (`FakeMessage::shown`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub text: Option<String>,
    pub image: Option<String>,
    pub buttons: Vec<(String, String)>,
}

/// What a sandbox user does, as a webhook event (`sandbox_event`).
#[derive(Debug, Clone, Copy)]
pub enum SandboxEvent<'a> {
    Follow,
    Text(&'a str),
}

/// A webhook request as Zalo would post it to a sandbox server: the JSON body and the
/// `X-ZEvent-Signature` header value, stamped `timestamp`.
pub fn sandbox_event(user: &str, event: SandboxEvent, timestamp: UnixMs) -> (String, String) {
    let timestamp = timestamp.get().to_string();
    let body = match event {
        SandboxEvent::Follow => json!({
            "app_id": SANDBOX_APP_ID, "event_name": "follow", "oa_id": "sandbox-oa",
            "follower": {"id": user}, "source": "oa_profile", "timestamp": timestamp
        }),
        SandboxEvent::Text(text) => json!({
            "app_id": SANDBOX_APP_ID, "event_name": "user_send_text",
            "sender": {"id": user}, "recipient": {"id": "sandbox-oa"},
            "message": {"text": text, "msg_id": format!("sandbox-{timestamp}")},
            "timestamp": timestamp
        }),
    }
    .to_string();
    let mac =
        super::signature::sign(SANDBOX_APP_ID, body.as_bytes(), &timestamp, SANDBOX_OA_SECRET);
    (body, format!("mac={mac}"))
}

/// A scripted failure for the next send.
#[derive(Debug, Clone)]
pub enum FakeFailure {
    /// HTTP 200 with `{"error": code, "message": …}`.
    Api(i64, String),
    /// A bare HTTP status (e.g. 503).
    Http(u16),
}

#[derive(Clone)]
pub struct FakeZalo {
    state: Arc<Mutex<FakeState>>,
}

struct FakeState {
    app_secret: String,
    access_token: String,
    refresh_token: String,
    generation: u32,
    messages: Vec<FakeMessage>,
    send_calls: usize,
    refresh_calls: usize,
    failures: VecDeque<FakeFailure>,
    /// How long each send takes before Zalo answers (real Zalo: up to about a second).
    latency: std::time::Duration,
    /// Told the recipient of every accepted message (benchmarks wait on it).
    tap: Option<tokio::sync::mpsc::UnboundedSender<String>>,
}

impl FakeZalo {
    pub fn new(app_secret: &str, access_token: &str, refresh_token: &str) -> FakeZalo {
        FakeZalo {
            state: Arc::new(Mutex::new(FakeState {
                app_secret: app_secret.to_owned(),
                access_token: access_token.to_owned(),
                refresh_token: refresh_token.to_owned(),
                generation: 0,
                messages: Vec::new(),
                send_calls: 0,
                refresh_calls: 0,
                failures: VecDeque::new(),
                latency: std::time::Duration::ZERO,
                tap: None,
            })),
        }
    }

    /// The fake with the sandbox credentials.
    pub fn sandbox() -> FakeZalo {
        FakeZalo::new(SANDBOX_APP_SECRET, SANDBOX_ACCESS_TOKEN, SANDBOX_REFRESH_TOKEN)
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        // A panic while holding the lock cannot leave the state half-written (every
        // update is a single assignment), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Routes of the send API, the token endpoint and the sandbox inspection view.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v3.0/oa/message/cs", post(send_cs))
            .route("/v4/oa/access_token", post(access_token))
            .route("/sandbox/messages", get(list_messages))
            .with_state(self.clone())
    }

    /// Only the read-only `/sandbox/messages` view, mounted on the main server in
    /// sandbox mode so `cnscd-bot say` can show the bot's replies.
    pub fn inspect_router(&self) -> Router {
        Router::new().route("/sandbox/messages", get(list_messages)).with_state(self.clone())
    }

    /// Serves the fake on `127.0.0.1:0`; returns its base URL.
    pub async fn serve_loopback(&self) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let router = self.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "fake zalo stopped");
            }
        });
        Ok(format!("http://{addr}"))
    }

    pub fn messages(&self) -> Vec<FakeMessage> {
        self.lock().messages.clone()
    }

    pub fn messages_for(&self, user_id: &str) -> Vec<FakeMessage> {
        self.lock().messages.iter().filter(|m| m.user_id == user_id).cloned().collect()
    }

    pub fn send_calls(&self) -> usize {
        self.lock().send_calls
    }

    pub fn refresh_calls(&self) -> usize {
        self.lock().refresh_calls
    }

    pub fn fail_next(&self, failure: FakeFailure) {
        self.lock().failures.push_back(failure);
    }

    /// Every later send takes `latency` before it is answered (and recorded).
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.lock().latency = latency;
    }

    /// Makes the current access token invalid, as after its 25 hours.
    pub fn expire_access_token(&self) {
        let mut state = self.lock();
        state.access_token = format!("expired-{}", state.generation);
    }

    /// A stream of the recipient id of every message accepted from now on, so a load
    /// driver can wait for replies without polling.
    pub fn tap(&self) -> tokio::sync::mpsc::UnboundedReceiver<String> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.lock().tap = Some(tx);
        rx
    }

    /// The currently valid refresh token (tests check that the service stored it).
    pub fn refresh_token(&self) -> String {
        self.lock().refresh_token.clone()
    }

    pub fn access_token(&self) -> String {
        self.lock().access_token.clone()
    }
}

fn api_error(code: i64, message: &str) -> Response {
    Json(json!({"error": code, "message": message})).into_response()
}

async fn send_cs(State(fake): State<FakeZalo>, headers: HeaderMap, body: String) -> Response {
    let latency = fake.lock().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut state = fake.lock();
    state.send_calls += 1;
    let token = headers.get("access_token").and_then(|v| v.to_str().ok()).unwrap_or("");
    if token.is_empty() || token != state.access_token {
        return api_error(code::TOKEN_INVALID, "Access token is invalid");
    }
    if let Some(failure) = state.failures.pop_front() {
        return match failure {
            FakeFailure::Api(code, message) => api_error(code, &message),
            FakeFailure::Http(status) => StatusCode::from_u16(status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response(),
        };
    }
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return api_error(code::INVALID_USER, "body is invalid!");
    };
    let Some(user_id) = body.pointer("/recipient/user_id").and_then(Value::as_str) else {
        return api_error(code::INVALID_USER, "user_id is invalid!");
    };
    let message = body.get("message").cloned().unwrap_or(Value::Null);
    let text_len = message.get("text").and_then(Value::as_str).map_or(0, |t| t.chars().count());
    let buttons = message
        .pointer("/attachment/payload/buttons")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if text_len > 2000 || buttons > 5 {
        return api_error(-210, "Parameter exceeds allowable limit");
    }
    let seq = state.messages.len() + 1;
    let user_id = user_id.to_owned();
    state.messages.push(FakeMessage { seq, user_id: user_id.clone(), message });
    if let Some(tap) = &state.tap {
        let _ = tap.send(user_id.clone());
    }
    Json(json!({
        "error": 0, "message": "Success",
        "data": {"message_id": format!("fake{seq:016x}"), "user_id": user_id}
    }))
    .into_response()
}

#[derive(Deserialize)]
struct RefreshForm {
    refresh_token: String,
    #[allow(dead_code)]
    app_id: String,
    grant_type: String,
}

async fn access_token(
    State(fake): State<FakeZalo>,
    headers: HeaderMap,
    Form(form): Form<RefreshForm>,
) -> Response {
    let mut state = fake.lock();
    state.refresh_calls += 1;
    let secret = headers.get("secret_key").and_then(|v| v.to_str().ok()).unwrap_or("");
    if secret != state.app_secret {
        return Json(json!({"error": -14002, "error_name": "Invalid secret key"})).into_response();
    }
    if form.grant_type != "refresh_token" || form.refresh_token != state.refresh_token {
        // Single use: an old refresh token is dead.
        return Json(json!({"error": -14020, "error_description": "Invalid refresh token"}))
            .into_response();
    }
    state.generation += 1;
    state.access_token = format!("access-{}", state.generation);
    state.refresh_token = format!("refresh-{}", state.generation);
    Json(json!({
        "access_token": state.access_token,
        "refresh_token": state.refresh_token,
        "expires_in": "90000"
    }))
    .into_response()
}

#[derive(Deserialize)]
struct ListQuery {
    user_id: Option<String>,
    #[serde(default)]
    after: usize,
}

async fn list_messages(
    State(fake): State<FakeZalo>,
    Query(q): Query<ListQuery>,
) -> Json<Vec<FakeMessage>> {
    let state = fake.lock();
    Json(
        state
            .messages
            .iter()
            .filter(|m| m.seq > q.after && q.user_id.as_ref().is_none_or(|u| *u == m.user_id))
            .cloned()
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zalo::event::{Event, EventKind};

    #[test]
    fn sandbox_events_are_signed_and_read_like_zalo_events() {
        for (event, kind, text) in [
            (SandboxEvent::Text("Xin chào"), EventKind::UserText, Some("Xin chào")),
            (SandboxEvent::Follow, EventKind::Follow, None),
        ] {
            let (body, header) = sandbox_event("u1", event, UnixMs(1_735_693_200_123));
            let timestamp = "1735693200123";
            super::super::signature::verify(
                Some(&header),
                SANDBOX_APP_ID,
                body.as_bytes(),
                timestamp,
                SANDBOX_OA_SECRET,
            )
            .expect("signed");
            let parsed = Event::parse(&serde_json::from_str(&body).unwrap()).unwrap();
            assert_eq!(parsed.kind, kind);
            assert_eq!(parsed.user_id.as_deref(), Some("u1"));
            assert_eq!(parsed.text.as_deref(), text);
        }
    }

    #[test]
    fn a_sent_message_shows_its_text_image_and_buttons() {
        let message = FakeMessage {
            seq: 1,
            user_id: "u1".into(),
            message: json!({"text": "Chào", "attachment": {"payload": {
                "elements": [{"url": "https://x/y.png"}],
                "buttons": [{"title": "Menu chính", "payload": "#u:menu"}, {"title": "Gọi", "payload": {"phone_code": "113"}}]
            }}}),
        };
        assert_eq!(
            message.shown(),
            Shown {
                text: Some("Chào".into()),
                image: Some("https://x/y.png".into()),
                buttons: vec![
                    ("Menu chính".into(), "#u:menu".into()),
                    ("Gọi".into(), r#"{"phone_code":"113"}"#.into())
                ],
            }
        );
    }
}
