//! `cnscd-bot check [DIR]`: validate the dialog files, run their transcript tests and the
//! understanding set, list stale facts and (optionally) unmatched messages.

use crate::calendar::UnixMs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::dialog::understanding::{self, Outcome};
use crate::dialog::{self, Date, DialogSet, EngineOptions, LoadOptions, SourceFile, transcript};
use crate::dialog_runtime::{read_dialog_dir, read_transcripts, today};

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
    /// For each wrong line of tests/understanding.tsv, show how the message was read and
    /// the best candidates (score/confidence).
    #[arg(long)]
    pub explain: bool,
    /// Show how MESSAGE is read and the best candidates (repeatable).
    #[arg(long, value_name = "MESSAGE")]
    pub why: Vec<String>,
    /// Also list the most frequent messages that were not understood, from the service's
    /// store (stop the service first: the store is opened for writing).
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Also list them from a running service's admin API (e.g. http://127.0.0.1:8080).
    #[arg(long, value_name = "URL", conflicts_with = "store")]
    pub admin_url: Option<String>,
    /// Admin bearer token for --admin-url.
    #[arg(long, env = "CNSCD__ADMIN__TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

/// How many unmatched messages `check` lists.
const UNMATCHED_SHOWN: usize = 20;

/// Loads `args.dir`, prints every diagnostic, and exits non-zero on any error.
pub fn run_check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let files = read_dialog_dir(&args.dir)
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
    let transcripts = read_transcripts(&args.dir)
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
    for message in &args.why {
        println!("\"{message}\": {}", set.explain(message));
    }
    if let Some(path) = &args.store {
        let store = crate::store::Store::open(path)
            .with_context(|| format!("opening the store {}", path.display()))?;
        let items = store.unmatched_list(UNMATCHED_SHOWN, UnixMs(0))?;
        let rows = items.iter().map(|u| {
            let day = Date::from_unix_secs(
                u.last_seen_ms.to_secs().get() + crate::calendar::UTC_OFFSET_SECS,
            );
            (u.text.clone(), u.count(), u.asked_back, day.to_string())
        });
        print_unmatched(rows.collect());
    }
    if let Some(url) = &args.admin_url {
        print_unmatched(fetch_unmatched(url, args.admin_token.as_deref().unwrap_or_default())?);
    }
    let labelled = args.dir.join(UNDERSTANDING_FILE);
    if labelled.exists() {
        let contents = std::fs::read_to_string(&labelled)
            .with_context(|| format!("reading {}", labelled.display()))?;
        let file = SourceFile { path: labelled.display().to_string(), contents };
        errors += print_understanding(set, &file, args.explain);
    }
    Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// (text, count, of which ask-backs, day last seen), most frequent first.
type UnmatchedRow = (String, u64, u64, String);

fn print_unmatched(rows: Vec<UnmatchedRow>) {
    if rows.is_empty() {
        println!("chưa có câu nào bot không hiểu");
        return;
    }
    println!("câu bot chưa hiểu nhiều nhất (thêm vào examples của bước phù hợp):");
    for (text, count, asked_back, day) in rows {
        println!("  {count:>4} lần ({asked_back} lần hỏi lại), lần cuối {day}: \"{text}\"");
    }
}

/// `GET <url>/admin/api/unmatched` on a running service (its own thread and runtime: `check`
/// is called from inside the CLI's runtime).
fn fetch_unmatched(url: &str, token: &str) -> anyhow::Result<Vec<UnmatchedRow>> {
    let endpoint =
        format!("{}/admin/api/unmatched?limit={UNMATCHED_SHOWN}", url.trim_end_matches('/'));
    let token = token.to_owned();
    let body: serde_json::Value = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let response = reqwest::Client::new().get(&endpoint).bearer_auth(token).send().await?;
            let status = response.status();
            anyhow::ensure!(status.is_success(), "{endpoint}: HTTP {status}");
            Ok(response.json().await?)
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("admin API request panicked"))??;
    let items = body["items"].as_array().cloned().unwrap_or_default();
    Ok(items
        .iter()
        .map(|item| {
            (
                item["text"].as_str().unwrap_or_default().to_owned(),
                item["count"].as_u64().unwrap_or_default(),
                item["asked_back"].as_u64().unwrap_or_default(),
                // ISO 8601 in Vietnam time (admin API convention): the date part.
                item["last_seen_at"].as_str().unwrap_or_default().chars().take(10).collect(),
            )
        })
        .collect())
}

/// The labelled set for free-text understanding, inside the dialogs folder.
pub const UNDERSTANDING_FILE: &str = "tests/understanding.tsv";

/// Prints the figures and the lines that went wrong; returns the number of failures.
fn print_understanding(set: &DialogSet, file: &SourceFile, explain: bool) -> usize {
    let evaluation = understanding::evaluate(set, file);
    for diagnostic in &evaluation.diagnostics {
        println!("{diagnostic}");
    }
    let label = |t: &dialog::Target| format!("{}:{}", t.dialog, t.node);
    for result in evaluation.results.iter().filter(|r| !r.node_ok || (r.case.danger && !r.warned)) {
        let got = match &result.outcome {
            Outcome::Answered(shown) => {
                shown.first().map(label).unwrap_or_else(|| "(hỏi lại câu trả lời)".to_owned())
            }
            Outcome::AskedBack(offered) => {
                format!("hỏi lại [{}]", offered.iter().map(label).collect::<Vec<_>>().join(", "))
            }
            Outcome::Missed => "không hiểu".to_owned(),
        };
        let expected = match &result.case.node {
            Some(node) => format!("{}:{node}", result.case.dialog),
            None => result.case.dialog.clone(),
        };
        println!(
            "{}:{}: \"{}\": mong {expected}, được {got}",
            file.path, result.case.line, result.case.message
        );
        if explain {
            println!("    {}", set.explain(&result.case.message));
        }
    }
    let pct = |share: f64| format!("{:.1}%", share * 100.0);
    println!(
        "hiểu câu tự do ({} câu): đúng ngay {}, đúng kịch bản {}, đúng bước (ngay hoặc sau một lần hỏi lại) {}, hỏi lại {}, không hiểu {}; cảnh báo lừa đảo {} của {} câu nguy hiểm, báo nhầm {}",
        evaluation.results.len(),
        pct(evaluation.top1()),
        pct(evaluation.dialog()),
        pct(evaluation.node()),
        pct(evaluation.asked_back()),
        pct(evaluation.missed()),
        pct(evaluation.danger_recall()),
        evaluation.danger_lines(),
        evaluation.false_alarms(),
    );
    let failures = evaluation.failures();
    if !failures.is_empty() {
        println!("chưa đạt ngưỡng: {}", failures.join("; "));
    }
    failures.len() + evaluation.diagnostics.len()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// `cnscd-bot check DIR` with every option at its default.
    fn args(dir: &Path) -> CheckArgs {
        CheckArgs {
            dir: dir.to_owned(),
            review_days: dialog::DEFAULT_REVIEW_DAYS,
            strict: false,
            stale: false,
            explain: false,
            why: Vec::new(),
            store: None,
            admin_url: None,
            admin_token: None,
        }
    }

    fn check(dir: &Path) -> ExitCode {
        run_check(args(dir)).expect("check runs")
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

        let missing = run_check(args(&dir.path().join("none")));
        assert!(missing.is_err());
    }
}
