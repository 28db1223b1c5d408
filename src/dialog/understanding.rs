//! Measuring free-text understanding on a labelled set (`dialogs/tests/understanding.tsv`).
//!
//! Each data line is `message<TAB>expected<TAB>tags`: `expected` is `dialog:node` or just
//! `dialog`; tags are comma-separated, `danger` marks a scam in progress and `in=dialog:node`
//! says where the conversation stands (otherwise the message opens a fresh conversation).
//! `#` starts a comment; `#! key = value` sets a threshold (`min_dialog`, `min_node`,
//! `min_danger`, `max_miss`, as shares from 0 to 1). Pure: the caller reads the file.

use super::diagnostic::{Code, Diagnostic, Severity};
use super::engine::{EngineOptions, step_traced};
use super::load::SourceFile;
use super::model::{DialogSet, Target};
use super::session::{Input, Session, Understood};
use crate::calendar::UnixSecs;

/// Thresholds stated in the file (`None` = not checked).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    pub min_dialog: Option<f64>,
    pub min_node: Option<f64>,
    pub min_danger: Option<f64>,
    pub max_miss: Option<f64>,
}

/// One labelled message.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub line: usize,
    pub message: String,
    pub dialog: String,
    /// `None`: only the dialog matters.
    pub node: Option<String>,
    pub danger: bool,
    /// Where the conversation stands (`in=dialog:node`).
    pub at: Option<Target>,
}

/// What happened to one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Shown directly: the nodes shown (a `goto` chain may show several).
    Answered(Vec<Target>),
    /// Offered back as buttons.
    AskedBack(Vec<Target>),
    Missed,
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub case: Case,
    pub outcome: Outcome,
    pub top1: bool,
    pub dialog_ok: bool,
    pub node_ok: bool,
    /// Danger lines: the reply opened with an urgent node.
    pub warned: bool,
}

/// Figures over the whole file.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub results: Vec<CaseResult>,
    pub thresholds: Thresholds,
    pub diagnostics: Vec<Diagnostic>,
}

impl Evaluation {
    fn share(
        &self,
        count: impl Fn(&CaseResult) -> bool,
        over: impl Fn(&CaseResult) -> bool,
    ) -> f64 {
        let total = self.results.iter().filter(|r| over(r)).count();
        if total == 0 {
            return 1.0;
        }
        self.results.iter().filter(|r| over(r) && count(r)).count() as f64 / total as f64
    }

    /// Shown directly and right (node-level when the line names a node).
    pub fn top1(&self) -> f64 {
        self.share(|r| r.top1, |_| true)
    }
    pub fn dialog(&self) -> f64 {
        self.share(|r| r.dialog_ok, |_| true)
    }
    /// Right node directly or among the ask-back buttons.
    pub fn node(&self) -> f64 {
        self.share(|r| r.node_ok, |_| true)
    }
    pub fn asked_back(&self) -> f64 {
        self.share(|r| matches!(r.outcome, Outcome::AskedBack(_)), |_| true)
    }
    pub fn missed(&self) -> f64 {
        self.share(|r| r.outcome == Outcome::Missed, |_| true)
    }
    pub fn danger_recall(&self) -> f64 {
        self.share(|r| r.warned, |r| r.case.danger)
    }
    pub fn danger_lines(&self) -> usize {
        self.results.iter().filter(|r| r.case.danger).count()
    }
    /// Ordinary lines answered with a danger warning.
    pub fn false_alarms(&self) -> usize {
        self.results.iter().filter(|r| !r.case.danger && r.warned).count()
    }

    /// Thresholds not met, as sentences.
    pub fn failures(&self) -> Vec<String> {
        let t = &self.thresholds;
        let mut failures = Vec::new();
        let mut below = |name: &str, value: f64, min: Option<f64>| {
            if let Some(min) = min
                && value + 1e-9 < min
            {
                failures.push(format!("{name} {:.1}% < {:.1}%", value * 100.0, min * 100.0));
            }
        };
        below("min_dialog", self.dialog(), t.min_dialog);
        below("min_node", self.node(), t.min_node);
        below("min_danger", self.danger_recall(), t.min_danger);
        if let Some(max) = t.max_miss
            && self.missed() > max + 1e-9
        {
            failures.push(format!("max_miss {:.1}% > {:.1}%", self.missed() * 100.0, max * 100.0));
        }
        failures
    }
}

