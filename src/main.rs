//! The `cnscd-bot` binary: a thin shell over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cnscd_bot::cli::{chat, check, reports, say, tokens};
use cnscd_bot::settings::Settings;
use cnscd_bot::{app, telemetry};

#[derive(Parser)]
#[command(name = "cnscd-bot", version, about = "Zalo OA service for Tổ Công nghệ số cộng đồng")]
struct Cli {
    /// Settings file layered over the embedded defaults (env CNSCD__* wins over both).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (sandbox mode when no Zalo credentials are configured).
    Serve {
        /// Sandbox mode only: delete the sandbox store first and start clean.
        #[arg(long)]
        fresh: bool,
    },
    /// Send a signed test message to a sandbox server and print the replies.
    Say(say::SayArgs),
    /// Validate dialog files, run their transcript tests and list stale facts.
    Check(check::CheckArgs),
    /// Talk to the dialogs in the terminal (the same engine as the service).
    Chat(chat::ChatArgs),
    /// Manage the stored Zalo token pair.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Administrative units (service stopped).
    #[command(subcommand)]
    Units(ImportCommand),
    /// Teams (service stopped).
    #[command(subcommand)]
    Teams(ImportCommand),
    /// Export reports to CSV or XLSX (service stopped).
    Export(reports::ExportArgs),
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import from a CSV file.
    Import(reports::ImportArgs),
}

#[derive(Subcommand)]
enum TokensCommand {
    /// Replace the stored pair after re-authorising the OA (service stopped).
    Set(tokens::TokensSetArgs),
}

fn main() -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(async_main()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn async_main() -> ExitCode {
    let cli = Cli::parse();
    // Settings that do not load are reported by the command itself, in text logs.
    let format =
        Settings::load(cli.config.as_deref()).map(|s| s.telemetry.format).unwrap_or_default();
    telemetry::init(format);
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = || Settings::load(cli.config.as_deref());
    if !matches!(cli.command, Command::Serve { .. }) {
        quit_quietly_on_closed_stdout();
    }
    match cli.command {
        Command::Serve { fresh } => {
            let settings = settings()?;
            if fresh {
                app::wipe_sandbox_store(&settings);
            }
            let app = app::build(settings).await?;
            app.run(shutdown_signal()).await?;
        }
        Command::Say(args) => say::say(args).await?,
        Command::Check(args) => return check::run_check(args),
        Command::Chat(args) => return chat::run_chat(args),
        Command::Tokens(TokensCommand::Set(args)) => tokens::tokens_set(&settings()?, args)?,
        Command::Units(ImportCommand::Import(args)) => reports::units_import(&settings()?, args)?,
        Command::Teams(ImportCommand::Import(args)) => reports::teams_import(&settings()?, args)?,
        Command::Export(args) => reports::export(&settings()?, args)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The terminal commands print with `println!`, which panics when stdout is a pipe that
/// closed (`cnscd-bot say … | head`). Like other Unix tools they should just stop, so
/// SIGPIPE gets its default action back (Rust ignores it). Not for `serve`: there a peer
/// closing a socket must be an error to handle, not the end of the process.
fn quit_quietly_on_closed_stdout() {
    #[cfg(unix)]
    // SAFETY: sets the disposition of one signal before any other thread writes to a pipe
    // for this command; no handler code runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
