//! Failed sends: list them with Zalo's reason, and re-queue one.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::OutboxFilter;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/outbox", get(list))
        .route("/admin/api/outbox/{id}/retry", post(retry))
}

/// `?offset=&limit=` (default 100, at most 500).
#[derive(serde::Deserialize)]
struct Page {
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

async fn list(
    State(state): State<AppState>,
    Query(filter): Query<OutboxFilter>,
    Query(page): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    let limit = page.limit.unwrap_or(100).clamp(1, 500);
    let (entries, total) = state.store.outbox_page(filter, page.offset, limit)?;
    let items: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "user": crate::privacy::mask_id(&e.user_id),
                "status": e.status,
                "attempts": e.attempts,
                "created_at_ms": e.created_at_ms,
                "sent_at_ms": e.sent_at_ms,
                "error": e.last_error,
                "text": e.message.get("text"),
            })
        })
        .collect();
    Ok(Json(json!({"items": items, "total": total, "offset": page.offset, "limit": limit})))
}

async fn retry(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    let entry = state.store.outbox_retry(id, state.clock.now_ms())?;
    state.store.flush().await?;
    state.sender_wake.notify_one();
    Ok(Json(json!({"id": entry.id, "status": entry.status})))
}
