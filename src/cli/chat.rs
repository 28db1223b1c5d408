//! `cnscd-bot chat [--dialogs DIR] [--record FILE]`: the dialogs in the terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use super::check::DEFAULT_DIALOGS_DIR;

/// Talk to the dialogs in the terminal, as a citizen would on Zalo.
#[derive(Debug, Clone, clap::Args)]
pub struct ChatArgs {
    /// Folder holding the dialog files.
    #[arg(long, default_value = DEFAULT_DIALOGS_DIR)]
    pub dialogs: PathBuf,
    /// Write the conversation to FILE as a transcript test (dialogs/tests format).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

/// Runs the terminal simulator on stdin/stdout until EOF or `/thoat`.
pub fn run_chat(args: ChatArgs) -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    crate::dialog_runtime::run_chat(
        &args.dialogs,
        args.record.as_deref(),
        &mut stdin.lock(),
        &mut stdout.lock(),
    )
}
