//! Export rendering: one row per team and period, one column per indicator, plus the
//! unit path, the row's status (current, replaced, withdrawn, or "Chưa báo cáo" for an
//! expected team without a report), who submitted, when, and the version. A version
//! numbered 0 stands for "no report" (see `RowStatus::Missing`). CSV is UTF-8 with a BOM so Excel
//! shows Vietnamese correctly; XLSX is written in memory by `rust_xlsxwriter`.

use crate::calendar::UnixSecs;
use std::collections::{BTreeMap, HashMap};

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use super::aggregate::Hierarchy;
use super::definition::{IndicatorKind, ReportType};
use super::model::{ReportVersion, Team, UnitLevel};
use super::period::{Period, format_local_datetime};
use super::value::Value;

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
pub fn missing_report(team: u64, report: &str, period: Period) -> ReportVersion {
    ReportVersion {
        team,
        report: report.to_owned(),
        period,
        version: 0,
        definition: String::new(),
        values: Default::default(),
        submitted_by: String::new(),
        submitted_at: UnixSecs(0),
        on_time: false,
        source_event: String::new(),
        withdrawn_at: None,
    }
}

/// One exported line, borrowing the stored version.
pub struct ExportRow<'a> {
    pub province: String,
    pub commune: String,
    pub village: String,
    pub unit_code: String,
    pub team_id: u64,
    pub team_name: String,
    pub report: &'a ReportVersion,
    pub submitted_by: String,
    pub status: RowStatus,
}

/// Joins current versions with their team and unit path. Versions of unknown teams
/// are kept with empty names rather than dropped: an export must not lose data.
pub fn build_rows<'a>(
    hierarchy: &Hierarchy<'_>,
    teams: &HashMap<u64, &Team>,
    names: &HashMap<&str, &str>,
    versions: &[&'a ReportVersion],
) -> Vec<ExportRow<'a>> {
    // The live version of each (team, report, period) among those given: the newest
    // one not withdrawn.
    let mut live: HashMap<(u64, &str, Period), u32> = HashMap::new();
    for v in versions.iter().filter(|v| v.withdrawn_at.is_none() && v.version > 0) {
        let entry = live.entry((v.team, v.report.as_str(), v.period)).or_insert(0);
        *entry = (*entry).max(v.version);
    }
    let mut path_cache: HashMap<&str, (String, String, String)> = HashMap::new();
    let mut rows: Vec<ExportRow<'a>> = versions
        .iter()
        .map(|v| {
            let team = teams.get(&v.team);
            let unit_code = team.map_or("", |t| t.unit.as_str());
            let (province, commune, village) = path_cache
                .entry(unit_code)
                .or_insert_with(|| {
                    let at = |level| hierarchy.name_at(unit_code, level).unwrap_or_default();
                    (at(UnitLevel::Province), at(UnitLevel::Commune), at(UnitLevel::Village))
                })
                .clone();
            ExportRow {
                province,
                commune,
                village,
                unit_code: unit_code.to_owned(),
                team_id: v.team,
                team_name: team.map(|t| t.name.clone()).unwrap_or_default(),
                report: v,
                submitted_by: names
                    .get(v.submitted_by.as_str())
                    .map_or_else(|| v.submitted_by.clone(), |n| (*n).to_owned()),
                status: if v.version == 0 {
                    RowStatus::Missing
                } else if v.withdrawn_at.is_some() {
                    RowStatus::Withdrawn
                } else if live.get(&(v.team, v.report.as_str(), v.period)) == Some(&v.version) {
                    RowStatus::Current
                } else {
                    RowStatus::Replaced
                },
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (&a.report.period, &a.province, &a.commune, &a.village, a.team_id).cmp(&(
            &b.report.period,
            &b.province,
            &b.commune,
            &b.village,
            b.team_id,
        ))
    });
    rows
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

/// Index of "Thời điểm gửi" among the fixed columns (a date cell in XLSX).
const SUBMITTED_AT_COLUMN: usize = 10;

fn fixed_cells(row: &ExportRow<'_>) -> [String; 13] {
    let missing = row.status == RowStatus::Missing;
    let if_reported = |text: String| if missing { String::new() } else { text };
    [
        row.province.clone(),
        row.commune.clone(),
        row.village.clone(),
        row.unit_code.clone(),
        row.team_id.to_string(),
        row.team_name.clone(),
        row.report.period.key(),
        row.status.label().to_owned(),
        if_reported(row.report.version.to_string()),
        if_reported(row.submitted_by.clone()),
        if_reported(format_local_datetime(row.report.submitted_at)),
        if_reported(if row.report.on_time { "Có" } else { "Không" }.to_owned()),
        row.report.definition.clone(),
    ]
}

/// CSV, UTF-8 with BOM, CRLF line ends (what Excel expects).
pub fn to_csv(report: &ReportType, rows: &[ExportRow<'_>]) -> Vec<u8> {
    let mut out = String::with_capacity(64 + rows.len() * 160);
    out.push('\u{FEFF}');
    push_csv_line(&mut out, headers(report).iter().map(String::as_str));
    for row in rows {
        let fixed = fixed_cells(row);
        let values = report.indicators.iter().map(|i| match row.report.values.get(&i.code) {
            Some(Value::Int(n)) => n.to_string(),
            Some(v) => v.display(),
            None => String::new(),
        });
        let cells: Vec<String> = fixed.into_iter().chain(values).collect();
        push_csv_line(&mut out, cells.iter().map(String::as_str));
    }
    out.into_bytes()
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
    let guarded;
    let cell = if cell.starts_with(FORMULA_STARTS) {
        guarded = format!("'{cell}");
        guarded.as_str()
    } else {
        cell
    };
    if cell.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&cell.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(cell);
    }
}

/// Where the big "Báo cáo" sheet is assembled while rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XlsxBuffer {
    /// Every cell kept in memory until the end (no I/O: the pure default).
    Memory,
    /// Each finished row streamed as XML to a temporary file, strings inline
    /// (`rust_xlsxwriter`'s constant-memory mode): about half the time and a fraction of
    /// the memory for 100,000 reports, for a somewhat larger file. Chosen by the I/O edge.
    TempFile,
}

