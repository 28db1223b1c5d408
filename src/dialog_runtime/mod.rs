//! The I/O edge of the dialog engine: reading `dialogs/`, hot reload and the admin commands.
//!
//! Owns the `Registry` (the live, validated dialog set plus the previous good one and older
//! versions still pinned by sessions), the file watcher and SIGHUP trigger, and the `check`
//! and `chat` CLI commands. The pure logic lives in `crate::dialog`.

mod chat;
pub mod cli;
mod registry;
mod source;
mod status;
mod watch;

pub use registry::{
    DEFAULT_UNMATCHED_RETENTION_DAYS, NO_DIALOGS_REPLY, Registry, RegistryOptions, RollbackError,
};
pub use source::{read_dialog_dir, read_transcripts};
pub use status::{
    AttemptView, DiagnosticView, DialogView, RegistryStatus, ReloadOutcome, StaleFactView,
};
pub use watch::{DEBOUNCE, WatchError, WatcherGuard};
