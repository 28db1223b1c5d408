//! `GET /admin/api/unmatched?limit=N`: messages the dialogs did not understand (or answered
//! with an ask-back), masked and without user ids, most frequent first, for editors to turn
//! into `examples`. Records older than `dialogs.unmatched_retention_days` are left out.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/api/unmatched", get(list))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let since = state.clock.now_ms().plus_ms(-state.dialogs.unmatched_retention_ms());
    let items = state.store.unmatched_list(limit, since)?;
    let items: Vec<Value> = items
        .iter()
        .map(|u| {
            json!({
                "text": u.text,
                "count": u.count(),
                "not_understood": u.not_understood,
                "asked_back": u.asked_back,
                "first_seen_at_ms": u.first_seen_ms,
                "last_seen_at_ms": u.last_seen_ms,
            })
        })
        .collect();
    Ok(Json(json!({ "count": items.len(), "items": items })))
}
