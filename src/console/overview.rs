//! Tổng quan: completeness per commune and village for one period (on time, late,
//! missing), the teams that have not reported with who to call, the indicator
//! totals of the last 6 periods as small server-side SVG bar charts, and the citizens'
//! requests waiting and each team's contribution (summaries of `requests.rs` and
//! `contributions.rs`).

use crate::calendar::UnixSecs;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{Signed, blocking, html, render};
use crate::reports::aggregate::Hierarchy;
use crate::reports::definition::{IndicatorKind, ReportType};
use crate::reports::model::{Role, UnitLevel};
use crate::reports::period::{Period, default_period, parse_period_token};
use crate::reports_runtime::Reporting;
use crate::reports_runtime::query::ReportFilter;
use crate::state::AppState;
use crate::store::console::ConsoleSession;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/tong-quan", get(page))
}

#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    /// `T11`, `11/2026`, `2026-11`; default: the period being reported.
    #[serde(default)]
    pub ky: Option<String>,
}

/// The period typed in a console filter, read like the chat reads it.
pub fn chosen_period(
    report: &ReportType,
    text: Option<&str>,
    now: UnixSecs,
) -> Result<Period, String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(default_period(report, now)),
        Some(text) => match parse_period_token(text, report.period, now) {
            Some(Ok(period)) => Ok(period),
            _ => Err(format!("Kỳ \"{text}\" không đúng. Nhập như T11, 11/2026 hoặc 2026-11.")),
        },
    }
}

