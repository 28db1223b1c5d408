//! Đóng góp: what each member, team and unit did for one month, measured from the
//! hand-off and the reports (never typed in), from the same query as
//! `GET /admin/api/contributions`; downloads as CSV or XLSX (sheet "Đóng góp").
//! A unit admin sees their unit and the units below it only.

use crate::calendar::UnixSecs;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::{Signed, blocking, fail, html, render};
use crate::handoff::contrib::Figures;
use crate::handoff_runtime::Handoff;
use crate::handoff_runtime::query::{ContributionReport, HandoffQueryError};
use crate::reports::aggregate::Hierarchy;
use crate::reports::model::UnitLevel;
use crate::reports_runtime::query::ExportFormat;
use crate::state::AppState;
use crate::store::console::ConsoleSession;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/dong-gop", get(page))
        .route("/admin/dong-gop/tai.csv", get(download_csv))
        .route("/admin/dong-gop/tai.xlsx", get(download_xlsx))
}

#[derive(Deserialize, Default, Clone)]
pub struct Filters {
    /// A month (`T11`, `11/2026`, `2026-11`); empty: the current month.
    #[serde(default)]
    pub ky: Option<String>,
    #[serde(default, rename = "don-vi")]
    pub unit: Option<String>,
}

impl Filters {
    fn query_string(&self) -> String {
        format!(
            "ky={}&don-vi={}",
            html::url(self.ky.as_deref().unwrap_or("")),
            html::url(self.unit.as_deref().unwrap_or(""))
        )
    }
}

/// The figures for the filters within the session's scope, or the message to show.
pub fn figures_for(
    handoff: &Handoff,
    session: &ConsoleSession,
    f: &Filters,
    now: UnixSecs,
) -> Result<Result<ContributionReport, String>, HandoffQueryError> {
    let units = handoff.store().report_units()?;
    let hierarchy = Hierarchy::new(&units);
    let unit = match super::scoped_unit(&hierarchy, session, f.unit.as_deref()) {
        Ok(unit) => unit,
        Err(message) => return Ok(Err(message)),
    };
    let month = match super::chosen_month(f.ky.as_deref(), now) {
        Ok(month) => month,
        Err(message) => return Ok(Err(message)),
    };
    match handoff.contribution_figures(month.as_deref(), unit.as_deref()) {
        Ok(report) => Ok(Ok(report)),
        // E.g. the admin's unit was removed from the units file since they signed in.
        Err(HandoffQueryError::BadRequest(m)) => Ok(Err(m)),
        Err(e) => Err(e),
    }
}

async fn page(
    State(state): State<AppState>,
    Signed(session): Signed,
    Query(f): Query<Filters>,
) -> Response {
    let handoff = state.handoff.clone();
    let now = state.clock.now_secs();
    match blocking(move || build(&handoff, &session, &f, now).map(|b| (b, session))).await {
        Ok((body, session)) => render(html::page("Đóng góp", "/admin/dong-gop", &session, &body)),
        Err(response) => response,
    }
}

