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

impl ApiError {
    /// Short machine-readable name (the `error` field of the body; a metrics label).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::AdminDisabled => "admin_disabled",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::NotFound => "not_found",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            ApiError::Unauthorized(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Chưa xác thực: thiếu hoặc sai mã quản trị.",
            ),
            ApiError::AdminDisabled => (
                StatusCode::FORBIDDEN,
                "admin_disabled",
                "API quản trị đang tắt: máy chủ chưa đặt mã quản trị (admin.token).",
            ),
            ApiError::BadRequest(_) => {
                (StatusCode::BAD_REQUEST, "bad_request", "Yêu cầu không hợp lệ.")
            }
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", "Không tìm thấy."),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Dịch vụ tạm thời chưa sẵn sàng, vui lòng thử lại sau.",
            ),
            ApiError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Lỗi bên trong máy chủ.")
            }
        };
        let detail = match &self {
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
        error_body(status, code, message, &detail)
    }
}

/// The one error body shape: a code, a Vietnamese `message` for people and an English
/// `detail` for developers.
fn error_body(status: StatusCode, code: &str, message: &str, detail: &str) -> Response {
    (status, Json(json!({"error": code, "message": message, "detail": detail}))).into_response()
}

/// Rewrites the framework's plain-text rejections (a body that is not JSON, a wrong
/// content type, a missing field) into the same JSON error shape, keeping the status
/// (400, 413, 415, 422). Other responses pass unchanged.
pub async fn json_rejections(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "Yêu cầu không hợp lệ."),
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "Nội dung gửi lên quá lớn."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "Sai kiểu nội dung: gửi JSON với tiêu đề Content-Type: application/json.",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => {
            ("unprocessable", "Nội dung JSON thiếu trường bắt buộc hoặc có giá trị sai kiểu.")
        }
        _ => return response,
    };
    if is_json {
        return response;
    }
    let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024).await.unwrap_or_default();
    error_body(status, code, message, String::from_utf8_lossy(&bytes).trim())
}
