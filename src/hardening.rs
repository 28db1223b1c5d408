//! Defaults of the hardening settings (issue #8) and the start-up resource limits.

pub fn default_shutdown_grace_secs() -> u64 {
    10
}
pub fn default_header_read_timeout_secs() -> u64 {
    5
}
pub fn default_request_timeout_secs() -> u64 {
    10
}
pub fn default_max_connections() -> usize {
    4096
}
pub fn default_failed_retention_days() -> u64 {
    30
}
pub fn default_cache_mb() -> u64 {
    16
}

/// The tracing span of one HTTP request: method, path (never the query string, which
/// may carry a token) and a request id (the `x-request-id` header when it is a short
/// token, else a process-unique counter).
pub fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let given = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    let id = match given {
        Some(id) => id.to_owned(),
        None => format!("r{:x}", NEXT.fetch_add(1, Ordering::Relaxed)),
    };
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}
