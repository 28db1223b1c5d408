//! `POST /webhook/zalo`: verify, record durably, answer — nothing else.
//!
//! The handler never calls the Zalo API and never runs dialog logic (Zalo wants 200
//! within 2 s). It answers 200 only after the event is flushed to the inbox, so an
//! acknowledged event survives `kill -9`; Zalo's re-deliveries are deduplicated by
//! `message.msg_id` (or a hash of the body).

use crate::calendar::UnixMs;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::envelope::Envelope;
use super::event::Event;
use super::signature;
use crate::error::ApiError;
use crate::store::{InboxEntry, IngestOutcome, RawJson};

/// Where a verified event goes: recorded durably, then queued for processing. Implemented
/// by `pipeline::Ingest`; defined here so this adapter does not depend on the pipeline.
pub trait EventSink: Send + Sync + 'static {
    fn accept(
        &self,
        entry: InboxEntry,
    ) -> Pin<Box<dyn Future<Output = Result<IngestOutcome, ApiError>> + Send + '_>>;
}

/// What the webhook needs; extracted from the app state with `FromRef`.
#[derive(Clone)]
pub struct WebhookState {
    pub app_id: String,
    pub oa_secret: SecretString,
    pub ingest: Arc<dyn EventSink>,
    pub clock: crate::clock::Clock,
    /// Signed events older than this (the dedupe window) are refused: once their dedupe
    /// mark has been pruned, a captured event could otherwise be replayed.
    pub replay_window_ms: i64,
}

/// How far ahead of our clock a signed event may be stamped (clock skew).
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60_000;

pub const SIGNATURE_HEADER: &str = "x-zevent-signature";

/// `POST /webhook`: counts each outcome and times the whole ingest (fsync included).
pub async fn receive(
    State(state): State<Arc<WebhookState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    let result = handle(state, headers, body).await;
    let outcome: &'static str = match &result {
        Ok((outcome, _)) => outcome,
        Err(e) => e.code(),
    };
    metrics::counter!("cnscd_webhooks_total", "outcome" => outcome).increment(1);
    metrics::histogram!("cnscd_webhook_seconds").record(started.elapsed().as_secs_f64());
    result.map(|(_, response)| response)
}

/// Verifies, parses and durably accepts one event; the outcome names what happened.
async fn handle(
    state: Arc<WebhookState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(&'static str, Response), ApiError> {
    let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if header.is_none() {
        // Zalo probes a newly saved webhook URL with an unsigned `{}`.
        let parsed: Result<Value, _> = serde_json::from_slice(&body);
        if matches!(&parsed, Ok(Value::Object(map)) if map.is_empty()) {
            tracing::info!("unsigned empty probe acknowledged");
            return Ok(ok(Answer::Probe));
        }
        tracing::warn!(reason = "missing signature header", bytes = body.len(), "webhook refused");
        return Err(ApiError::Unauthorized("missing X-ZEvent-Signature"));
    }
    let Ok(envelope) = Envelope::read(&body) else {
        tracing::warn!(bytes = body.len(), "webhook body is not valid JSON");
        return Err(ApiError::BadRequest("body is not valid JSON".into()));
    };
    let (app_id, timestamp) =
        (envelope.app_id.unwrap_or_default(), envelope.timestamp.unwrap_or_default());
    if let Err(e) =
        signature::verify(header, &app_id, &body, &timestamp, state.oa_secret.expose_secret())
    {
        tracing::warn!(reason = %e, "webhook refused");
        return Err(ApiError::Unauthorized("invalid signature"));
    }
    if app_id != state.app_id {
        tracing::warn!(reason = "app_id does not match zalo.app_id", "webhook refused");
        return Err(ApiError::Unauthorized("unknown app_id"));
    }
    let now = state.clock.now_ms();
    match timestamp.parse::<i64>().map(UnixMs) {
        Ok(at) if now.saturating_since(at) > state.replay_window_ms => {
            tracing::warn!(
                age_ms = now.saturating_since(at),
                "signed webhook older than the replay window refused"
            );
            return Err(ApiError::Unauthorized("timestamp outside the replay window"));
        }
        Ok(at) if at.saturating_since(now) > MAX_FUTURE_SKEW_MS => {
            tracing::warn!(
                ahead_ms = at.saturating_since(now),
                "signed webhook stamped in the future refused"
            );
            return Err(ApiError::Unauthorized("timestamp outside the replay window"));
        }
        Ok(_) => {}
        Err(_) => {
            tracing::warn!("signed webhook without a numeric timestamp");
            return Err(ApiError::BadRequest("timestamp missing or not a number".into()));
        }
    }
    let event = match envelope.event {
        Ok(event) => event,
        Err(e) => {
            // Signed and well-formed but unusable: 200, or Zalo disables the webhook.
            tracing::warn!(error = %e, "signed webhook without event_name; acknowledged and dropped");
            return Ok(ok(Answer::Ignored));
        }
    };
    if !event.kind.needs_processing() {
        tracing::debug!(event = %event.name, "event acknowledged without processing");
        return Ok(ok(Answer::Ignored));
    }
    let Some(user_id) = event.user_id.clone() else {
        tracing::warn!(event = %event.name, "event without a user id; acknowledged and dropped");
        return Ok(ok(Answer::Ignored));
    };
    let entry = InboxEntry {
        dedupe_key: dedupe_key(&event, &body),
        user_id,
        event: RawJson::new(&event),
        received_at_ms: now.get(),
        failure: None,
    };
    match state.ingest.accept(entry).await? {
        IngestOutcome::Accepted { .. } => Ok(ok(Answer::Accepted)),
        IngestOutcome::Duplicate => {
            tracing::info!(event = %event.name, "duplicate delivery acknowledged");
            Ok(ok(Answer::Duplicate))
        }
    }
}

/// `message.msg_id` when present, else a hash of the exact body (a re-sent event has
/// the same bytes). Prefixed so the two kinds can never collide.
fn dedupe_key(event: &Event, body: &[u8]) -> String {
    match &event.msg_id {
        Some(id) => format!("m:{id}"),
        None => format!("b:{}", hex::encode(Sha256::digest(body))),
    }
}

/// What the webhook answers Zalo with 200, and the `outcome` it counts.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Accepted,
    Duplicate,
    Ignored,
    Probe,
}

impl Answer {
    fn name(self) -> &'static str {
        match self {
            Answer::Accepted => "accepted",
            Answer::Duplicate => "duplicate",
            Answer::Ignored => "ignored",
            Answer::Probe => "probe",
        }
    }

    /// Zalo's expected body, `{"error":0,"message":…}`, written out once per answer
    /// rather than built as a JSON map on every webhook.
    fn body(self) -> &'static str {
        match self {
            Answer::Accepted => r#"{"error":0,"message":"accepted"}"#,
            Answer::Duplicate => r#"{"error":0,"message":"duplicate"}"#,
            Answer::Ignored => r#"{"error":0,"message":"ignored"}"#,
            Answer::Probe => r#"{"error":0,"message":"probe"}"#,
        }
    }
}

fn ok(answer: Answer) -> (&'static str, Response) {
    let headers = [(axum::http::header::CONTENT_TYPE, "application/json")];
    (answer.name(), (StatusCode::OK, headers, answer.body()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn every_answer_is_zalos_json_shape() {
        for answer in [Answer::Accepted, Answer::Duplicate, Answer::Ignored, Answer::Probe] {
            let status = answer.name();
            let (said, response) = ok(answer);
            assert_eq!(said, status);
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()[axum::http::header::CONTENT_TYPE], "application/json");
            let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body, json!({"error": 0, "message": status}), "{status}");
        }
    }
}
