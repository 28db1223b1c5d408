//! `GET /admin/api/dialogs`, `POST /admin/api/dialogs/reload`, `POST /admin/api/dialogs/rollback`.
//!
//! Mount behind admin auth: `.merge(admin::dialogs::router())` on a router whose state gives
//! a `Registry` through `FromRef`. Reload reads files, so it runs on the blocking pool.

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::dialog_runtime::{Registry, ReloadOutcome, RollbackError};

/// The dialog admin routes, for any state that contains a `Registry`.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Registry: FromRef<S>,
{
    Router::new()
        .route("/admin/api/dialogs", get(status))
        .route("/admin/api/dialogs/reload", post(reload))
        .route("/admin/api/dialogs/rollback", post(rollback))
}

/// Version, load time, dialogs, warnings, stale facts and the last reload's errors.
async fn status(State(registry): State<Registry>) -> Response {
    Json(registry.status()).into_response()
}

/// 200 with the outcome when loaded or unchanged; 422 with the errors when rejected.
async fn reload(State(registry): State<Registry>) -> Response {
    match tokio::task::spawn_blocking(move || registry.reload()).await {
        Ok(outcome @ ReloadOutcome::Rejected { .. }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Json(outcome)).into_response()
        }
        Ok(outcome) => Json(outcome).into_response(),
        Err(error) => {
            tracing::error!(%error, "dialog reload task failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": "internal error" })))
                .into_response()
        }
    }
}

/// 200 with the version now live; 409 when there is no previous version.
async fn rollback(State(registry): State<Registry>) -> Response {
    match registry.rollback() {
        Ok(version) => {
            Json(json!({ "outcome": "rolled_back", "version": version })).into_response()
        }
        Err(error @ RollbackError::NoPrevious) => {
            (StatusCode::CONFLICT, Json(json!({ "error": error.to_string() }))).into_response()
        }
    }
}
