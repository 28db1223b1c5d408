//! Minimal CLI for the dialog branch; the lead's main.rs replaces it on merge.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cnscd_bot::dialog_runtime::cli::{CheckArgs, run_check};

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
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Check(args) => run_check(args),
    };
    result.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::FAILURE
    })
}
