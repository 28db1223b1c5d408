//! `cnscd-bot check [DIR]` and `cnscd-bot chat [--dialogs DIR] [--record FILE]`.
//!
//! The lead's `main.rs` embeds these `Args` structs as clap subcommands and calls
//! [`run_check`] / [`run_chat`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::today;
use crate::dialog::{self, EngineOptions, LoadOptions, transcript};

/// Default folder of the shipped dialogs.
pub const DEFAULT_DIALOGS_DIR: &str = "dialogs";

/// Validate the dialog files and run their transcript tests.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Folder holding the dialog files (*.toml) and tests/*.txt.
    #[arg(default_value = DEFAULT_DIALOGS_DIR)]
    pub dir: PathBuf,
    /// Review interval in days for facts that do not set review_days.
    #[arg(long, default_value_t = dialog::DEFAULT_REVIEW_DAYS)]
    pub review_days: u32,
    /// Fail while local facts (dialogs/_local.toml) still hold shipped example values
    /// (`placeholder = true`): use before going live.
    #[arg(long)]
    pub strict: bool,
    /// List every fact past its review date (by default they are folded into one line).
    #[arg(long)]
    pub stale: bool,
}

/// Loads `args.dir`, prints every diagnostic, and exits non-zero on any error.
pub fn run_check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let files = super::read_dialog_dir(&args.dir)
        .with_context(|| format!("reading dialogs folder {}", args.dir.display()))?;
    let options = LoadOptions {
        today: Some(today(&crate::clock::Clock::system())),
        review_days: args.review_days,
        strict: args.strict,
    };
    let loaded = dialog::load(&files, &options);
    // Errors first; "needs re-checking" warnings fold into one summary line unless --stale.
    for diagnostic in loaded.errors() {
        println!("{diagnostic}");
    }
    let is_stale = |d: &&dialog::Diagnostic| d.code == dialog::Code::StaleFact;
    for diagnostic in loaded.warnings().filter(|d| args.stale || !is_stale(d)) {
        println!("{diagnostic}");
    }
    let stale_warnings = loaded.warnings().filter(is_stale).count();
    let mut errors = loaded.errors().count();
    let warnings = loaded.warnings().count();
    let Some(set) = &loaded.set else {
        println!("không nạp được kịch bản: {errors} lỗi, {warnings} cảnh báo");
        return Ok(ExitCode::FAILURE);
    };
    println!(
        "{} kịch bản, {} bước, phiên bản {}: {errors} lỗi, {warnings} cảnh báo",
        set.dialogs().count(),
        set.node_count(),
        set.version()
    );
    if stale_warnings > 0 && !args.stale {
        println!(
            "{stale_warnings} dữ kiện hoặc bước đã quá hạn kiểm tra lại (cần đối chiếu lại nguồn rồi sửa verified); chạy \"check --stale\" để xem từng mục"
        );
    }
    let placeholders = set.placeholders();
    if !placeholders.is_empty() {
        println!(
            "{} dữ kiện địa phương vẫn là giá trị mẫu (placeholder = true), người dân sẽ thấy giá trị mẫu: {}. Điền thông tin thật trong _local.toml; \"check --strict\" báo lỗi khi còn giá trị mẫu",
            placeholders.len(),
            placeholders.join(", ")
        );
    }
    let transcripts = super::read_transcripts(&args.dir)
        .with_context(|| format!("reading transcripts in {}/tests", args.dir.display()))?;
    if transcripts.is_empty() {
        println!("chưa có kịch bản thử (tests/*.txt)");
    } else {
        let report = transcript::run(set, &transcripts, &EngineOptions::default());
        for diagnostic in &report.diagnostics {
            println!("{diagnostic}");
        }
        if !report.diagnostics.is_empty() {
            println!(
                "Nếu bạn vừa cố ý sửa lời thoại: sửa dòng \"<\" ở tệp kịch bản thử được nêu trên (tests/*.txt) cho khớp câu mới, hoặc ghi lại lượt thử đó bằng: cnscd-bot chat --dialogs {} --record <tệp mới>.txt",
                args.dir.display()
            );
        }
        errors += report.diagnostics.len();
        let total = set.node_count();
        let visited = report.visited.len();
        println!(
            "thử {} lượt trò chuyện: {} đạt, {} không đạt; đã đi qua {visited}/{total} bước ({}%)",
            report.scenarios,
            report.scenarios - report.failed_scenarios,
            report.failed_scenarios,
            visited * 100 / total.max(1)
        );
        let unvisited = report.unvisited(set);
        if !unvisited.is_empty() {
            let list: Vec<String> =
                unvisited.iter().map(|t| format!("{}:{}", t.dialog, t.node)).collect();
            println!("chưa thử: {}", list.join(", "));
        }
    }
    Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Today's date in Vietnam (UTC+7), for fact review dates.
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
    super::chat::run(&args, &mut stdin.lock(), &mut stdout.lock())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn check(dir: &Path) -> ExitCode {
        run_check(CheckArgs {
            dir: dir.to_owned(),
            review_days: dialog::DEFAULT_REVIEW_DAYS,
            strict: false,
            stale: false,
        })
        .expect("check runs")
    }

    #[test]
    fn check_exit_codes() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dialogs");
        assert_eq!(check(&fixtures), ExitCode::SUCCESS, "warnings do not fail");

        let dir = tempfile::tempdir().expect("tempdir");
        let menu =
            "title = \"M\"\nmain = true\nstart = \"a\"\n[nodes.a]\nsay = \"Chào\"\nend = true\n";
        std::fs::write(dir.path().join("menu.toml"), menu).expect("write");
        assert_eq!(check(dir.path()), ExitCode::SUCCESS);

        std::fs::create_dir(dir.path().join("tests")).expect("tests dir");
        std::fs::write(dir.path().join("tests/a.txt"), "=== x\n> hi\n< Tạm biệt\n").expect("write");
        assert_eq!(check(dir.path()), ExitCode::FAILURE, "a failing transcript fails");

        std::fs::write(dir.path().join("tests/a.txt"), "=== x\n> hi\n< Chào\n").expect("write");
        std::fs::write(dir.path().join("menu.toml"), menu.replace("end = true", ""))
            .expect("write");
        assert_eq!(check(dir.path()), ExitCode::FAILURE, "a load error fails");

        let missing = run_check(CheckArgs {
            dir: dir.path().join("none"),
            review_days: dialog::DEFAULT_REVIEW_DAYS,
            strict: false,
            stale: false,
        });
        assert!(missing.is_err());
    }
}
