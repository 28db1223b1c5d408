//! Everything that knows Zalo exists: webhook verification and parsing, the OA API v3
//! client, token refresh, the sender task and a local Zalo-compatible fake (sandbox
//! mode and tests). Knows nothing about dialogs or reports.

pub mod client;
pub mod envelope;
pub mod event;
pub mod fake;
pub mod message;
pub mod response;
pub mod sender;
pub mod signature;
pub mod throttle;
pub mod token;
pub mod webhook;

/// User ids with this prefix are local (the web console's test chat): they do not
/// exist on Zalo, so their replies are read from the outbox and never sent.
pub const LOCAL_TEST_USER_PREFIX: &str = "console-test-";
