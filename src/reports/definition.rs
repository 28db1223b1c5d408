//! Report definitions: `config/reports.toml` parsed into checked report types.
//!
//! Two stages, as ripgrep does with its config: serde reads the raw shape (unknown keys
//! refused), then `compile` checks the cross-field rules and reports *every* problem
//! with its place, so an admin fixes the file in one go. The definition id is a hash of
//! the file bytes: each stored report keeps the id it was entered against.

use std::collections::HashSet;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::period::PeriodKind;
use super::text::fold;

/// All report types of one definition file.
#[derive(Debug, Clone, PartialEq)]
pub struct Definitions {
    /// First 12 hex digits of the SHA-256 of the file.
    pub version: String,
    pub reports: Vec<ReportType>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReportType {
    /// Short key, e.g. "thang"; typed after the command to pick a non-default type.
    pub key: String,
    /// Vietnamese title.
    pub name: String,
    pub period: PeriodKind,
    /// Days after the period ends during which a report counts as on time.
    pub deadline_days: u32,
    /// Days after the period ends during which the *previous* period is the default.
    pub grace_days: u32,
    /// Days after the period ends after which it is locked: no more submissions.
    pub lock_days: u32,
    pub indicators: Vec<Indicator>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    pub code: String,
    /// Full Vietnamese label (echo, exports).
    pub label: String,
    /// Short label for the one-line template.
    pub short: String,
    /// Unit of measure ("người", "hồ sơ"), shown in questions.
    pub unit: Option<String>,
    /// Folded aliases usable as keys in `/bc key=value`.
    pub aliases: Vec<String>,
    pub kind: IndicatorKind,
    pub required: bool,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// Example answer shown when an answer is refused.
    pub example: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    Int,
    Bool,
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    #[error("reports file is not valid TOML: {0}")]
    Toml(String),
    #[error("reports file has {} problem(s):\n  {}", .0.len(), .0.join("\n  "))]
    Invalid(Vec<String>),
}

impl Definitions {
    /// Parses and checks the contents of a definition file.
    pub fn parse(contents: &str) -> Result<Definitions, DefinitionError> {
        let raw: RawFile =
            toml::from_str(contents).map_err(|e| DefinitionError::Toml(e.to_string()))?;
        let version = hex::encode(Sha256::digest(contents.as_bytes()))[..12].to_owned();
        compile(raw, version)
    }

    /// The report type named by `key` (folded), or the first one when `key` is `None`.
    pub fn get(&self, key: Option<&str>) -> Option<&ReportType> {
        match key {
            None => self.reports.first(),
            Some(key) => self.reports.iter().find(|r| r.key == fold(key)),
        }
    }
}

impl ReportType {
    /// The indicator whose code or alias equals `key` (case and diacritics ignored).
    pub fn indicator_by_key(&self, key: &str) -> Option<&Indicator> {
        let key = fold(key);
        self.indicators.iter().find(|i| i.matches_key(&key))
    }
}

impl Indicator {
    /// `folded_key` must already be folded.
    pub fn matches_key(&self, folded_key: &str) -> bool {
        let code = fold(&self.code);
        code == folded_key
            || code.replace('_', "") == folded_key
            || self.aliases.iter().any(|a| a == folded_key)
    }

