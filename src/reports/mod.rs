//! Team reports, pure core: report definitions, periods, commands, the one-line parser,
//! the guided form, aggregation and export rendering.
//!
//! Invariant: nothing here does I/O, reads the clock or draws random numbers; callers
//! pass `now` in. The edge that stores and sends is `crate::reports_runtime`.

pub mod aggregate;
pub mod chat;
pub mod command;
pub mod definition;
pub mod export;
pub mod form;
pub mod import;
pub mod model;
pub mod oneline;
pub mod period;
pub mod reminders;
pub mod render;
pub mod text;
pub mod value;
pub mod view;
pub mod xlsx;
