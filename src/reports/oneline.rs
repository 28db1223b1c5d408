//! The one-line report: `/bc [type] [period] values…`.
//!
//! Values are positional (the order `/mau` shows, free-text indicators excluded) or
//! `key=value` with codes or aliases (also `key:value` and `key value`), or positional
//! first and then keyed. Values may be separated by spaces, `,` or `;` (`45, 20, 2`). A text
//! value runs until the next `key=`. Every problem is collected; nothing partial is
//! returned, so nothing partial can be stored.

use crate::calendar::UnixSecs;
use std::collections::BTreeMap;

use super::definition::{Definitions, Indicator, IndicatorKind, ReportType};
use super::period::{Period, PeriodError, parse_period_token};
use super::text::fold;
use super::value::{Value, parse_value};

pub type Values = BTreeMap<String, Value>;

/// What the words after `/bc` say.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportArgs<'d> {
    pub report: &'d ReportType,
    /// `None`: the default period.
    pub period: Option<Period>,
    /// `None`: no values given, start the guided form.
    pub values: Option<Values>,
}

/// One problem in a one-line report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// "Lượt hỗ trợ (hd)", or `None` for problems not tied to one indicator.
    pub field: Option<String>,
    pub problem: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArgsError<'d> {
    Period(PeriodError),
    Fields { report: &'d ReportType, errors: Vec<FieldError> },
}

/// Splits `args` into report type, period and values.
pub fn parse_report_args<'d>(
    defs: &'d Definitions,
    args: &str,
    now: UnixSecs,
) -> Result<ReportArgs<'d>, ArgsError<'d>> {
    let normalised = tighten_equals(&split_separators(args));
    let mut tokens: Vec<&str> = normalised.split_whitespace().collect();
    let mut report =
        defs.get(None).ok_or(ArgsError::Period(PeriodError::Invalid(String::new())))?;
    if defs.reports.len() > 1
        && let Some(chosen) = tokens.first().and_then(|t| defs.get(Some(t)))
    {
        report = chosen;
        tokens.remove(0);
    }
    let mut period = None;
    if let Some(first) = tokens.first()
        && let Some(parsed) = parse_period_token(first, report.period, now)
    {
        period = Some(parsed.map_err(ArgsError::Period)?);
        tokens.remove(0);
    }
    if tokens.is_empty() {
        return Ok(ReportArgs { report, period, values: None });
    }
    let values =
        parse_values(report, &tokens).map_err(|errors| ArgsError::Fields { report, errors })?;
    Ok(ReportArgs { report, period, values: Some(values) })
}

/// The indicators that take positional values, in order.
pub fn positional(report: &ReportType) -> impl Iterator<Item = &Indicator> {
    report.indicators.iter().filter(|i| i.kind != IndicatorKind::Text)
}

/// Field name as shown in errors: "Lượt hỗ trợ (hd)".
pub fn field_name(indicator: &Indicator) -> String {
    format!("{} ({})", indicator.short, indicator.key())
}

/// Parses value tokens. All problems are returned together.
pub fn parse_values(report: &ReportType, tokens: &[&str]) -> Result<Values, Vec<FieldError>> {
    let joined = join_keys(report, tokens);
    let tokens: Vec<&str> = joined.iter().map(String::as_str).collect();
    let order: Vec<&Indicator> = positional(report).collect();
    let mut values = Values::new();
    let mut errors = Vec::new();
    let mut next_position = 0;
    let mut keyed_mode = false;
    let mut too_many_reported = false;
    // The text indicator currently collecting words, and its words.
    let mut open_text: Option<(&Indicator, Vec<&str>)> = None;
    let mut seen_keys: Vec<&str> = Vec::new();

    for &token in &tokens {
        if let Some((key, raw)) = split_key(report, token) {
            close_text(&mut open_text, &mut values, &mut errors);
            keyed_mode = true;
            let Some(indicator) = report.indicator_by_key(key) else {
                errors.push(FieldError {
                    field: None,
                    problem: format!("không có chỉ tiêu nào mã «{}»", super::text::preview(key)),
                });
                continue;
            };
            if seen_keys.contains(&indicator.code.as_str()) || values.contains_key(&indicator.code)
            {
                errors.push(FieldError {
                    field: Some(field_name(indicator)),
                    problem: "được ghi hai lần".to_owned(),
                });
                continue;
            }
            seen_keys.push(&indicator.code);
            if indicator.kind == IndicatorKind::Text {
                open_text = Some((indicator, vec![raw]));
            } else {
                put(indicator, raw, &mut values, &mut errors);
            }
            continue;
        }
        if let Some((_, words)) = open_text.as_mut() {
            words.push(token);
            continue;
        }
        if keyed_mode {
            errors.push(FieldError {
                field: None,
                problem: format!(
                    "«{}» đứng sau dạng mã=giá trị nhưng không có mã; hãy ghi mã=giá trị",
                    super::text::preview(token)
                ),
            });
            continue;
        }
        let Some(indicator) = order.get(next_position) else {
            if !too_many_reported {
                errors.push(FieldError {
                    field: None,
                    problem: format!("thừa giá trị: mẫu chỉ có {} số", order.len()),
                });
                too_many_reported = true;
            }
            continue;
        };
        next_position += 1;
        seen_keys.push(&indicator.code);
        let position = Some(next_position);
        if is_skip(token) {
            if indicator.required {
                errors.push(FieldError {
                    field: Some(positional_name(next_position, indicator)),
                    problem: "bắt buộc, không bỏ qua được".to_owned(),
                });
            }
            continue;
        }
        put_at(indicator, token, position, &mut values, &mut errors);
    }
    close_text(&mut open_text, &mut values, &mut errors);

    for indicator in &report.indicators {
        if indicator.required && !seen_keys.contains(&indicator.code.as_str()) {
            errors.push(FieldError {
                field: Some(field_name(indicator)),
                problem: "bắt buộc nhưng chưa có".to_owned(),
            });
        }
    }
    if errors.is_empty() { Ok(values) } else { Err(errors) }
}

