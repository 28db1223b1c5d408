//! cnscd-bot: the service behind a Zalo Official Account for Vietnam's
//! Community Digital Technology Teams (Tổ Công nghệ số cộng đồng).
//!
//! Reading order: `settings` → `zalo` (webhook in, messages out) → `store` (sled) →
//! `conversation` (the seam between the channel and the pure cores) → `dialog` and
//! `reports` (pure cores) → `admin` (operator HTTP API) → `app` (wiring).
//! See ARCHITECTURE.md for the data flow and the invariants.

pub mod admin;
pub mod alloc;
pub mod app;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod console;
pub mod conversation;
pub mod csprng;
pub mod dialog;
pub mod dialog_runtime;
pub mod error;
pub mod handoff;
pub mod handoff_runtime;
pub mod hardening;
pub mod pipeline;
pub mod privacy;
pub mod reply;
pub mod reports;
pub mod reports_runtime;
pub mod server;
pub mod settings;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod vntext;
pub mod zalo;
