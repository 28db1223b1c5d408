//! The binary's subcommands other than `serve`: their argument structs (the only clap in
//! the library, one file per subcommand) and what each does. `main.rs` puts them together.
//!
//! - `say`: one signed test message to a sandbox server, its replies printed;
//! - `check`: dialog files, transcripts, the understanding set, stale facts;
//! - `chat`: the dialogs in the terminal;
//! - `tokens`: `tokens set`;
//! - `reports`: `units import`, `teams import`, `export` (service stopped).

pub mod chat;
pub mod check;
pub mod reports;
pub mod say;
pub mod tokens;