/// "-" or "_" in a positional slot skips an optional indicator.
fn is_skip(token: &str) -> bool {
    matches!(token, "-" | "_" | "–")
}

fn put(indicator: &Indicator, raw: &str, values: &mut Values, errors: &mut Vec<FieldError>) {
    put_at(indicator, raw, None, values, errors)
}

/// Field name of a positional value: "Số thứ 3 (Có hoạt động, hoatdong)".
pub fn positional_name(position: usize, indicator: &Indicator) -> String {
    format!("Số thứ {position} ({}, {})", indicator.short, indicator.key())
}

fn put_at(
    indicator: &Indicator,
    raw: &str,
    position: Option<usize>,
    values: &mut Values,
    errors: &mut Vec<FieldError>,
) {
    match parse_value(indicator, raw) {
        Ok(value) => {
            values.insert(indicator.code.clone(), value);
        }
        Err(e) => {
            let field = match position {
                Some(n) => positional_name(n, indicator),
                None => field_name(indicator),
            };
            errors.push(FieldError { field: Some(field), problem: e.to_string() })
        }
    }
}

/// `hd=45`, and `hd:45` when `hd` is an indicator key: (key, value).
fn split_key<'t>(report: &ReportType, token: &'t str) -> Option<(&'t str, &'t str)> {
    if let Some(pair) = token.split_once('=') {
        return Some(pair);
    }
    token.split_once(':').filter(|(key, _)| report.indicator_by_key(key).is_some())
}

/// `hd 45` (a key, then its value as the next word) becomes `hd=45`.
fn join_keys(report: &ReportType, tokens: &[&str]) -> Vec<String> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        let bare = token.strip_suffix(':').unwrap_or(token);
        let is_key = !bare.contains(['=', ':'])
            && !bare.chars().next().is_some_and(|c| c.is_ascii_digit())
            && report.indicator_by_key(bare).is_some();
        match tokens.get(i + 1) {
            Some(next) if is_key && !next.contains('=') => {
                out.push(format!("{bare}={next}"));
                i += 2;
            }
            _ => {
                out.push(token.to_owned());
                i += 1;
            }
        }
    }
    out
}

/// What people type between values: `45, 20, 2` and `45;20;2` are `45 20 2`. A comma
/// inside a number stays when it groups thousands (`1,200`).
fn split_separators(args: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for token in args.replace(';', " ").split_whitespace() {
        let token = token.trim_end_matches(',');
        let mut groups = token.split(',');
        let first = groups.next().unwrap_or("");
        let rest: Vec<&str> = groups.collect();
        let thousands = !rest.is_empty()
            && (1..=3).contains(&first.len())
            && first.chars().all(|c| c.is_ascii_digit())
            && rest.iter().all(|g| g.len() == 3 && g.chars().all(|c| c.is_ascii_digit()));
        let keyed_thousands = token.contains('=') && rest.iter().all(|g| g.len() == 3);
        if rest.is_empty() || thousands || keyed_thousands {
            out.push(token.to_owned());
        } else {
            out.extend(token.split(',').filter(|p| !p.is_empty()).map(str::to_owned));
        }
    }
    out.join(" ")
}

fn close_text(
    open_text: &mut Option<(&Indicator, Vec<&str>)>,
    values: &mut Values,
    errors: &mut Vec<FieldError>,
) {
    if let Some((indicator, words)) = open_text.take() {
        let text = words.join(" ");
        if text.trim().is_empty() && !indicator.required {
            return;
        }
        put(indicator, &text, values, errors);
    }
}