/// Reads the file: cases, thresholds and problems (with file:line).
pub fn parse(file: &SourceFile) -> (Vec<Case>, Thresholds, Vec<Diagnostic>) {
    let mut cases = Vec::new();
    let mut thresholds = Thresholds::default();
    let mut diagnostics = Vec::new();
    let mut problem = |line: usize, message: String| {
        diagnostics.push(Diagnostic {
            severity: Severity::Error,
            code: Code::Transcript,
            file: file.path.clone(),
            line,
            column: 1,
            message,
        });
    };
    for (index, raw) in file.contents.lines().enumerate() {
        let line = index + 1;
        if let Some(setting) = raw.strip_prefix("#!") {
            let Some((key, value)) = setting.split_once('=') else {
                problem(line, format!("dòng \"{raw}\": cần dạng \"#! tên = giá trị\""));
                continue;
            };
            let value = match value.trim().parse::<f64>() {
                Ok(v) if (0.0..=1.0).contains(&v) => v,
                _ => {
                    problem(line, format!("\"{}\" không phải số từ 0 đến 1", value.trim()));
                    continue;
                }
            };
            match key.trim() {
                "min_dialog" => thresholds.min_dialog = Some(value),
                "min_node" => thresholds.min_node = Some(value),
                "min_danger" => thresholds.min_danger = Some(value),
                "max_miss" => thresholds.max_miss = Some(value),
                other => problem(
                    line,
                    format!(
                        "ngưỡng \"{other}\" không có (min_dialog, min_node, min_danger, max_miss)"
                    ),
                ),
            }
            continue;
        }
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        let mut columns = raw.split('\t');
        let message = columns.next().unwrap_or_default().trim();
        let expected = columns.next().unwrap_or_default().trim();
        let tags = columns.next().unwrap_or_default();
        if message.is_empty() || expected.is_empty() {
            problem(line, "cần \"câu nhắn<TAB>kịch_bản:bước<TAB>nhãn\"".to_owned());
            continue;
        }
        let (dialog, node) = match expected.split_once(':') {
            Some((dialog, node)) => (dialog.to_owned(), Some(node.to_owned())),
            None => (expected.to_owned(), None),
        };
        let mut case =
            Case { line, message: message.to_owned(), dialog, node, danger: false, at: None };
        for tag in tags.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if tag == "danger" {
                case.danger = true;
            } else if let Some((dialog, node)) =
                tag.strip_prefix("in=").and_then(|t| t.split_once(':'))
            {
                case.at = Some(Target { dialog: dialog.to_owned(), node: node.to_owned() });
            } else {
                problem(line, format!("nhãn \"{tag}\" không có (danger, in=kịch_bản:bước)"));
            }
        }
        cases.push(case);
    }
    (cases, thresholds, diagnostics)
}

/// Runs every case on `set`; unknown expected nodes are reported, not scored.
pub fn evaluate(set: &DialogSet, file: &SourceFile) -> Evaluation {
    let (cases, thresholds, mut diagnostics) = parse(file);
    let mut results = Vec::new();
    for case in cases {
        let unknown = |dialog: &str, node: Option<&str>| match node {
            Some(node) => set.node(dialog, node).is_none(),
            None => !set.dialogs.contains_key(dialog),
        };
        let expected_unknown = unknown(&case.dialog, case.node.as_deref());
        let at_unknown = case.at.as_ref().is_some_and(|t| unknown(&t.dialog, Some(&t.node)));
        if expected_unknown || at_unknown {
            diagnostics.push(Diagnostic {
                severity: Severity::Error,
                code: Code::DanglingJump,
                file: file.path.clone(),
                line: case.line,
                column: 1,
                message: "kịch bản hoặc bước không tồn tại".to_owned(),
            });
            continue;
        }
        results.push(run_case(set, case));
    }
    Evaluation { results, thresholds, diagnostics }
}

fn run_case(set: &DialogSet, case: Case) -> CaseResult {
    const NOW: UnixSecs = UnixSecs(1_000_000);
    let session = case.at.as_ref().map(|at| Session::new(set.version(), &at.dialog, &at.node, NOW));
    let input = Input::Text(case.message.clone());
    let (step, visited) = step_traced(set, session, &input, NOW, &EngineOptions::default());
    let outcome = match step.understood {
        Understood::No => Outcome::Missed,
        Understood::AskedBack => Outcome::AskedBack(
            step.session
                .map(|s| s.pending.iter().map(|p| p.target()).collect())
                .unwrap_or_default(),
        ),
        Understood::Yes => Outcome::Answered(visited),
    };
    let right_node = |t: &Target| {
        t.dialog == case.dialog && case.node.as_ref().is_none_or(|node| *node == t.node)
    };
    let (top1, dialog_ok, node_ok, warned) = match &outcome {
        Outcome::Answered(shown) => {
            let right = shown.iter().any(right_node);
            let dialog = shown.first().is_some_and(|t| t.dialog == case.dialog);
            let warned = shown.first().is_some_and(|t| set.is_urgent(&t.dialog));
            (right, dialog || right, right, warned)
        }
        Outcome::AskedBack(offered) => (
            false,
            offered.iter().any(|t| t.dialog == case.dialog),
            offered.iter().any(right_node),
            false,
        ),
        Outcome::Missed => (false, false, false, false),
    };
    CaseResult { case, outcome, top1, dialog_ok, node_ok, warned }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let file = SourceFile {
            path: "tests/understanding.tsv".into(),
            contents: "# c\n#! min_node = 0.8\n#! max_miss = 2\n#! foo = 0.1\nquen mk\tdvc:mat_khau\nmuc 2\tdvc:b\tin=dvc:a, danger\nx\n\nok\ttc\tbad\n".into(),
        };
        let (cases, thresholds, diagnostics) = parse(&file);
        assert_eq!(thresholds.min_node, Some(0.8));
        assert_eq!(thresholds.max_miss, None);
        let lines: Vec<usize> = diagnostics.iter().map(|d| d.line).collect();
        assert_eq!(lines, [3, 4, 7, 9]);
        assert_eq!(cases.len(), 3);
        assert_eq!(cases[0].node.as_deref(), Some("mat_khau"));
        assert!(cases[1].danger);
        assert_eq!(cases[1].at, Some(Target { dialog: "dvc".into(), node: "a".into() }));
        assert_eq!(cases[2].node, None);
    }
}
