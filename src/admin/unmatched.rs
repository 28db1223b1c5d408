//! `GET /admin/api/unmatched?limit=N`: messages the dialogs did not understand (or answered
//! with an ask-back), masked and without user ids, most frequent first, for editors to turn
//! into `examples`. Records older than `dialogs.unmatched_retention_days` are left out.

use axum::extract::{FromRef, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::dialog_runtime::Registry;
use crate::error::ApiError;
use crate::store::Store;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// The unmatched-messages route, for any state that gives the store, the clock and the
/// dialog registry (its retention setting) through `FromRef`.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Store: FromRef<S>,
    Clock: FromRef<S>,
    Registry: FromRef<S>,
{
    Router::new().route("/admin/api/unmatched", get(list))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

async fn list(
    State(store): State<Store>,
    State(clock): State<Clock>,
    State(dialogs): State<Registry>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let since = clock.now_ms().plus_ms(-dialogs.unmatched_retention_ms());
    let items = store.unmatched_list(limit, since)?;
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use serde_json::json;

    use super::super::testing::{call, state};

    #[tokio::test]
    async fn unmatched_texts_are_listed_most_frequent_first_within_the_retention() {
        let state = state();
        let now = state.clock.now_ms();
        let retention = state.dialogs.unmatched_retention_ms();
        let store = &state.store;
        store.unmatched_record("thoi tiet", false, now.plus_ms(-1_000), retention).unwrap();
        store.unmatched_record("lam so #", false, now.plus_ms(-2_000), retention).unwrap();
        store.unmatched_record("lam so #", true, now.plus_ms(-500), retention).unwrap();
        // Last seen before the retention window: left out.
        store.unmatched_record("cu", false, now.plus_ms(-retention - 60_000), retention).unwrap();
        let app = super::router().with_state(state.clone());

        let (status, body) =
            call(app.clone(), Request::get("/admin/api/unmatched").body(Body::empty()).unwrap())
                .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["count"], json!(2));
        assert_eq!(
            body["items"][0],
            json!({
                "text": "lam so #", "count": 2, "not_understood": 1, "asked_back": 1,
                "first_seen_at_ms": now.get() - 2_000, "last_seen_at_ms": now.get() - 500,
            })
        );
        assert_eq!(body["items"][1]["text"], json!("thoi tiet"));

        let (status, body) =
            call(app, Request::get("/admin/api/unmatched?limit=1").body(Body::empty()).unwrap())
                .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["count"], json!(1));
    }
}
