//! Export rendering: one row per team and period, one column per indicator, plus the
//! unit path, the row's status (current, replaced, withdrawn, or "Chưa báo cáo" for an
//! expected team without a report), who submitted, when, and the version. A version
//! numbered 0 stands for "no report" (see `RowStatus::Missing`). CSV is UTF-8 with a BOM so Excel
//! shows Vietnamese correctly; XLSX is written in memory by the streaming writer in `xlsx.rs`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use crate::calendar::UnixSecs;

use super::aggregate::{Hierarchy, IdHasher};
use super::definition::{IndicatorKind, ReportType};
use super::model::{Team, UnitLevel};
use super::period::{Period, format_local_datetime};
use super::view::{Columns, ValueRef, VersionView, ViewValues};
use super::xlsx::Workbook;
pub use super::xlsx::XlsxError;

/// What one exported line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStatus {
    /// The version that counts.
    Current,
    /// An older version, replaced by a resubmission (history exports).
    Replaced,
    /// Withdrawn with `/huy` (history exports).
    Withdrawn,
    /// An expected team with no report for the period (a placeholder numbered 0).
    Missing,
}

impl RowStatus {
    pub fn label(self) -> &'static str {
        match self {
            RowStatus::Current => "Hiện hành",
            RowStatus::Replaced => "Đã thay thế",
            RowStatus::Withdrawn => "Đã rút",
            RowStatus::Missing => "Chưa báo cáo",
        }
    }
}

/// A stand-in version for a team that has not reported for `period` (version 0).
pub fn missing_report(team: u64, report: &str, period: Period) -> VersionView<'_> {
    VersionView {
        team,
        report: Cow::Borrowed(report),
        period,
        version: 0,
        definition: Cow::Borrowed(""),
        values: ViewValues::default(),
        submitted_by: Cow::Borrowed(""),
        submitted_at: UnixSecs(0),
        on_time: false,
        source_event: Cow::Borrowed(""),
        withdrawn_at: None,
    }
}

/// One exported line, borrowing the stored version, its team and submitter label; the
/// unit names are shared by every row of the unit.
pub struct ExportRow<'a> {
    pub province: Arc<str>,
    pub commune: Arc<str>,
    pub village: Arc<str>,
    pub unit_code: &'a str,
    pub team_id: u64,
    pub team_name: &'a str,
    pub report: &'a VersionView<'a>,
    pub submitted_by: &'a str,
    pub status: RowStatus,
}

/// A map keyed by small numbers, hashed cheaply (see `IdHasher`).
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A unit's names from the province down, and its place when units are sorted by them.
struct UnitPath {
    names: [Arc<str>; 3],
    rank: u32,
}

