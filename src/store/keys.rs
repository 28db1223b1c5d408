//! Tree names and key layout.
//!
//! | tree             | key                       | value                         |
//! |------------------|---------------------------|-------------------------------|
//! | `inbox`          | seq, u64 big-endian       | `InboxEntry` (JSON)           |
//! | `seen`           | dedupe key (UTF-8)        | received at, i64 ms BE        |
//! | `outbox`         | id, u64 big-endian        | `OutboxEntry` (JSON)          |
//! | `outbox_queue`   | user id, 0, id u64 BE     | next attempt ms BE            |
//! | `users`          | Zalo user id (UTF-8)      | `UserRecord` (JSON)           |
//! | `sessions`       | Zalo user id (UTF-8)      | dialog session (JSON)         |
//! | `meta`           | `zalo_tokens`             | `TokenPair` (JSON)            |
//! | `once`           | once key (UTF-8)          | done at, i64 ms BE            |
//! | `dead`           | seq, u64 big-endian       | `InboxEntry` with `failure`   |
//! | `console`        | `sess/…`, `link/…`, `dl/…`, `log/…` | web console sessions, one-time links, dialog change log (`console.rs`) |
//! | `unmatched`      | masked folded text        | `Unmatched` (JSON)            |
//!
//! Big-endian ids make byte order equal numeric order, so iteration is arrival order.
//! The sender reads `outbox_queue` through an in-memory copy (`due.rs`). Stores written
//! before it existed had an `outbox_pending` index (id → due + user); it is moved into
//! the queue and dropped when such a store is opened.
//!
//! Beside the sled directory `<store.path>` lives the inbox journal `<store.path>.journal`
//! (see `journal.rs`): acknowledged webhooks and send results not yet checkpointed into
//! sled, and for a moment during a checkpoint its predecessor `<store.path>.journal.old`.

pub const INBOX: &str = "inbox";
pub const SEEN: &str = "seen";
pub const OUTBOX: &str = "outbox";
/// Only read to migrate old stores (see above).
pub const OUTBOX_PENDING: &str = "outbox_pending";
pub const OUTBOX_QUEUE: &str = "outbox_queue";
pub const USERS: &str = "users";
pub const SESSIONS: &str = "sessions";
pub const META: &str = "meta";
pub const ONCE: &str = "once";
pub const DEAD: &str = "dead";
pub const UNMATCHED: &str = "unmatched";

pub const TOKENS: &[u8] = b"zalo_tokens";

pub fn u64_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

pub fn parse_u64(key: &[u8]) -> u64 {
    key.try_into().map(u64::from_be_bytes).unwrap_or(0)
}
