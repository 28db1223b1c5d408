//! `GET /metrics`: Prometheus text format, behind the admin token like the rest of the
//! operator API. What is recorded is listed in `telemetry.rs`; queue depths that live in
//! the store are read here, at scrape time.

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use axum::extract::FromRef;

use crate::error::ApiError;
use crate::store::Store;

pub fn router<S>() -> Router<S>
where
    Store: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(store): State<Store>) -> Result<impl IntoResponse, ApiError> {
    let (pending, (inbox, dead)) =
        tokio::task::spawn_blocking(move || (store.outbox_pending_count(), store.inbox_counts()))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
    metrics::gauge!("cnscd_outbox_messages", "status" => "pending").set(pending as f64);
    metrics::gauge!("cnscd_inbox_events", "status" => "waiting").set(inbox as f64);
    metrics::gauge!("cnscd_inbox_events", "status" => "failed").set(dead as f64);
    Ok(([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], crate::telemetry::render()))
}