/// Joins current versions with their team and unit path. Versions of unknown teams
/// are kept with empty names rather than dropped: an export must not lose data.
/// Rows come sorted by period, then province, commune and village name, then team.
pub fn build_rows<'a>(
    hierarchy: &Hierarchy<'_>,
    teams: &HashMap<u64, &'a Team>,
    names: &HashMap<&str, &'a str>,
    versions: &[&'a VersionView<'a>],
) -> Vec<ExportRow<'a>> {
    // The live version of each (team, report, period) among those given: the newest
    // one not withdrawn. Keyed by team and period with a cheap hasher (SipHash over
    // 100,000 keys showed in the profile); the report key is compared, not hashed.
    let mut live: FastMap<(u64, Period), Vec<(&str, u32)>> = HashMap::default();
    for v in versions.iter().filter(|v| v.withdrawn_at.is_none() && v.version > 0) {
        let reports = live.entry((v.team, v.period)).or_default();
        match reports.iter_mut().find(|(report, _)| *report == v.report) {
            Some((_, newest)) => *newest = (*newest).max(v.version),
            None => reports.push((&v.report, v.version)),
        }
    }
    let is_live = |v: &VersionView<'_>| {
        live.get(&(v.team, v.period))
            .is_some_and(|reports| reports.iter().any(|r| *r == (&*v.report, v.version)))
    };
    // Each team's entry and unit path, looked up once per row by id.
    let paths = unit_paths(hierarchy, teams.values().map(|t| t.unit.as_str()));
    let no_path = UnitPath { names: ["".into(), "".into(), "".into()], rank: 0 };
    let by_id: FastMap<u64, (&'a Team, &UnitPath)> = teams
        .iter()
        .map(|(id, team)| (*id, (*team, paths.get(team.unit.as_str()).unwrap_or(&no_path))))
        .collect();
    // Sorted as (period, unit rank, team, given position) keys, then the rows are built in
    // that order: moving 100,000 whole rows through a stable sort showed in the profile.
    // The position keeps versions of one team and period in their given order.
    let mut order: Vec<(Period, u32, u64, usize)> = versions
        .iter()
        .enumerate()
        .map(|(at, v)| {
            let rank = by_id.get(&v.team).map_or(no_path.rank, |(_, path)| path.rank);
            (v.period, rank, v.team, at)
        })
        .collect();
    order.sort_unstable();
    order
        .into_iter()
        .map(|(_, _, _, at)| {
            let v = versions[at];
            let team = by_id.get(&v.team);
            let path = team.map_or(&no_path, |(_, path)| *path);
            let [province, commune, village] = path.names.clone();
            ExportRow {
                province,
                commune,
                village,
                unit_code: team.map_or("", |(t, _)| t.unit.as_str()),
                team_id: v.team,
                team_name: team.map_or("", |(t, _)| t.name.as_str()),
                report: v,
                submitted_by: names.get(&*v.submitted_by).copied().unwrap_or(&v.submitted_by),
                status: if v.version == 0 {
                    RowStatus::Missing
                } else if v.withdrawn_at.is_some() {
                    RowStatus::Withdrawn
                } else if is_live(v) {
                    RowStatus::Current
                } else {
                    RowStatus::Replaced
                },
            }
        })
        .collect()
}

/// The names of each unit's path, and ranks that order units as sorting by (province,
/// commune, village) name would; rank 0 is the empty path (teams of unknown units), which
/// sorts first. Sorting rows by rank compares integers instead of three strings.
fn unit_paths<'u>(
    hierarchy: &Hierarchy<'_>,
    units: impl Iterator<Item = &'u str>,
) -> HashMap<&'u str, UnitPath> {
    let mut names: HashMap<&str, [Arc<str>; 3]> = HashMap::new();
    for code in units {
        names.entry(code).or_insert_with(|| {
            let at = |level| Arc::from(hierarchy.name_at(code, level).unwrap_or_default());
            [at(UnitLevel::Province), at(UnitLevel::Commune), at(UnitLevel::Village)]
        });
    }
    let mut distinct: Vec<&[Arc<str>; 3]> = names.values().collect();
    distinct.sort();
    distinct.dedup();
    let empty: [Arc<str>; 3] = ["".into(), "".into(), "".into()];
    let rank_of = |path: &[Arc<str>; 3]| {
        let at = distinct.binary_search(&path).unwrap_or(0) as u32;
        // Real paths come after the empty one unless they are empty themselves.
        if *path == empty { 0 } else { at + 1 }
    };
    names
        .iter()
        .map(|(code, path)| (*code, UnitPath { names: path.clone(), rank: rank_of(path) }))
        .collect()
}

const FIXED_HEADERS: &[&str] = &[
    "Tỉnh/Thành phố",
    "Xã/Phường/Đặc khu",
    "Thôn/Tổ dân phố",
    "Mã đơn vị",
    "Mã tổ",
    "Tên tổ",
    "Kỳ báo cáo",
    "Trạng thái",
    "Lần gửi",
    "Người gửi",
    "Thời điểm gửi",
    "Đúng hạn",
    "Phiên bản mẫu",
];

