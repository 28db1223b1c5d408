//! Minimal CLI for the dialog branch; the lead's main.rs replaces it on merge.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cnscd_bot::dialog_runtime::cli::{ChatArgs, CheckArgs, run_chat, run_check};

#[derive(Parser)]
#[command(name = "cnscd-bot")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate dialog files and run their transcript tests.
    Check(CheckArgs),
    /// Talk to the dialogs in the terminal.
    Chat(ChatArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Check(args) => run_check(args),
        Command::Chat(args) => run_chat(args),
    };
    result.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::FAILURE
    })
}