fn build(
    handoff: &Handoff,
    session: &ConsoleSession,
    f: &Filters,
    now: UnixSecs,
) -> Result<String, HandoffQueryError> {
    let units = handoff.store().report_units()?;
    let hierarchy = Hierarchy::new(&units);
    let mut out = String::new();
    let _ = write!(
        out,
        "<form method=\"get\" action=\"/admin/dong-gop\" class=\"filters\">\
         <label>Tháng <input name=\"ky\" value=\"{}\" placeholder=\"T11 hoặc 2026-11\" size=\"16\"></label>\
         <label>Đơn vị <select name=\"don-vi\">{}</select></label>\
         <button type=\"submit\">Xem</button></form>",
        html::esc(f.ky.as_deref().unwrap_or("")),
        super::unit_options(&units, &hierarchy, session, f.unit.as_deref().unwrap_or("")),
    );
    let report = match figures_for(handoff, session, f, now)? {
        Ok(report) => report,
        Err(message) => {
            out.push_str(&html::notice("error", &message));
            return Ok(out);
        }
    };
    let month = report.periods.first().map(|p| month_label(p)).unwrap_or_default();
    let _ = write!(
        out,
        "<p class=\"lead\">Tháng {} · {} Số liệu tự báo cáo của tổ nằm ở trang Báo cáo.</p>\
         <p class=\"downloads\"><a class=\"button\" href=\"/admin/dong-gop/tai.xlsx?{qs}\" download>Tải Excel (XLSX)</a> \
         <a class=\"button secondary\" href=\"/admin/dong-gop/tai.csv?{qs}\" download>Tải CSV</a></p>",
        html::esc(&month),
        html::esc(report.note),
        qs = f.query_string(),
    );
    if report.units.is_empty() && report.members.is_empty() {
        out.push_str("<p>Chưa có hoạt động nào được ghi nhận trong tháng này.</p>");
        return Ok(out);
    }

    out.push_str("<section><h2>Theo đơn vị</h2>");
    table_start(&mut out, "Đơn vị");
    let mut by_path: Vec<_> = report
        .units
        .iter()
        .map(|u| {
            let path: Vec<String> =
                hierarchy.path(&u.unit).iter().map(|p| p.code.clone()).collect();
            (path, u)
        })
        .collect();
    by_path.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, u) in by_path {
        let class = match u.level {
            UnitLevel::Province => "lvl-province",
            UnitLevel::Commune => "lvl-commune",
            UnitLevel::Village => "lvl-village",
        };
        row(&mut out, class, &html::esc(u.name.as_deref().unwrap_or(&u.unit)), &u.figures);
    }
    out.push_str("</tbody></table></div></section>");

    out.push_str("<section><h2>Theo tổ</h2>");
    table_start(&mut out, "Tổ");
    let mut teams: Vec<_> = report.teams.iter().collect();
    teams.sort_by(|a, b| a.unit.cmp(&b.unit).then(a.name.cmp(&b.name)));
    for t in teams {
        let label = format!(
            "{}<br><span class=\"hint\">{}</span>",
            html::esc(t.name.as_deref().unwrap_or("")),
            html::esc(t.unit_name.as_deref().unwrap_or(&t.unit))
        );
        row(&mut out, "", &label, &t.figures);
    }
    out.push_str("</tbody></table></div></section>");

    out.push_str("<section><h2>Theo thành viên</h2>");
    table_start(&mut out, "Thành viên");
    let mut members: Vec<_> = report.members.iter().collect();
    members.sort_by(|a, b| {
        a.team_name
            .cmp(&b.team_name)
            .then(b.figures.requests_claimed.cmp(&a.figures.requests_claimed))
    });
    for m in members {
        let label = format!(
            "{}<br><span class=\"hint\">{} · <code>{}</code></span>",
            html::esc(&m.name),
            html::esc(m.team_name.as_deref().unwrap_or("(không thuộc tổ)")),
            html::esc(&m.member)
        );
        row(&mut out, "", &label, &m.figures);
    }
    out.push_str("</tbody></table></div></section>");
    out.push_str(
        "<p class=\"hint\">Trả lời đầu: thời gian trung vị từ lúc người dân gửi yêu cầu đến câu trả lời đầu tiên. \
         Báo cáo: số báo cáo đã nộp (trong đó đúng hạn). Mã mời: mã mời do thành viên tạo đã có người dùng.</p>",
    );
    Ok(out)
}

/// The overview's section: each team's figures for the overview's period (when it is a
/// month; else the current month), the busiest first, with a link to the full page.
pub fn summary(
    handoff: &Handoff,
    session: &ConsoleSession,
    period_key: &str,
    now: UnixSecs,
) -> Result<String, HandoffQueryError> {
    let month = crate::handoff::contrib::parse_month(period_key).map(|_| period_key.to_owned());
    let f = Filters { ky: month, unit: None };
    let report = match figures_for(handoff, session, &f, now)? {
        Ok(report) => report,
        Err(message) => return Ok(html::notice("error", &message)),
    };
    let month = report.periods.first().map(|p| month_label(p)).unwrap_or_default();
    let mut out = format!(
        "<section id=\"dong-gop\"><h2>Đóng góp của các tổ tháng {}</h2>",
        html::esc(&month)
    );
    let mut teams: Vec<_> = report.teams.iter().collect();
    teams.sort_by(|a, b| {
        let busy = |f: &Figures| (f.requests_claimed, f.reports_submitted, f.invites_used);
        busy(&b.figures).cmp(&busy(&a.figures)).then(a.name.cmp(&b.name))
    });
    if teams.is_empty() {
        out.push_str("<p>Chưa có hoạt động nào được ghi nhận trong tháng này.</p>");
    } else {
        table_start(&mut out, "Tổ");
        for t in teams.iter().take(SUMMARY_TEAMS) {
            let label = format!(
                "{}<br><span class=\"hint\">{}</span>",
                html::esc(t.name.as_deref().unwrap_or("")),
                html::esc(t.unit_name.as_deref().unwrap_or(&t.unit))
            );
            row(&mut out, "", &label, &t.figures);
        }
        out.push_str("</tbody></table></div>");
    }
    let _ = write!(
        out,
        "<p class=\"hint\">Tự động tính từ hoạt động trên Zalo OA. <a href=\"/admin/dong-gop?{}\">Xem theo thành viên và tải về</a></p></section>",
        f.query_string()
    );
    Ok(out)
}