fn headers(report: &ReportType) -> Vec<String> {
    let mut out: Vec<String> = FIXED_HEADERS.iter().map(|h| (*h).to_owned()).collect();
    out.extend(report.indicators.iter().map(|i| format!("{} ({})", i.label, i.code)));
    out
}

/// Column widths (characters) of the fixed columns in the XLSX sheet.
const FIXED_WIDTHS: [f64; 13] =
    [18.0, 20.0, 20.0, 11.0, 8.0, 30.0, 11.0, 14.0, 8.0, 22.0, 17.0, 9.0, 14.0];

/// CSV, UTF-8 with BOM, CRLF line ends (what Excel expects).
///
/// Cells go straight into the output (numbers through one reused buffer), not through a
/// `String` each: that was most of the time of a 100,000-row export.
pub fn to_csv(report: &ReportType, rows: &[ExportRow<'_>]) -> Vec<u8> {
    let mut out = String::with_capacity(64 + rows.len() * 200);
    out.push('\u{FEFF}');
    push_csv_line(&mut out, headers(report).iter().map(String::as_str));
    let columns = Columns::new(report.indicators.iter().map(|i| i.code.as_str()));
    let mut values = Vec::new();
    let mut number = String::new();
    for row in rows {
        let missing = row.status == RowStatus::Missing;
        let if_reported = |text: &'static str| if missing { "" } else { text };
        push_csv_cell(&mut out, &row.province);
        for cell in [&*row.commune, &*row.village, row.unit_code] {
            out.push(',');
            push_csv_cell(&mut out, cell);
        }
        out.push(',');
        push_csv_number(&mut out, &mut number, row.team_id);
        out.push(',');
        push_csv_cell(&mut out, row.team_name);
        out.push(',');
        push_csv_cell(&mut out, &row.report.period.key());
        out.push(',');
        push_csv_cell(&mut out, row.status.label());
        out.push(',');
        if !missing {
            push_csv_number(&mut out, &mut number, u64::from(row.report.version));
        }
        out.push(',');
        push_csv_cell(&mut out, if missing { "" } else { row.submitted_by });
        out.push(',');
        if !missing {
            push_csv_cell(&mut out, &format_local_datetime(row.report.submitted_at));
        }
        out.push(',');
        push_csv_cell(&mut out, if_reported(if row.report.on_time { "Có" } else { "Không" }));
        out.push(',');
        push_csv_cell(&mut out, &row.report.definition);
        row.report.values.aligned(&columns, &mut values);
        for value in &values {
            out.push(',');
            match value {
                Some(ValueRef::Int(n)) => {
                    number.clear();
                    let _ = write!(number, "{n}");
                    push_csv_cell(&mut out, &number);
                }
                Some(value) => push_csv_cell(&mut out, &value.display()),
                None => {}
            }
        }
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// A whole number as a CSV cell (it needs neither quotes nor the formula guard).
fn push_csv_number(out: &mut String, scratch: &mut String, n: u64) {
    scratch.clear();
    let _ = write!(scratch, "{n}");
    out.push_str(scratch);
}

pub fn push_csv_line<'a>(out: &mut String, cells: impl Iterator<Item = &'a str>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_csv_cell(out, cell);
    }
    out.push_str("\r\n");
}

/// Leading characters a spreadsheet may read as the start of a formula: the ASCII ones,
/// their full-width look-alikes (some spreadsheets normalise them), and tab / CR.
const FORMULA_STARTS: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];

/// Quotes when needed; a leading formula character gets a `'` so a spreadsheet never
/// runs a member's free text as a formula (CSV injection).
fn push_csv_cell(out: &mut String, cell: &str) {
    let guard = cell.starts_with(FORMULA_STARTS);
    // The characters that need quotes are ASCII, so a byte scan finds them (no byte of
    // a multi-byte character is ASCII); the guard's `'` never needs them.
    let quote = cell.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if quote {
        out.push('"');
    }
    if guard {
        out.push('\'');
    }
    if quote {
        for (i, part) in cell.split('"').enumerate() {
            if i > 0 {
                out.push_str("\"\"");
            }
            out.push_str(part);
        }
        out.push('"');
    } else {
        out.push_str(cell);
    }
}