/// XLSX workbook bytes: sheet "Báo cáo" (bold frozen header, column widths, numbers as
/// numbers, submission times as date cells) and sheet "Tổng hợp" (per period: teams
/// reported, not reported, and the sum of each number indicator over current reports).
pub fn to_xlsx(report: &ReportType, rows: &[ExportRow<'_>]) -> Result<Vec<u8>, XlsxError> {
    to_xlsx_with(report, rows, &[], XlsxBuffer::Memory)
}

/// `to_xlsx` with more sheets after "Tổng hợp" (the hand-off's "Đóng góp").
pub fn to_xlsx_with(
    report: &ReportType,
    rows: &[ExportRow<'_>],
    extra: &[Sheet],
    buffer: XlsxBuffer,
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    // Rows are written in order, as the streaming mode requires.
    let sheet = match buffer {
        XlsxBuffer::Memory => workbook.add_worksheet(),
        XlsxBuffer::TempFile => workbook.add_worksheet_with_constant_memory()?,
    };
    sheet.set_name("Báo cáo")?;
    let bold = Format::new().set_bold().set_text_wrap();
    let when = Format::new().set_num_format("dd/mm/yyyy hh:mm");
    for (c, header) in headers(report).iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, header, &bold)?;
    }
    for (c, width) in FIXED_WIDTHS.iter().enumerate() {
        sheet.set_column_width(c as u16, *width)?;
    }
    let fixed_len = FIXED_HEADERS.len() as u16;
    for k in 0..report.indicators.len() as u16 {
        sheet.set_column_width(fixed_len + k, 16.0)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        // The cells of `fixed_cells`, written without building its strings first.
        let missing = row.status == RowStatus::Missing;
        sheet.write_string(r, 0, &row.province)?;
        sheet.write_string(r, 1, &row.commune)?;
        sheet.write_string(r, 2, &row.village)?;
        sheet.write_string(r, 3, &row.unit_code)?;
        sheet.write_number(r, 4, row.team_id as f64)?;
        sheet.write_string(r, 5, &row.team_name)?;
        sheet.write_string(r, 6, row.report.period.key())?;
        sheet.write_string(r, 7, row.status.label())?;
        if missing {
            for c in 8..=11 {
                sheet.write_string(r, c, "")?;
            }
        } else {
            sheet.write_number(r, 8, f64::from(row.report.version))?;
            sheet.write_string(r, 9, &row.submitted_by)?;
            // Excel has no time zones: the cell holds Vietnam local time.
            let local = row.report.submitted_at.get() + crate::calendar::UTC_OFFSET_SECS;
            let c = SUBMITTED_AT_COLUMN as u16;
            match ExcelDateTime::from_timestamp(local) {
                Ok(at) => sheet.write_datetime_with_format(r, c, &at, &when)?,
                Err(_) => {
                    sheet.write_string(r, c, format_local_datetime(row.report.submitted_at))?
                }
            };
            sheet.write_string(r, 11, if row.report.on_time { "Có" } else { "Không" })?;
        }
        sheet.write_string(r, 12, &row.report.definition)?;
        for (k, indicator) in report.indicators.iter().enumerate() {
            let c = fixed_len + k as u16;
            match (indicator.kind, row.report.values.get(&indicator.code)) {
                (_, None) => continue,
                (IndicatorKind::Int, Some(Value::Int(n))) => sheet.write_number(r, c, *n as f64)?,
                (_, Some(v)) => sheet.write_string(r, c, v.display())?,
            };
        }
    }
    sheet.autofilter(0, 0, rows.len() as u32, fixed_len + report.indicators.len() as u16 - 1)?;
    totals_sheet(&mut workbook, report, rows, &bold)?;
    for sheet in extra {
        sheet.add_to(&mut workbook)?;
    }
    // Level 3 (Excel's own) instead of 6: about a third less time spent compressing for a
    // file a few percent larger (see rust_xlsxwriter's performance notes).
    workbook.set_zip_compression_level(3);
    workbook.save_to_buffer()
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
        let mut workbook = Workbook::new();
        self.add_to(&mut workbook)?;
        workbook.save_to_buffer()
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

    fn add_to(&self, workbook: &mut Workbook) -> Result<(), XlsxError> {
        let sheet = workbook.add_worksheet();
        sheet.set_name(&self.name)?;
        let bold = Format::new().set_bold().set_text_wrap();
        for (c, header) in self.headers.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, header, &bold)?;
            sheet.set_column_width(c as u16, self.widths.get(c).copied().unwrap_or(14.0))?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (r, row) in self.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32 + 1, c as u16);
                match cell {
                    Cell::Text(t) => sheet.write_string(r, c, t)?,
                    Cell::Number(n) => sheet.write_number(r, c, *n)?,
                    Cell::Empty => continue,
                };
            }
        }
        if !self.headers.is_empty() {
            sheet.autofilter(0, 0, self.rows.len() as u32, self.headers.len() as u16 - 1)?;
        }
        Ok(())
    }
}

