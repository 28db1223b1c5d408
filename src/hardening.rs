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
    512
}
pub fn default_failed_retention_days() -> u64 {
    30
}
pub fn default_cache_mb() -> u64 {
    32
}
