//! The I/O edge of the dialog engine: reading `dialogs/`, hot reload and the admin commands.
//!
//! Owns the `Registry` (the live, validated dialog set plus the previous good one and older
//! versions still pinned by sessions), the file watcher and SIGHUP trigger, and the `check`
//! and `chat` CLI commands. The pure logic lives in `crate::dialog`.

mod chat;
mod registry;
mod source;
mod status;
mod watch;

pub use chat::run as run_chat;
pub use registry::{
    DEFAULT_UNMATCHED_RETENTION_DAYS, NO_DIALOGS_REPLY, Registry, RegistryOptions, RollbackError,
};
pub use source::{read_dialog_dir, read_transcripts};
pub use status::{
    AttemptView, DiagnosticView, DialogView, RegistryStatus, ReloadOutcome, StaleFactView,
};
pub use watch::{DEBOUNCE, WatchError, WatcherGuard};

/// Today's date in Vietnam (UTC+7) by `clock`: what fact review dates are compared with.
/// Used by the registry (reloads) and by the `check`/`chat` commands.
pub(crate) fn today(clock: &crate::clock::Clock) -> crate::dialog::Date {
    crate::dialog::Date::from_unix_secs(clock.now_secs().get() + crate::calendar::UTC_OFFSET_SECS)
}
