//! `cnscd-bot check [DIR]` and `cnscd-bot chat [--dialogs DIR] [--record FILE]`.
//!
//! The lead's `main.rs` embeds these `Args` structs as clap subcommands and calls
//! [`run_check`] / [`run_chat`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::dialog::{self, Date, LoadOptions};

/// Default folder of the shipped dialogs.
pub const DEFAULT_DIALOGS_DIR: &str = "dialogs";

/// Validate the dialog files and run their transcript tests.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Folder holding the dialog files (*.toml) and tests/*.txt.
    #[arg(default_value = DEFAULT_DIALOGS_DIR)]
    pub dir: PathBuf,
    /// Review interval in days for facts that do not set review_days.
    #[arg(long, default_value_t = 180)]
    pub review_days: u32,
}

/// Loads `args.dir`, prints every diagnostic, and exits non-zero on any error.
pub fn run_check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let files = super::read_dialog_dir(&args.dir)
        .with_context(|| format!("reading dialogs folder {}", args.dir.display()))?;
    let options = LoadOptions { today: Some(today()), review_days: args.review_days };
    let loaded = dialog::load(&files, &options);
    for diagnostic in &loaded.diagnostics {
        println!("{diagnostic}");
    }
    let errors = loaded.errors().count();
    let warnings = loaded.warnings().count();
    match &loaded.set {
        Some(set) => println!(
            "{} kịch bản, {} bước, phiên bản {}: {errors} lỗi, {warnings} cảnh báo",
            set.dialogs().count(),
            set.node_count(),
            set.version()
        ),
        None => println!("không nạp được kịch bản: {errors} lỗi, {warnings} cảnh báo"),
    }
    Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Today's date in Vietnam (UTC+7), for fact review dates.
pub(crate) fn today() -> Date {
    Date::from_unix_secs(unix_now() + 7 * 3600)
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
