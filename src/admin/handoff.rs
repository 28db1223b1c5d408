//! Admin JSON API of the hand-off: `GET /admin/api/requests?status=&unit=&period=` and
//! `GET /admin/api/contributions?period=&unit=` (behind the bearer-token layer).

use axum::extract::{FromRef, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::handoff_runtime::Handoff;
use crate::handoff_runtime::query::HandoffQueryError;

pub fn router<S>() -> Router<S>
where
    Handoff: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/admin/api/requests", get(requests))
        .route("/admin/api/contributions", get(contributions))
}

impl From<HandoffQueryError> for ApiError {
    fn from(err: HandoffQueryError) -> ApiError {
        match err {
            HandoffQueryError::BadRequest(m) => ApiError::BadRequest(m),
            HandoffQueryError::Other(e) => ApiError::Internal(e),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Filter {
    status: Option<String>,
    unit: Option<String>,
    period: Option<String>,
}

async fn blocking(
    work: impl FnOnce() -> Result<Value, HandoffQueryError> + Send + 'static,
) -> Result<Json<Value>, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("hand-off task failed: {e}")))?
        .map(Json)
        .map_err(ApiError::from)
}

async fn requests(
    State(handoff): State<Handoff>,
    Query(f): Query<Filter>,
) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        handoff.list_requests(f.status.as_deref(), f.unit.as_deref(), f.period.as_deref())
    })
    .await
}

async fn contributions(
    State(handoff): State<Handoff>,
    Query(f): Query<Filter>,
) -> Result<Json<Value>, ApiError> {
    blocking(move || handoff.contribution_report(f.period.as_deref(), f.unit.as_deref())).await
}
