//! Operator HTTP API (the lead's module; this branch only adds the dialog routes).

pub mod dialogs;