/// "hd = 12", "hd= 12" and "hd =12" become "hd=12", so `=` always sits inside one
/// token; "hd= vneid=2" stays two tokens (an empty value for hd).
fn tighten_equals(args: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut glue_next = false;
    for token in args.split_whitespace() {
        let joins_previous = token.starts_with('=') && !out.is_empty();
        let attach = (glue_next && !token.contains('=')) || joins_previous;
        match out.last_mut() {
            Some(last) if attach => last.push_str(token),
            _ => out.push(token.to_owned()),
        }
        glue_next = out.last().is_some_and(|t| t.ends_with('='));
    }
    out.join(" ")
}

/// Whether `word` (folded) is a report type key in `defs`. Used by the form to tell a
/// type from a value.
pub fn is_report_key(defs: &Definitions, word: &str) -> bool {
    let word = fold(word);
    defs.reports.iter().any(|r| r.key == word)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::reports::period::PeriodKind;

    pub(crate) const DEFS: &str = r#"
[[report]]
key = "thang"
name = "Báo cáo tháng"
period = "month"
deadline_days = 5
grace_days = 7
lock_days = 20

[[report.indicator]]
code = "CHUNG_01"
label = "Số lượt người dân được hướng dẫn, hỗ trợ"
short = "Lượt hỗ trợ"
aliases = ["hd"]
type = "int"
required = true
max = 100000

[[report.indicator]]
code = "DVC_01"
label = "Số người được hỗ trợ kích hoạt VNeID"
short = "VNeID"
aliases = ["vneid"]
type = "int"
required = true

[[report.indicator]]
code = "TO_04"
label = "Tổ có hoạt động trong kỳ"
short = "Có hoạt động"
aliases = ["hoatdong"]
type = "bool"

[[report.indicator]]
code = "TO_05"
label = "Khó khăn, vướng mắc, đề xuất"
short = "Khó khăn"
aliases = ["kk"]
type = "text"

[[report]]
key = "tuan"
name = "Báo cáo tuần"
period = "week"
deadline_days = 2
grace_days = 2
lock_days = 7

[[report.indicator]]
code = "W_01"
label = "Số lượt hỗ trợ trong tuần"
aliases = ["ht"]
type = "int"
required = true
"#;

    pub(crate) fn defs() -> Definitions {
        Definitions::parse(DEFS).unwrap()
    }

    fn vals(pairs: &[(&str, Value)]) -> Values {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn err(field: Option<&str>, problem: &str) -> FieldError {
        FieldError { field: field.map(str::to_owned), problem: problem.to_owned() }
    }

    #[test]
    fn accepted_forms() {
        let d = defs();
        let r = d.get(None).unwrap();
        let cases: &[(&str, Values)] = &[
            ("12 5", vals(&[("CHUNG_01", Value::Int(12)), ("DVC_01", Value::Int(5))])),
            ("  1.200   5 ", vals(&[("CHUNG_01", Value::Int(1200)), ("DVC_01", Value::Int(5))])),
            (
                "12 5 có",
                vals(&[
                    ("CHUNG_01", Value::Int(12)),
                    ("DVC_01", Value::Int(5)),
                    ("TO_04", Value::Bool(true)),
                ]),
            ),
            ("12 5 -", vals(&[("CHUNG_01", Value::Int(12)), ("DVC_01", Value::Int(5))])),
            ("hd=12 vneid=5", vals(&[("CHUNG_01", Value::Int(12)), ("DVC_01", Value::Int(5))])),
            (
                "HD = 1,200 VNEID =5",
                vals(&[("CHUNG_01", Value::Int(1200)), ("DVC_01", Value::Int(5))]),
            ),
            ("chung_01=3 dvc01=4", vals(&[("CHUNG_01", Value::Int(3)), ("DVC_01", Value::Int(4))])),
            ("12 vneid=5", vals(&[("CHUNG_01", Value::Int(12)), ("DVC_01", Value::Int(5))])),
            (
                "12 5 kk=thiếu máy  tính bảng hoatdong=ko",
                vals(&[
                    ("CHUNG_01", Value::Int(12)),
                    ("DVC_01", Value::Int(5)),
                    ("TO_04", Value::Bool(false)),
                    ("TO_05", Value::Text("thiếu máy tính bảng".into())),
                ]),
            ),
        ];
        for (args, want) in cases {
            let tokens = tighten_equals(&split_separators(args));
            let tokens: Vec<&str> = tokens.split_whitespace().collect();
            assert_eq!(parse_values(r, &tokens).as_ref(), Ok(want), "args {args:?}");
        }
    }

    #[test]
    fn separators_and_key_spellings_people_type() {
        let d = defs();
        let r = d.get(None).unwrap();
        let want = vals(&[
            ("CHUNG_01", Value::Int(45)),
            ("DVC_01", Value::Int(20)),
            ("TO_04", Value::Bool(true)),
        ]);
        for args in [
            "45, 20, co",
            "45;20;co",
            "45,20,co",
            "45 ; 20 ; có",
            "hd:45 vneid:20 hoatdong:co",
            "hd 45 vneid 20 hoatdong co",
            "hd=45, vneid=20, hoatdong=co",
            "hd = 45; vneid 20; hoatdong: có",
        ] {
            let tokens = tighten_equals(&split_separators(args));
            let tokens: Vec<&str> = tokens.split_whitespace().collect();
            assert_eq!(parse_values(r, &tokens).as_ref(), Ok(&want), "args {args:?}");
        }
        assert_eq!(split_separators("1,200 5"), "1,200 5");
    }

    #[test]
    fn every_error_names_the_field_and_problem() {
        let d = defs();
        let r = d.get(None).unwrap();
        let lh = Some("Lượt hỗ trợ (hd)");
        let vn = Some("VNeID (vneid)");
        let lh1 = Some("Số thứ 1 (Lượt hỗ trợ, hd)");
        let vn2 = Some("Số thứ 2 (VNeID, vneid)");
        let cases: &[(&str, Vec<FieldError>)] = &[
            ("abc 5", vec![err(lh1, "«abc» không phải là số")]),
            ("12", vec![err(vn, "bắt buộc nhưng chưa có")]),
            ("1.5 5", vec![err(lh1, "«1.5» phải là số nguyên (không có phần thập phân)")]),
            ("-1 5", vec![err(lh1, "không được là số âm")]),
            ("200000 5", vec![err(lh1, "không được lớn hơn 100.000")]),
            ("12 5 có 9", vec![err(None, "thừa giá trị: mẫu chỉ có 3 số")]),
            ("- 5", vec![err(lh1, "bắt buộc, không bỏ qua được")]),
            (
                "12 5 maybe",
                vec![err(
                    Some("Số thứ 3 (Có hoạt động, hoatdong)"),
                    "«maybe» không phải là Có/Không",
                )],
            ),
            (
                "hd=12 xx=5",
                vec![err(None, "không có chỉ tiêu nào mã «xx»"), err(vn, "bắt buộc nhưng chưa có")],
            ),
            ("hd=12 hd=3 vneid=1", vec![err(lh, "được ghi hai lần")]),
            (
                "12 hd=3 5",
                vec![
                    err(lh, "được ghi hai lần"),
                    err(None, "«5» đứng sau dạng mã=giá trị nhưng không có mã; hãy ghi mã=giá trị"),
                    err(vn, "bắt buộc nhưng chưa có"),
                ],
            ),
            ("hd= vneid=2", vec![err(lh, "chưa có giá trị")]),
            (
                "abc xyz",
                vec![err(lh1, "«abc» không phải là số"), err(vn2, "«xyz» không phải là số")],
            ),
        ];
        for (args, want) in cases {
            let tokens = tighten_equals(&split_separators(args));
            let tokens: Vec<&str> = tokens.split_whitespace().collect();
            assert_eq!(parse_values(r, &tokens).as_ref(), Err(want), "args {args:?}");
        }
    }

    #[test]
    fn type_period_and_form_start() {
        let d = defs();
        let now = UnixSecs(crate::reports::period::days_from_civil(2026, 11, 24) * 86_400);
        let a = parse_report_args(&d, "", now).unwrap();
        assert_eq!((a.report.key.as_str(), a.period, a.values), ("thang", None, None));
        let a = parse_report_args(&d, "T10", now).unwrap();
        assert_eq!(a.period.map(|p| p.key()), Some("2026-10".to_owned()));
        assert_eq!(a.values, None);
        let a = parse_report_args(&d, "2026-10 12 5", now).unwrap();
        assert_eq!(a.values.map(|v| v.len()), Some(2));
        let a = parse_report_args(&d, "tuan w47 3", now).unwrap();
        assert_eq!(a.report.key, "tuan");
        assert_eq!(a.period.map(|p| p.kind), Some(PeriodKind::Week));
        assert!(matches!(
            parse_report_args(&d, "T13 1 2", now),
            Err(ArgsError::Period(PeriodError::Invalid(_)))
        ));
        assert!(matches!(
            parse_report_args(&d, "tuan T10 1", now),
            Err(ArgsError::Period(PeriodError::WrongKind { .. }))
        ));
        assert!(matches!(parse_report_args(&d, "x", now), Err(ArgsError::Fields { .. })));
        assert!(is_report_key(&d, "Tuần"));
    }
}
