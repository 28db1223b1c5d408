//! Scripted dialogs: the admin file format, its validation and the pure engine.
//!
//! Owns everything about `dialogs/*.toml` that does not touch the outside world:
//! `format` (raw serde structs = what admins write), `load` + `nodes` (validation into a
//! `DialogSet`, with compiler-style `Diagnostic`s), `text` (Vietnamese folding), `engine`
//! (the step function), `transcript` (admin-written conversation tests).
//! Invariant: no I/O, no clock, no randomness here; `dialog_runtime` is the I/O edge.

mod answer;
mod date;
mod diagnostic;
mod engine;
mod facts;
pub mod format;
mod intents;
mod lexicon;
mod list;
mod load;
mod model;
mod nodes;
mod payload;
mod render;
mod session;
mod strict;
pub mod text;
pub mod transcript;
mod triggers;
pub mod understanding;

/// Days a message that was not understood stays in the editors' review list
/// (`dialogs.unmatched_retention_days`).
pub const DEFAULT_UNMATCHED_RETENTION_DAYS: u32 = 90;

pub use date::Date;
pub use diagnostic::{Code, Diagnostic, Severity};
pub use engine::{DEFAULT_IDLE_TIMEOUT_SECS, EngineOptions, step, step_with, warning};
pub use load::{DEFAULT_REVIEW_DAYS, LoadOptions, Loaded, SourceFile, load};
pub use model::{Action, DialogSet, StaleFact, Target};
pub use payload::Payload;
pub use session::{Input, Position, Session, Step, Understood};