/// "Tổng hợp": one row per period with counts and the sums of number indicators over
/// current reports (replaced and withdrawn versions never count twice).
fn totals_sheet(
    workbook: &mut Workbook,
    report: &ReportType,
    rows: &[ExportRow<'_>],
    bold: &Format,
) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name("Tổng hợp")?;
    let numbers: Vec<_> =
        report.indicators.iter().filter(|i| i.kind == IndicatorKind::Int).collect();
    let mut header =
        vec!["Kỳ báo cáo".to_owned(), "Tổ đã báo cáo".into(), "Tổ chưa báo cáo".into()];
    header.extend(numbers.iter().map(|i| format!("{} ({})", i.label, i.code)));
    for (c, h) in header.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, h, bold)?;
        sheet.set_column_width(c as u16, if c == 0 { 12.0 } else { 16.0 })?;
    }
    // One pass over the rows: (current, missing, sums) per period, in period order.
    let mut periods: BTreeMap<String, (u32, u32, Vec<i64>)> = BTreeMap::new();
    for row in rows {
        let (current, missing, sums) = periods
            .entry(row.report.period.key())
            .or_insert_with(|| (0, 0, vec![0; numbers.len()]));
        match row.status {
            RowStatus::Current => {
                *current += 1;
                for (sum, indicator) in sums.iter_mut().zip(&numbers) {
                    if let Some(Value::Int(n)) = row.report.values.get(&indicator.code) {
                        *sum += n;
                    }
                }
            }
            RowStatus::Missing => *missing += 1,
            RowStatus::Replaced | RowStatus::Withdrawn => {}
        }
    }
    for (p, (period, (current, missing, sums))) in periods.iter().enumerate() {
        let r = p as u32 + 1;
        sheet.write_string(r, 0, period)?;
        sheet.write_number(r, 1, f64::from(*current))?;
        sheet.write_number(r, 2, f64::from(*missing))?;
        for (k, sum) in sums.iter().enumerate() {
            sheet.write_number(r, 3 + k as u16, *sum as f64)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::reports::aggregate::tests::sample_units;
    use crate::reports::oneline::tests::defs;

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
        let team = Team {
            id: 7,
            unit: "V1".into(),
            name: "Tổ CNSCĐ thôn Đông".into(),
            created_at: UnixSecs(0),
            expected_from: None,
        };
        let teams: HashMap<u64, &Team> = [(7, &team)].into_iter().collect();
        let names: HashMap<&str, &str> = [("u1", "Chị Lan")].into_iter().collect();
        let mut values = BTreeMap::new();
        values.insert("CHUNG_01".to_owned(), Value::Int(1200));
        values.insert("TO_05".to_owned(), Value::Text("=cmd, \"x\"".into()));
        let v = version(7, values);
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
}