/// XLSX workbook bytes: sheet "Báo cáo" (bold frozen header, column widths, numbers as
/// numbers, submission times as date cells) and sheet "Tổng hợp" (per period: teams
/// reported, not reported, and the sum of each number indicator over current reports).
pub fn to_xlsx(report: &ReportType, rows: &[ExportRow<'_>]) -> Result<Vec<u8>, XlsxError> {
    to_xlsx_with(report, rows, &[])
}

/// `to_xlsx` with more sheets after "Tổng hợp" (the hand-off's "Đóng góp").
pub fn to_xlsx_with(
    report: &ReportType,
    rows: &[ExportRow<'_>],
    extra: &[Sheet],
) -> Result<Vec<u8>, XlsxError> {
    let mut names = vec!["Báo cáo", "Tổng hợp"];
    names.extend(extra.iter().map(|s| s.name.as_str()));
    let mut workbook = Workbook::new(&names)?;
    let headers = headers(report);
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut widths = FIXED_WIDTHS.to_vec();
    widths.resize(FIXED_WIDTHS.len() + report.indicators.len(), 16.0);
    let mut sheet = workbook.sheet(&headers, &widths)?;
    let columns = Columns::new(report.indicators.iter().map(|i| i.code.as_str()));
    let mut values = Vec::new();
    for row in rows {
        sheet.start_row();
        // The cells of `fixed_cells`, written without building its strings first.
        let missing = row.status == RowStatus::Missing;
        sheet.text(&row.province);
        sheet.text(&row.commune);
        sheet.text(&row.village);
        sheet.text(row.unit_code);
        sheet.number(row.team_id as f64);
        sheet.text(row.team_name);
        sheet.text(&row.report.period.key());
        sheet.text(row.status.label());
        if missing {
            for _ in 8..=11 {
                sheet.skip();
            }
        } else {
            sheet.number(f64::from(row.report.version));
            sheet.text(row.submitted_by);
            // Excel has no time zones: the cell holds Vietnam local time.
            let local = row.report.submitted_at.get() + crate::calendar::UTC_OFFSET_SECS;
            if !sheet.local_datetime(local) {
                sheet.text(&format_local_datetime(row.report.submitted_at));
            }
            sheet.text(if row.report.on_time { "Có" } else { "Không" });
        }
        sheet.text(&row.report.definition);
        row.report.values.aligned(&columns, &mut values);
        for (indicator, value) in report.indicators.iter().zip(&values) {
            match (indicator.kind, value) {
                (_, None) => sheet.skip(),
                (IndicatorKind::Int, Some(ValueRef::Int(n))) => sheet.number(*n as f64),
                (_, Some(v)) => sheet.text(&v.display()),
            };
        }
        sheet.end_row()?;
    }
    sheet.finish()?;
    totals_sheet(&mut workbook, report, rows)?;
    for sheet in extra {
        sheet.write_to(&mut workbook)?;
    }
    workbook.finish()
}

/// A plain table sheet built elsewhere (other cores' figures): a bold frozen header with
/// an autofilter, column widths, text and number cells.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub name: String,
    pub headers: Vec<String>,
    /// Width of each column (characters); missing ones get 14.
    pub widths: Vec<f64>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl Cell {
    fn csv(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Number(n) => n.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

impl Sheet {
    /// The sheet alone as an XLSX workbook.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, XlsxError> {
        let mut workbook = Workbook::new(&[&self.name])?;
        self.write_to(&mut workbook)?;
        workbook.finish()
    }

    /// The sheet as CSV, UTF-8 with BOM (like `to_csv`).
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = String::from('\u{FEFF}');
        push_csv_line(&mut out, self.headers.iter().map(String::as_str));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(Cell::csv).collect();
            push_csv_line(&mut out, cells.iter().map(String::as_str));
        }
        out.into_bytes()
    }

    fn write_to(&self, workbook: &mut Workbook) -> Result<(), XlsxError> {
        let headers: Vec<&str> = self.headers.iter().map(String::as_str).collect();
        let widths: Vec<f64> =
            (0..self.headers.len()).map(|c| self.widths.get(c).copied().unwrap_or(14.0)).collect();
        let mut sheet = workbook.sheet(&headers, &widths)?;
        for row in &self.rows {
            sheet.start_row();
            for cell in row {
                match cell {
                    Cell::Text(t) => sheet.text(t),
                    Cell::Number(n) => sheet.number(*n),
                    Cell::Empty => sheet.skip(),
                }
            }
            sheet.end_row()?;
        }
        sheet.finish()
    }
}

/// "Tổng hợp": one row per period with counts and the sums of number indicators over
/// current reports (replaced and withdrawn versions never count twice).
fn totals_sheet(
    workbook: &mut Workbook,
    report: &ReportType,
    rows: &[ExportRow<'_>],
) -> Result<(), XlsxError> {
    let numbers: Vec<_> =
        report.indicators.iter().filter(|i| i.kind == IndicatorKind::Int).collect();
    let mut header =
        vec!["Kỳ báo cáo".to_owned(), "Tổ đã báo cáo".into(), "Tổ chưa báo cáo".into()];
    header.extend(numbers.iter().map(|i| format!("{} ({})", i.label, i.code)));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let widths: Vec<f64> = (0..header.len()).map(|c| if c == 0 { 12.0 } else { 16.0 }).collect();
    // One pass over the rows: (current, missing, sums) per period, in period order.
    let mut periods: BTreeMap<Period, (u32, u32, Vec<i64>)> = BTreeMap::new();
    let columns = Columns::new(numbers.iter().map(|i| i.code.as_str()));
    let mut values = Vec::new();
    for row in rows {
        let (current, missing, sums) =
            periods.entry(row.report.period).or_insert_with(|| (0, 0, vec![0; numbers.len()]));
        match row.status {
            RowStatus::Current => {
                *current += 1;
                row.report.values.aligned(&columns, &mut values);
                for (sum, value) in sums.iter_mut().zip(&values) {
                    if let Some(ValueRef::Int(n)) = value {
                        *sum += n;
                    }
                }
            }
            RowStatus::Missing => *missing += 1,
            RowStatus::Replaced | RowStatus::Withdrawn => {}
        }
    }
    let mut sheet = workbook.sheet(&header, &widths)?;
    for (period, (current, missing, sums)) in &periods {
        sheet.start_row();
        sheet.text(&period.key());
        sheet.number(f64::from(*current));
        sheet.number(f64::from(*missing));
        for sum in sums {
            sheet.number(*sum as f64);
        }
        sheet.end_row()?;
    }
    sheet.finish()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::reports::aggregate::tests::sample_units;
    use crate::reports::model::ReportVersion;
    use crate::reports::oneline::tests::defs;
    use crate::reports::value::Value;

    fn version(team: u64, values: BTreeMap<String, Value>) -> ReportVersion {
        ReportVersion {
            team,
            report: "thang".into(),
            period: Period::from_key("2026-10").unwrap(),
            version: 2,
            definition: "abc".into(),
            values,
            submitted_by: "u1".into(),
            submitted_at: UnixSecs(1_793_000_000),
            on_time: true,
            source_event: "e".into(),
            withdrawn_at: None,
        }
    }

    /// Team 7 of village V1 (in `sample_units`).
    fn team_7(name: &str) -> Team {
        Team {
            id: 7,
            unit: "V1".into(),
            name: name.into(),
            created_at: UnixSecs(0),
            expected_from: None,
        }
    }

    #[test]
    fn plain_sheets_render_as_csv_and_xlsx() {
        let sheet = Sheet {
            name: "Đóng góp".into(),
            headers: vec!["Tên".into(), "Số".into(), "Trống".into()],
            widths: vec![20.0],
            rows: vec![vec![Cell::Text("=Lan, Thị".into()), Cell::Number(3.0), Cell::Empty]],
        };
        let csv = String::from_utf8(sheet.to_csv()).unwrap();
        assert_eq!(csv, "\u{feff}Tên,Số,Trống\r\n\"'=Lan, Thị\",3,\r\n");
        assert!(sheet.to_xlsx().unwrap().starts_with(b"PK"));
    }

    #[test]
    fn csv_has_bom_path_and_escaped_text() {
        let units = sample_units();
        let h = Hierarchy::new(&units);
        let d = defs();
        let report = d.get(None).unwrap();
        let team = team_7("Tổ CNSCĐ thôn Đông");
        let teams: HashMap<u64, &Team> = [(7, &team)].into_iter().collect();
        let names: HashMap<&str, &str> = [("u1", "Chị Lan")].into_iter().collect();
        let mut values = BTreeMap::new();
        values.insert("CHUNG_01".to_owned(), Value::Int(1200));
        values.insert("TO_05".to_owned(), Value::Text("=cmd, \"x\"".into()));
        let v = version(7, values);
        let v = v.view();
        let rows = build_rows(&h, &teams, &names, &[&v]);
        let csv = String::from_utf8(to_csv(report, &rows)).unwrap();
        assert!(csv.starts_with('\u{FEFF}'));
        let line = csv.lines().nth(1).unwrap();
        assert_eq!(
            line,
            "Tỉnh NP,Xã NC1,Thôn NV1,V1,7,Tổ CNSCĐ thôn Đông,2026-10,Hiện hành,2,Chị Lan,26/10/2026 14:33,Có,abc,1200,,,\"'=cmd, \"\"x\"\"\""
        );
        let xlsx = to_xlsx(report, &rows).unwrap();
        assert!(xlsx.starts_with(b"PK"), "xlsx is a zip");
    }

    /// A placeholder row leaves the submission cells empty; numbers stay plain, a negative
    /// one gets the formula guard, yes/no and text cells read as words.
    #[test]
    fn csv_lines_of_missing_and_unusual_values() {
        let units = sample_units();
        let h = Hierarchy::new(&units);
        let d = defs();
        let report = d.get(None).unwrap();
        let team = team_7("Tổ \"Đông\"");
        let teams: HashMap<u64, &Team> = [(7, &team)].into_iter().collect();
        let names = HashMap::new();
        let codes: Vec<&str> = report.indicators.iter().map(|i| i.code.as_str()).collect();
        let mut values = BTreeMap::new();
        values.insert(codes[0].to_owned(), Value::Int(-3));
        values.insert(codes[1].to_owned(), Value::Bool(false));
        values.insert(codes[2].to_owned(), Value::Text("+1, tốt".into()));
        let v = version(7, values);
        let v = v.view();
        let missing = missing_report(7, "thang", Period::from_key("2026-11").unwrap());
        let rows = build_rows(&h, &teams, &names, &[&missing, &v]);
        let csv = String::from_utf8(to_csv(report, &rows)).unwrap();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        let empty_values = ",".repeat(codes.len());
        assert_eq!(
            lines[2],
            format!(
                "Tỉnh NP,Xã NC1,Thôn NV1,V1,7,\"Tổ \"\"Đông\"\"\",2026-11,Chưa báo cáo,,,,,{empty_values}"
            )
        );
        let rest = ",".repeat(codes.len() - 3);
        assert_eq!(
            lines[1],
            format!(
                "Tỉnh NP,Xã NC1,Thôn NV1,V1,7,\"Tổ \"\"Đông\"\"\",2026-10,Hiện hành,2,u1,26/10/2026 14:33,Có,abc,'-3,Không,\"'+1, tốt\"{rest}"
            )
        );
        assert_eq!(lines.len(), 4, "header, two rows, and the end after the last CRLF");
    }

    /// The in-house writer's output read back by an independent reader: sheet names,
    /// header, text (escaped characters intact), numbers as numbers, the submission time
    /// as a date, and the totals sheet.
    #[test]
    fn xlsx_reads_back_cell_by_cell() {
        use calamine::{Data, Reader as _};

        let units = sample_units();
        let h = Hierarchy::new(&units);
        let d = defs();
        let report = d.get(None).unwrap();
        let team = team_7("Tổ <Đông> & Tây");
        let teams: HashMap<u64, &Team> = [(7, &team)].into_iter().collect();
        let names: HashMap<&str, &str> = HashMap::new();
        let mut values = BTreeMap::new();
        values.insert("CHUNG_01".to_owned(), Value::Int(1200));
        values.insert("TO_05".to_owned(), Value::Text(" ghi chú\u{1}\n_x0041_ ".into()));
        let v = version(7, values);
        let v = v.view();
        let missing = missing_report(8, "thang", Period::from_key("2026-10").unwrap());
        let rows = build_rows(&h, &teams, &names, &[&v, &missing]);
        let extra = Sheet {
            name: "Đóng góp".into(),
            headers: vec!["Tên".into(), "Số".into()],
            widths: vec![],
            rows: vec![vec![Cell::Text("Lan".into()), Cell::Number(2.5)]],
        };
        let xlsx = to_xlsx_with(report, &rows, &[extra]).unwrap();
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
        assert_eq!(book.sheet_names(), ["Báo cáo", "Tổng hợp", "Đóng góp"]);
        let sheet = book.worksheet_range("Báo cáo").unwrap();
        let rows: Vec<&[Data]> = sheet.rows().collect();
        assert_eq!(rows.len(), 3, "header, the missing team (no path: sorts first), the report");
        assert_eq!(rows[0][0], Data::String("Tỉnh/Thành phố".into()));
        assert_eq!(rows[1][7], Data::String("Chưa báo cáo".into()));
        assert_eq!(rows[1][8], Data::Empty);
        let row = rows[2];
        assert_eq!(row[0], Data::String("Tỉnh NP".into()));
        assert_eq!(row[4], Data::Float(7.0));
        assert_eq!(row[5], Data::String("Tổ <Đông> & Tây".into()));
        assert_eq!(row[8], Data::Float(2.0));
        assert_eq!(row[9], Data::String("u1".into()));
        // 1_793_000_000 is 26/10/2026 14:33:20 in Vietnam.
        match &row[10] {
            Data::DateTime(at) => {
                let want = (1_793_000_000.0 + 7.0 * 3600.0) / 86_400.0 + 25_569.0;
                assert!((at.as_f64() - want).abs() < 1e-9, "{at:?}");
            }
            other => panic!("a date cell, got {other:?}"),
        }
        assert_eq!(row[11], Data::String("Có".into()));
        let indicator = |code: &str| {
            FIXED_HEADERS.len() + report.indicators.iter().position(|i| i.code == code).unwrap()
        };
        assert_eq!(row[indicator("CHUNG_01")], Data::Float(1200.0));
        assert_eq!(row[indicator("TO_05")], Data::String(" ghi chú\u{1}\n_x0041_ ".into()));
        let totals = book.worksheet_range("Tổng hợp").unwrap();
        let totals: Vec<&[Data]> = totals.rows().collect();
        assert_eq!(
            totals[1][..3],
            [Data::String("2026-10".into()), Data::Float(1.0), Data::Float(1.0)]
        );
        let extra = book.worksheet_range("Đóng góp").unwrap();
        assert_eq!(extra.rows().nth(1).unwrap(), [Data::String("Lan".into()), Data::Float(2.5)]);
    }
}
