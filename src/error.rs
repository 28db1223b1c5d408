//! HTTP error mapping: the only `IntoResponse` for errors. Bodies are short JSON;
//! internal causes are logged here, never returned.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: bad or missing credentials (webhook signature, admin token).
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// 403: the admin API is disabled because no admin token is configured.
    #[error("admin API disabled: admin.token is not set")]
    AdminDisabled,
    /// 400: the request cannot be understood.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 404.
    #[error("not found")]
    NotFound,
    /// 503: a dependency (store flush) is not available right now; the caller retries.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected I/O failure.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> ApiError {
        match err {
            crate::store::StoreError::NotFound => ApiError::NotFound,
            other => ApiError::Internal(other.into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::AdminDisabled => (StatusCode::FORBIDDEN, "admin_disabled"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let message = match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                "internal error".to_owned()
            }
            ApiError::Unavailable(why) => {
                tracing::error!(reason = %why, "service unavailable");
                "temporarily unavailable, retry later".to_owned()
            }
            other => other.to_string(),
        };
        (status, Json(json!({"error": code, "message": message}))).into_response()
    }
}