/// Teams listed on the overview.
const SUMMARY_TEAMS: usize = 10;

fn table_start(out: &mut String, first: &str) {
    let _ = write!(
        out,
        "<div class=\"table-wrap\"><table class=\"figures\"><thead><tr><th scope=\"col\">{first}</th>\
         <th scope=\"col\">Yêu cầu đã nhận</th><th scope=\"col\">Đã xong</th>\
         <th scope=\"col\">Trả lời đầu (trung vị)</th><th scope=\"col\">Hài lòng / chưa</th>\
         <th scope=\"col\">Hẹn gặp</th><th scope=\"col\">Báo cáo (đúng hạn)</th>\
         <th scope=\"col\">Mã mời đã dùng</th></tr></thead><tbody>"
    );
}

fn row(out: &mut String, class: &str, label: &str, f: &Figures) {
    let median =
        f.median_first_reply_secs.map(super::requests::duration).unwrap_or_else(|| "—".to_owned());
    let class = if class.is_empty() { String::new() } else { format!(" class=\"{class}\"") };
    let _ = write!(
        out,
        "<tr{class}><th scope=\"row\">{label}</th><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{median}</td><td class=\"num\">{} / {}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{} ({})</td><td class=\"num\">{}</td></tr>",
        f.requests_claimed,
        f.requests_closed,
        f.rated_satisfied,
        f.rated_unsatisfied,
        f.visits_proposed,
        f.reports_submitted,
        f.reports_on_time,
        f.invites_used,
    );
}

/// "2026-11" → "11/2026".
fn month_label(key: &str) -> String {
    match key.split_once('-') {
        Some((year, month)) => format!("{}/{year}", month.trim_start_matches('0')),
        None => key.to_owned(),
    }
}

async fn download_csv(
    State(state): State<AppState>,
    Signed(session): Signed,
    Query(f): Query<Filters>,
) -> Response {
    download(state, session, f, false).await
}

async fn download_xlsx(
    State(state): State<AppState>,
    Signed(session): Signed,
    Query(f): Query<Filters>,
) -> Response {
    download(state, session, f, true).await
}

async fn download(state: AppState, session: ConsoleSession, f: Filters, xlsx: bool) -> Response {
    let handoff = state.handoff.clone();
    let now = state.clock.now_secs();
    let made = blocking(move || {
        let report = match figures_for(&handoff, &session, &f, now)? {
            Ok(report) => report,
            Err(message) => return Ok(Err(message)),
        };
        let sheet = report.sheet();
        let bytes = if xlsx {
            sheet.to_xlsx().map_err(|e| HandoffQueryError::Other(e.into()))?
        } else {
            sheet.to_csv()
        };
        Ok::<_, HandoffQueryError>(Ok((report.periods.join("_"), bytes)))
    })
    .await;
    let (period, bytes) = match made {
        Ok(Ok(made)) => made,
        Ok(Err(message)) => return fail(StatusCode::BAD_REQUEST, &message),
        Err(response) => return response,
    };
    let format = if xlsx { ExportFormat::Xlsx } else { ExportFormat::Csv };
    (format.download_headers(&format!("dong-gop-{period}")), bytes).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_read_as_in_the_chat() {
        assert_eq!(month_label("2026-11"), "11/2026");
        assert_eq!(month_label("2026-03"), "3/2026");
    }
}