    /// The key shown in templates: the first alias, else the code.
    pub fn key(&self) -> &str {
        self.aliases.first().map_or(self.code.as_str(), String::as_str)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    report: Vec<RawReport>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReport {
    key: String,
    name: String,
    period: PeriodKind,
    deadline_days: u32,
    grace_days: u32,
    lock_days: u32,
    #[serde(default)]
    indicator: Vec<RawIndicator>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndicator {
    code: String,
    label: String,
    short: Option<String>,
    unit: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(rename = "type")]
    kind: IndicatorKind,
    #[serde(default)]
    required: bool,
    min: Option<i64>,
    max: Option<i64>,
    example: Option<String>,
}

/// Words the one-line parser reads before the values; an alias must not shadow them.
const RESERVED_KEYS: &[&str] = &["bo qua", "gui", "sua", "huy", "mau", "xem", "t", "w"];

fn compile(raw: RawFile, version: String) -> Result<Definitions, DefinitionError> {
    let mut problems = Vec::new();
    if raw.report.is_empty() {
        problems.push("no [[report]] defined".to_owned());
    }
    let mut report_keys = HashSet::new();
    let mut reports = Vec::new();
    for (ri, r) in raw.report.into_iter().enumerate() {
        let at = format!("report #{} ({})", ri + 1, r.key);
        let key = fold(r.key.trim());
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            problems.push(format!("{at}: key must be ASCII letters, digits or _"));
        }
        if !report_keys.insert(key.clone()) {
            problems.push(format!("{at}: duplicate report key"));
        }
        if r.name.trim().is_empty() {
            problems.push(format!("{at}: name is empty"));
        }
        if r.deadline_days > r.lock_days || r.grace_days > r.lock_days {
            problems.push(format!("{at}: deadline_days and grace_days must not exceed lock_days"));
        }
        if r.indicator.is_empty() {
            problems.push(format!("{at}: no [[report.indicator]]"));
        }
        let mut keys_seen: HashSet<String> = HashSet::new();
        let mut indicators = Vec::new();
        for (ii, i) in r.indicator.into_iter().enumerate() {
            let at = format!("{at}, indicator #{} ({})", ii + 1, i.code);
            indicators.push(compile_indicator(i, &at, &mut keys_seen, &mut problems));
        }
        reports.push(ReportType {
            key,
            name: r.name.trim().to_owned(),
            period: r.period,
            deadline_days: r.deadline_days,
            grace_days: r.grace_days,
            lock_days: r.lock_days,
            indicators,
        });
    }
    if problems.is_empty() {
        Ok(Definitions { version, reports })
    } else {
        Err(DefinitionError::Invalid(problems))
    }
}

fn compile_indicator(
    i: RawIndicator,
    at: &str,
    keys_seen: &mut HashSet<String>,
    problems: &mut Vec<String>,
) -> Indicator {
    let code = i.code.trim().to_owned();
    if code.is_empty() || code.contains(char::is_whitespace) || code.contains('=') {
        problems.push(format!("{at}: code must be one word without '='"));
    }
    if i.label.trim().is_empty() {
        problems.push(format!("{at}: label is empty"));
    }
    let aliases: Vec<String> = i.aliases.iter().map(|a| fold(a.trim())).collect();
    let folded_code = fold(&code);
    let mut own_keys = vec![folded_code.clone(), folded_code.replace('_', "")];
    own_keys.extend(aliases.iter().cloned());
    own_keys.dedup();
    for key in &own_keys {
        if key.is_empty() || key.contains(char::is_whitespace) || key.contains('=') {
            problems.push(format!("{at}: alias {key:?} must be one word without '='"));
        } else if RESERVED_KEYS.contains(&key.as_str()) || key.chars().all(|c| c.is_ascii_digit()) {
            problems.push(format!("{at}: alias {key:?} is reserved"));
        } else if !keys_seen.insert(key.clone()) {
            problems.push(format!("{at}: code or alias {key:?} is used twice"));
        }
    }
    if i.kind != IndicatorKind::Int && (i.min.is_some() || i.max.is_some()) {
        problems.push(format!("{at}: min/max only apply to type = \"int\""));
    }
    if let (Some(min), Some(max)) = (i.min, i.max)
        && min > max
    {
        problems.push(format!("{at}: min is greater than max"));
    }
    let min = match i.kind {
        // Counts are never negative (domain.md §C.5).
        IndicatorKind::Int => Some(i.min.unwrap_or(0).max(0)),
        _ => None,
    };
    let example = i.example.unwrap_or_else(|| {
        match i.kind {
            IndicatorKind::Int => "12",
            IndicatorKind::Bool => "có",
            IndicatorKind::Text => "Người cao tuổi chưa có điện thoại thông minh",
        }
        .to_owned()
    });
    let label = i.label.trim().to_owned();
    Indicator {
        short: i.short.map_or_else(|| label.clone(), |s| s.trim().to_owned()),
        label,
        unit: i.unit,
        aliases,
        kind: i.kind,
        required: i.required,
        min,
        max: i.max,
        example,
        code,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A bare indicator for tests of other modules.
    pub(crate) fn indicator(
        code: &str,
        kind: IndicatorKind,
        required: bool,
        min: Option<i64>,
        max: Option<i64>,
    ) -> Indicator {
        Indicator {
            code: code.to_owned(),
            label: format!("Nhãn {code}"),
            short: code.to_owned(),
            unit: None,
            aliases: vec![fold(code)],
            kind,
            required,
            min,
            max,
            example: "12".to_owned(),
        }
    }

    const SMALL: &str = r#"
[[report]]
key = "thang"
name = "Báo cáo tháng"
period = "month"
deadline_days = 5
grace_days = 7
lock_days = 20

[[report.indicator]]
code = "CHUNG_01"
label = "Số lượt người dân được hướng dẫn"
short = "Lượt hỗ trợ"
aliases = ["hd", "lượt"]
type = "int"
required = true
max = 100000

[[report.indicator]]
code = "TO_04"
label = "Tổ có hoạt động trong kỳ"
aliases = ["hoạt-động"]
type = "bool"
"#;

    #[test]
    fn parses_a_valid_file_with_a_stable_version() {
        let defs = Definitions::parse(SMALL).unwrap();
        assert_eq!(defs.version.len(), 12);
        assert_eq!(defs.version, Definitions::parse(SMALL).unwrap().version);
        let report = defs.get(None).unwrap();
        assert_eq!(report.key, "thang");
        assert_eq!(report.indicators.len(), 2);
        assert_eq!(report.indicator_by_key("LUOT").unwrap().code, "CHUNG_01");
        assert_eq!(report.indicator_by_key("chung01").unwrap().code, "CHUNG_01");
        assert!(report.indicator_by_key("zzz").is_none());
        assert_eq!(report.indicators[0].min, Some(0));
        assert_ne!(defs.version, Definitions::parse(&SMALL.replace("20", "21")).unwrap().version);
    }

    #[test]
    fn every_rule_is_reported_with_its_place() {
        let cases: &[(&str, &str)] = &[
            ("", "no [[report]] defined"),
            ("[[report]]\nkey='x'", "not valid TOML"),
            (
                "[[report]]\nkey='a'\nname='n'\nperiod='year'\ndeadline_days=1\ngrace_days=1\nlock_days=2",
                "not valid TOML",
            ),
            (
                "[[report]]\nkey='a b'\nname='n'\nperiod='month'\ndeadline_days=1\ngrace_days=1\nlock_days=2",
                "key must be ASCII",
            ),
            (
                "[[report]]\nkey='a'\nname='n'\nperiod='month'\ndeadline_days=9\ngrace_days=1\nlock_days=2",
                "must not exceed lock_days",
            ),
            (
                "[[report]]\nkey='a'\nname='n'\nperiod='month'\ndeadline_days=1\ngrace_days=1\nlock_days=2",
                "no [[report.indicator]]",
            ),
            (
                "[[report]]\nkey='a'\nname='n'\nperiod='month'\ndeadline_days=1\ngrace_days=1\nlock_days=2\nbogus=1",
                "not valid TOML",
            ),
        ];
        for (file, want) in cases {
            let err = Definitions::parse(file).unwrap_err().to_string();
            assert!(err.contains(want), "file {file:?}: got {err}");
        }
        let head = "[[report]]\nkey='a'\nname='n'\nperiod='month'\ndeadline_days=1\ngrace_days=1\nlock_days=2\n";
        let ind_cases: &[(&str, &str)] = &[
            (
                "code='A'\nlabel='x'\naliases=['k']\ntype='int'\n[[report.indicator]]\ncode='B'\nlabel='y'\naliases=['K']\ntype='int'",
                "\"k\" is used twice",
            ),
            ("code='A'\nlabel=''\ntype='int'", "label is empty"),
            ("code='A B'\nlabel='x'\ntype='int'", "code must be one word"),
            ("code='A'\nlabel='x'\ntype='bool'\nmin=1", "min/max only apply"),
            ("code='A'\nlabel='x'\ntype='int'\nmin=5\nmax=1", "min is greater than max"),
            ("code='A'\nlabel='x'\ntype='int'\naliases=['bỏ qua']", "must be one word"),
            ("code='A'\nlabel='x'\ntype='int'\naliases=['gửi']", "is reserved"),
            (
                "code='A'\nlabel='x'\naliases=['hđ']\ntype='int'\n[[report.indicator]]\ncode='B'\nlabel='y'\naliases=['hd']\ntype='int'",
                "\"hd\" is used twice",
            ),
            ("code='A'\nlabel='x'\ntype='int'\naliases=['12']", "is reserved"),
        ];
        for (ind, want) in ind_cases {
            let file = format!("{head}[[report.indicator]]\n{ind}");
            let err = Definitions::parse(&file).unwrap_err().to_string();
            assert!(err.contains(want), "indicator {ind:?}: got {err}");
        }
    }

    #[test]
    fn shipped_file_is_valid() {
        let defs = Definitions::parse(include_str!("../../config/reports.toml")).unwrap();
        let report = defs.get(None).unwrap();
        let required = report.indicators.iter().filter(|i| i.required).count();
        assert!((8..=12).contains(&required), "{required} required indicators");
    }
}