async fn page(
    State(state): State<AppState>,
    Signed(session): Signed,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let (reporting, handoff) = (state.reporting.clone(), state.handoff.clone());
    let now = state.clock.now_secs();
    let body = blocking(move || {
        let (mut body, key) =
            build(&reporting, &session, q.ky.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
        body.push_str(&super::requests::summary(&handoff, &session, now)?);
        body.push_str(&super::contributions::summary(&handoff, &session, &key, now)?);
        Ok::<_, anyhow::Error>((body, session))
    })
    .await;
    match body {
        Ok((body, session)) => render(html::page("Tổng quan", "/admin/tong-quan", &session, &body)),
        Err(response) => response,
    }
}

fn build(
    reporting: &Reporting,
    session: &ConsoleSession,
    ky: Option<&str>,
) -> Result<(String, String), crate::reports_runtime::query::QueryError> {
    let now = reporting.clock().now_secs();
    let defs = reporting.defs();
    let report = reporting.report_type(&defs, None)?;
    let mut out = String::new();
    let period = match chosen_period(report, ky, now) {
        Ok(p) => p,
        Err(message) => {
            out.push_str(&html::notice("error", &message));
            default_period(report, now)
        }
    };
    let key = period.key();
    let scope = session.unit.as_deref();
    let _ = write!(
        out,
        "<form method=\"get\" class=\"filters\" action=\"/admin/tong-quan\">\
         <label>Kỳ báo cáo <input name=\"ky\" value=\"{}\" placeholder=\"T11 hoặc 2026-11\" size=\"10\"></label>\
         <button type=\"submit\">Xem</button></form>\
         <p class=\"lead\">{} · {} — hạn nộp {} ngày sau khi hết kỳ.</p>",
        html::esc(&key),
        html::esc(&report.name),
        html::esc(&crate::vntext::capitalise(&period.label())),
        report.deadline_days
    );

    // Completeness per commune and village, each unit under its parent.
    let mut rows = reporting.completeness(None, Some(&key), scope, now)?;
    let units = reporting.units()?;
    let hierarchy = Hierarchy::new(&units);
    let path_key = |code: &str| -> Vec<String> {
        hierarchy.path(code).iter().map(|u| u.code.clone()).collect()
    };
    rows.sort_by_cached_key(|r| path_key(&r.unit));
    if units.is_empty() {
        out.push_str(&html::notice(
            "info",
            "Chưa có đơn vị hành chính nào. Vào \"Tổ và thành viên\" để tải lên danh sách đơn vị và tổ.",
        ));
    }
    out.push_str(
        "<section><h2>Mức độ báo cáo</h2><div class=\"table-wrap\"><table>\
         <thead><tr><th scope=\"col\">Đơn vị</th><th scope=\"col\">Số tổ</th><th scope=\"col\">Đúng hạn</th>\
         <th scope=\"col\">Muộn</th><th scope=\"col\">Chưa báo cáo</th><th scope=\"col\">Tỉ lệ</th></tr></thead><tbody>",
    );
    for row in rows.iter().filter(|r| r.expected > 0 || r.reported > 0) {
        let class = match row.level {
            UnitLevel::Province => "lvl-province",
            UnitLevel::Commune => "lvl-commune",
            UnitLevel::Village => "lvl-village",
        };
        let missing = row.expected.saturating_sub(row.reported);
        let _ = write!(
            out,
            "<tr class=\"{class}\"><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"{}\">{}</td><td>{:.0}%</td></tr>",
            html::esc(
                &hierarchy
                    .get(&row.unit)
                    .map_or_else(|| row.unit_name.to_string(), |u| u.display_name())
            ),
            row.expected,
            row.on_time,
            row.late,
            if missing > 0 { "warn" } else { "" },
            missing,
            row.rate
        );
    }
    out.push_str("</tbody></table></div></section>");

    // Teams that have not reported, with who to call.
    let reported: HashSet<u64> = reporting
        .reports(&ReportFilter { period: Some(key.clone()), ..ReportFilter::default() })?
        .iter()
        .map(|v| v.team)
        .collect();
    let members = reporting.members()?;
    let store = reporting.store();
    let mut by_team: HashMap<u64, Vec<String>> = HashMap::new();
    for m in &members {
        if let Some(team) = m.team {
            let role = if m.role == Role::Leader { "tổ trưởng" } else { "thành viên" };
            let name = m.display_name.clone().unwrap_or_else(|| "(chưa có tên)".into());
            let last = store
                .last_reachable_interaction(&m.user_id)
                .ok()
                .flatten()
                .map(|t| format!(", nhắn gần nhất {}", html::date(t)))
                .unwrap_or_default();
            by_team.entry(team).or_default().push(format!("{name} ({role}{last})"));
        }
    }
    let mut missing: Vec<_> = reporting
        .teams()?
        .into_iter()
        .filter(|t| scope.is_none_or(|s| hierarchy.is_within(&t.unit, s)))
        .filter(|t| t.expected_from() < period.end() && !reported.contains(&t.id))
        .collect();
    missing.sort_by(|a, b| a.unit.cmp(&b.unit).then(a.name.cmp(&b.name)));
    let _ = write!(
        out,
        "<section><h2>Tổ chưa báo cáo kỳ {} ({})</h2>",
        html::esc(&period.label()),
        missing.len()
    );
    if missing.is_empty() {
        out.push_str("<p>Tất cả các tổ đã báo cáo.</p>");
    } else {
        out.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Tổ</th><th scope=\"col\">Đơn vị</th>\
             <th scope=\"col\">Người liên hệ</th></tr></thead><tbody>",
        );
        for team in &missing {
            let unit = hierarchy.get(&team.unit).map(|u| u.display_name()).unwrap_or_default();
            let contacts = by_team
                .get(&team.id)
                .map(|c| c.join("; "))
                .unwrap_or_else(|| "Chưa có thành viên: gửi mã mời cho tổ".into());
            let _ = write!(
                out,
                "<tr class=\"missing\"><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>",
                html::esc(&team.name),
                html::esc(&unit),
                html::esc(&contacts)
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");

    // Totals of the last 6 periods.
    let mut periods = vec![period];
    while periods.len() < 6 {
        let prev = periods[periods.len() - 1].prev();
        periods.push(prev);
    }
    periods.reverse();
    let keys: Vec<String> = periods.iter().map(|p| p.key()).collect();
    let totals = reporting.totals(None, Some(&keys.join(",")), scope, now)?;
    // The top of the scope: the admin's unit, or every province-level unit.
    let top = |unit: &str| match scope {
        Some(s) => unit == s,
        None => hierarchy.get(unit).is_some_and(|u| u.parent.is_none()),
    };
    out.push_str("<section><h2>Chỉ tiêu 6 kỳ gần nhất</h2><div class=\"charts\">");
    for indicator in report.indicators.iter().filter(|i| i.kind == IndicatorKind::Int).take(6) {
        let values: Vec<(String, i64)> = periods
            .iter()
            .map(|p| {
                let key = p.key();
                let sum = totals
                    .iter()
                    .filter(|r| r.period.as_ref() == key.as_str() && top(&r.unit))
                    .filter_map(|r| r.totals.get(indicator.code.as_str()))
                    .sum();
                (format!("T{}", p.number), sum)
            })
            .collect();
        let _ = write!(
            out,
            "<figure class=\"chart\">{}<figcaption>{}</figcaption></figure>",
            bar_chart(&indicator.label, &values),
            html::esc(&indicator.label)
        );
    }
    out.push_str("</div></section>");
    Ok((out, key))
}

/// A small bar chart as inline SVG (presentation attributes only: the CSP forbids inline
/// styles). Each bar carries its value as text, so the chart also reads without colour.
pub fn bar_chart(title: &str, values: &[(String, i64)]) -> String {
    const W: i64 = 300;
    const H: i64 = 150;
    const BASE: i64 = 120;
    let max = values.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let slot = W / values.len().max(1) as i64;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <line x1=\"0\" y1=\"{BASE}\" x2=\"{W}\" y2=\"{BASE}\" stroke=\"#8a94a6\" stroke-width=\"1\"/>",
        html::esc(title)
    );
    for (i, (label, value)) in values.iter().enumerate() {
        let h = (value * 95 / max).max(if *value > 0 { 2 } else { 0 });
        let x = i as i64 * slot + slot / 5;
        let w = slot * 3 / 5;
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"{h}\" fill=\"#1f6feb\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1b1f24\">{value}</text>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#57606a\">{}</text>",
            BASE - h,
            x + w / 2,
            BASE - h - 4,
            x + w / 2,
            BASE + 16,
            html::esc(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_scale_to_the_largest_value() {
        let svg = bar_chart("x", &[("T1".into(), 0), ("T2".into(), 50), ("T3".into(), 100)]);
        assert!(svg.contains("height=\"95\""), "{svg}");
        assert!(svg.contains("height=\"47\""), "{svg}");
        assert!(svg.contains("height=\"0\""), "{svg}");
        assert!(!svg.contains("style="), "inline styles break the CSP");
        assert!(bar_chart("empty", &[]).ends_with("</svg>"));
    }
}
