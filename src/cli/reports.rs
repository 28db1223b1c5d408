//! Command-line operations on the reports data: `units import`, `teams import`,
//! `export`. They open the store directly, so run them while the service is stopped
//! (sled allows one process); with the service running, use the admin API instead.

use std::path::PathBuf;

use anyhow::Context;

use crate::reports_runtime::Reporting;
use crate::reports_runtime::query::{ExportFormat, ReportFilter};
use crate::settings::Settings;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// CSV file (UTF-8; a BOM is fine). See config/units-example.csv / teams-example.csv.
    pub file: PathBuf,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Csv,
    Xlsx,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Period key(s), comma-separated: 2026-10 or 2026-W45. Default: all periods.
    #[arg(long)]
    pub period: Option<String>,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: FormatArg,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// Only teams in this unit (code) or below it.
    #[arg(long)]
    pub unit: Option<String>,
    /// Report type key (default: the first in the definition file).
    #[arg(long = "type")]
    pub report: Option<String>,
}

fn open(settings: &Settings) -> anyhow::Result<Reporting> {
    let store = Store::open_for_command(&settings.effective_store_path(), "the admin API")?;
    Reporting::load(store, settings.reports.clone())
}

pub fn units_import(settings: &Settings, args: ImportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let count = open(settings)?.import_units(&text).context("units not imported")?;
    println!("{count} units imported from {}", args.file.display());
    Ok(())
}

pub fn teams_import(settings: &Settings, args: ImportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let teams = open(settings)?
        .import_teams(&text, crate::clock::Clock::system().now_secs())
        .context("teams not imported")?;
    for team in &teams {
        println!("team {}\t{}\t{}", team.id, team.unit, team.name);
    }
    println!("{} teams created from {}", teams.len(), args.file.display());
    Ok(())
}

pub fn export(settings: &Settings, args: ExportArgs) -> anyhow::Result<()> {
    let filter =
        ReportFilter { unit: args.unit, period: args.period, report: args.report, history: false };
    let format = match args.format {
        FormatArg::Csv => ExportFormat::Csv,
        FormatArg::Xlsx => ExportFormat::Xlsx,
    };
    let bytes = open(settings)?.export(&filter, format)?;
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    println!("{} bytes written to {}", bytes.len(), args.out.display());
    Ok(())
}
