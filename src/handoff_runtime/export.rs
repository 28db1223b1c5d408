//! The "Đóng góp" sheet: contributions per unit, team and member as a table for the
//! CSV/XLSX downloads (on its own, or beside the reports export). Members appear by
//! display name and pseudonym, never by Zalo id; every figure is automatic.

use crate::handoff::contrib::Figures;
use crate::reports::export::{Cell, Sheet};
use crate::reports::model::UnitLevel;

use super::query::ContributionReport;

/// Sheet name, as issue 12 asks.
pub const SHEET_NAME: &str = "Đóng góp";

const HEADERS: &[(&str, f64)] = &[
    ("Tháng", 10.0),
    ("Cấp", 12.0),
    ("Mã", 14.0),
    ("Tên", 30.0),
    ("Tổ", 28.0),
    ("Yêu cầu đã nhận", 12.0),
    ("Yêu cầu đã xong", 12.0),
    ("Yêu cầu đã trả lời", 12.0),
    ("Thời gian đến trả lời đầu (trung vị, phút)", 16.0),
    ("Hài lòng", 10.0),
    ("Chưa hài lòng", 10.0),
    ("Hẹn gặp", 10.0),
    ("Báo cáo đã nộp", 12.0),
    ("Báo cáo đúng hạn", 12.0),
    ("Mã mời đã dùng", 12.0),
    ("Nguồn", 14.0),
];

impl ContributionReport {
    /// Units (province → commune → village), then teams, then members.
    pub fn sheet(&self) -> Sheet {
        let mut rows = Vec::new();
        let text = |t: &str| Cell::Text(t.to_owned());
        for u in &self.units {
            let level = match u.level {
                UnitLevel::Province => "Tỉnh",
                UnitLevel::Commune => "Xã/phường",
                UnitLevel::Village => "Thôn/tổ dân phố",
            };
            let head = [
                text(&u.period),
                text(level),
                text(&u.unit),
                text(u.name.as_deref().unwrap_or("")),
                Cell::Empty,
            ];
            rows.push(row(head, &u.figures));
        }
        for t in &self.teams {
            let head = [
                text(&t.period),
                text("Tổ"),
                Cell::Number(t.team as f64),
                text(t.name.as_deref().unwrap_or("")),
                text(t.unit_name.as_deref().unwrap_or(&t.unit)),
            ];
            rows.push(row(head, &t.figures));
        }
        for m in &self.members {
            let head = [
                text(&m.period),
                text("Thành viên"),
                text(&m.member),
                text(&m.name),
                text(m.team_name.as_deref().unwrap_or("")),
            ];
            rows.push(row(head, &m.figures));
        }
        Sheet {
            name: SHEET_NAME.to_owned(),
            headers: HEADERS.iter().map(|(h, _)| (*h).to_owned()).collect(),
            widths: HEADERS.iter().map(|(_, w)| *w).collect(),
            rows,
        }
    }
}

fn row(head: [Cell; 5], f: &Figures) -> Vec<Cell> {
    let n = |v: u32| Cell::Number(f64::from(v));
    let mut cells = head.to_vec();
    cells.extend([
        n(f.requests_claimed),
        n(f.requests_closed),
        n(f.requests_answered),
        f.median_first_reply_secs.map_or(Cell::Empty, |s| Cell::Number((s / 60) as f64)),
        n(f.rated_satisfied),
        n(f.rated_unsatisfied),
        n(f.visits_proposed),
        n(f.reports_submitted),
        n(f.reports_on_time),
        n(f.invites_used),
        Cell::Text("Tự động".to_owned()),
    ]);
    cells
}
