//! Failed sends: list them with Zalo's reason, and re-queue one.

use axum::extract::{FromRef, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::error::ApiError;
use crate::state::SenderWake;
use crate::store::{OutboxFilter, Store};

/// The outbox routes, for any state that gives the store, the clock and the sender's
/// wake-up through `FromRef`.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Store: FromRef<S>,
    Clock: FromRef<S>,
    SenderWake: FromRef<S>,
{
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
    State(store): State<Store>,
    Query(filter): Query<OutboxFilter>,
    Query(page): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    let limit = page.limit.unwrap_or(100).clamp(1, 500);
    let (entries, total) = store.outbox_page(filter, page.offset, limit)?;
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
                "text": e.message.text(),
            })
        })
        .collect();
    Ok(Json(json!({"items": items, "total": total, "offset": page.offset, "limit": limit})))
}

async fn retry(
    State(store): State<Store>,
    State(clock): State<Clock>,
    State(wake): State<SenderWake>,
    Path(id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    let entry = store.outbox_retry(id, clock.now_ms())?;
    store.flush().await?;
    wake.notify();
    Ok(Json(json!({"id": entry.id, "status": entry.status})))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use serde_json::json;

    use super::super::testing::{call, state};
    use crate::calendar::UnixMs;
    use crate::store::{OutboxStatus, RawJson, SendError};

    #[tokio::test]
    async fn failed_sends_are_listed_and_a_retry_puts_one_back_in_the_queue() {
        let state = state();
        let store = &state.store;
        store
            .enqueue_once("k", "u1", &[RawJson::new(&json!({"text": "xin chào"}))], UnixMs(0))
            .unwrap();
        let mut failed = store.outbox_due(UnixMs(0), 1).unwrap().remove(0);
        failed.status = OutboxStatus::Failed;
        failed.last_error = Some(SendError { code: -213, message: "not followed".into() });
        store.outbox_save(&failed).unwrap();
        let app = super::router().with_state(state.clone());

        let (status, body) = call(
            app.clone(),
            Request::get("/admin/api/outbox?status=failed").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((body["total"].clone(), body["limit"].clone()), (json!(1), json!(100)));
        let item = &body["items"][0];
        assert_eq!(item["id"], json!(failed.id));
        assert_eq!(item["status"], json!("failed"));
        assert_eq!(item["error"]["code"], json!(-213));
        assert_eq!(item["text"], json!("xin chào"));
        assert_ne!(item["user"], json!("u1"), "user ids are masked");

        let retry = |id: u64| {
            Request::post(format!("/admin/api/outbox/{id}/retry")).body(Body::empty()).unwrap()
        };
        let (status, body) = call(app.clone(), retry(failed.id)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({"id": failed.id, "status": "pending"}));
        assert_eq!(store.outbox_due(state.clock.now_ms(), 10).unwrap().len(), 1, "due again");

        let (status, _) = call(app, retry(failed.id + 1000)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
