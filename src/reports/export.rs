//! Export rendering: one row per team and period, one column per indicator, plus the
//! unit path, who submitted, when, and the version. CSV is UTF-8 with a BOM so Excel
//! shows Vietnamese correctly; XLSX is written in memory by `rust_xlsxwriter`.

use std::collections::HashMap;

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::aggregate::Hierarchy;
use super::definition::{IndicatorKind, ReportType};
use super::model::{ReportVersion, Team, UnitLevel};
use super::period::format_local_datetime;
use super::value::Value;

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
}

/// Joins current versions with their team and unit path. Versions of unknown teams
/// are kept with empty names rather than dropped: an export must not lose data.
pub fn build_rows<'a>(
    hierarchy: &Hierarchy<'_>,
    teams: &HashMap<u64, &Team>,
    names: &HashMap<&str, &str>,
    versions: &[&'a ReportVersion],
) -> Vec<ExportRow<'a>> {
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

fn fixed_cells(row: &ExportRow<'_>) -> [String; 12] {
    [
        row.province.clone(),
        row.commune.clone(),
        row.village.clone(),
        row.unit_code.clone(),
        row.team_id.to_string(),
        row.team_name.clone(),
        row.report.period.clone(),
        row.report.version.to_string(),
        row.submitted_by.clone(),
        format_local_datetime(row.report.submitted_at),
        if row.report.on_time { "Có" } else { "Không" }.to_owned(),
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

/// XLSX workbook bytes: one sheet, bold frozen header, numbers as numbers.
pub fn to_xlsx(report: &ReportType, rows: &[ExportRow<'_>]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Bao cao")?;
    let bold = Format::new().set_bold();
    for (c, header) in headers(report).iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, header, &bold)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let fixed_len = FIXED_HEADERS.len() as u16;
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in fixed_cells(row).iter().enumerate() {
            match c {
                4 => sheet.write_number(r, c as u16, row.team_id as f64)?,
                7 => sheet.write_number(r, c as u16, f64::from(row.report.version))?,
                _ => sheet.write_string(r, c as u16, cell)?,
            };
        }
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
    workbook.save_to_buffer()
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
            period: "2026-10".into(),
            version: 2,
            definition: "abc".into(),
            values,
            submitted_by: "u1".into(),
            submitted_at: 1_793_000_000,
            on_time: true,
            source_event: "e".into(),
            withdrawn_at: None,
        }
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
            created_at: 0,
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
            "Tỉnh NP,Xã NC1,Thôn NV1,V1,7,Tổ CNSCĐ thôn Đông,2026-10,2,Chị Lan,26/10/2026 14:33,Có,abc,1200,,,\"'=cmd, \"\"x\"\"\""
        );
        let xlsx = to_xlsx(report, &rows).unwrap();
        assert!(xlsx.starts_with(b"PK"), "xlsx is a zip");
    }
}
