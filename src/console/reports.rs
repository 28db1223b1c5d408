//! Báo cáo: the reports table with period / unit / status filters, every version of a
//! report (history), and CSV / XLSX downloads of what the filters select.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::overview::chosen_period;
use super::{Signed, blocking, fail, html, render};
use crate::handoff::contrib::parse_month;
use crate::handoff_runtime::Handoff;
use crate::reports::aggregate::Hierarchy;
use crate::reports::model::ReportVersion;
use crate::reports::period::Period;
use crate::reports::value::Value;
use crate::reports_runtime::Reporting;
use crate::reports_runtime::query::{ExportFormat, QueryError, ReportFilter};
use crate::state::AppState;
use crate::store::console::ConsoleSession;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/bao-cao", get(page))
        .route("/admin/bao-cao/tai.csv", get(download_csv))
        .route("/admin/bao-cao/tai.xlsx", get(download_xlsx))
        .route("/admin/tai/{token}", get(download_page))
        .route("/admin/tai", axum::routing::post(download_by_link))
}

fn valid_link_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `/xuat` in chat sends a one-time link. Opening it shows a button: a link preview
/// fetching the URL must not use the download up.
async fn download_page(axum::extract::Path(token): axum::extract::Path<String>) -> Response {
    if !valid_link_token(&token) {
        return fail(StatusCode::NOT_FOUND, "Đường dẫn tải không đúng.");
    }
    render(html::bare_page(
        "Tải báo cáo",
        &format!(
            "<form method=\"post\" action=\"/admin/tai\" class=\"card narrow\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <p>Tệp Excel các báo cáo của đơn vị. Đường dẫn chỉ tải được một lần.</p>\
             <button type=\"submit\">Tải xuống</button></form>",
            html::esc(&token)
        ),
    ))
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    token: String,
}

/// The download itself: the link is used up here.
async fn download_by_link(
    State(reporting): State<Reporting>,
    State(handoff): State<Handoff>,
    axum::extract::Form(form): axum::extract::Form<LinkForm>,
) -> Response {
    let token = form.token.trim().to_owned();
    if !valid_link_token(&token) {
        return fail(StatusCode::NOT_FOUND, "Đường dẫn tải không đúng.");
    }
    let now = reporting.clock().now_secs();
    let store = reporting.store().clone();
    let link = match blocking(move || store.take_download_link(&token, now)).await {
        Ok(link) => link,
        Err(response) => return response,
    };
    let Some(link) = link else {
        return fail(
            StatusCode::GONE,
            "Đường dẫn đã được dùng hoặc đã hết hạn. Nhắn /xuat cho Zalo OA để nhận đường dẫn mới.",
        );
    };
    let filter = ReportFilter {
        unit: Some(link.unit),
        period: Some(link.period),
        report: None,
        history: false,
    };
    send_file(reporting, handoff, filter, ExportFormat::Xlsx).await
}

#[derive(Deserialize, Default, Clone)]
struct Filters {
    #[serde(default)]
    ky: Option<String>,
    #[serde(default, rename = "don-vi")]
    unit: Option<String>,
    /// `` (current), `dung-han`, `muon`, `lich-su` (every version).
    #[serde(default, rename = "trang-thai")]
    status: Option<String>,
}

impl Filters {
    fn query_string(&self) -> String {
        format!(
            "ky={}&don-vi={}&trang-thai={}",
            html::url(self.ky.as_deref().unwrap_or("")),
            html::url(self.unit.as_deref().unwrap_or("")),
            html::url(self.status.as_deref().unwrap_or(""))
        )
    }
}

/// The store filter for the page filters, within the session's unit.
fn to_filter(
    reporting: &Reporting,
    session: &ConsoleSession,
    f: &Filters,
) -> Result<ReportFilter, String> {
    let now = reporting.clock().now_secs();
    let defs = reporting.defs();
    let report = reporting.report_type(&defs, None).map_err(|e| e.to_string())?;
    let period = chosen_period(report, f.ky.as_deref(), now)?;
    let wanted = f.unit.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let unit = match (&session.unit, wanted) {
        (None, wanted) => wanted.map(str::to_owned),
        (Some(own), None) => Some(own.clone()),
        (Some(own), Some(wanted)) => {
            let units = reporting.units().map_err(|e| e.to_string())?;
            if Hierarchy::new(&units).is_within(wanted, own) {
                Some(wanted.to_owned())
            } else {
                return Err("Bạn chỉ xem được đơn vị của mình và các đơn vị trực thuộc.".into());
            }
        }
    };
    Ok(ReportFilter {
        unit,
        period: Some(period.key()),
        report: None,
        history: f.status.as_deref() == Some("lich-su"),
    })
}

async fn page(
    State(reporting): State<Reporting>,
    Signed(session): Signed,
    Query(f): Query<Filters>,
) -> Response {
    match blocking(move || build(&reporting, &session, &f).map(|b| (b, session))).await {
        Ok((body, session)) => render(html::page("Báo cáo", "/admin/bao-cao", &session, &body)),
        Err(response) => response,
    }
}

/// Status of one version among all versions of its (team, period).
fn status_label(v: &ReportVersion, latest_live: &HashMap<(u64, Period), u32>) -> &'static str {
    if v.withdrawn_at.is_some() {
        "đã rút"
    } else if latest_live.get(&(v.team, v.period)) == Some(&v.version) {
        "hiện hành"
    } else {
        "đã thay thế"
    }
}

fn build(
    reporting: &Reporting,
    session: &ConsoleSession,
    f: &Filters,
) -> Result<String, QueryError> {
    let mut out = String::new();
    let units = reporting.units()?;
    let hierarchy = Hierarchy::new(&units);
    let unit_options: Vec<(String, String)> = std::iter::once((String::new(), "Tất cả".to_owned()))
        .chain(
            units
                .iter()
                .filter(|u| session.unit.as_deref().is_none_or(|s| hierarchy.is_within(&u.code, s)))
                .map(|u| (u.code.clone(), u.display_name())),
        )
        .collect();
    let status = f.status.as_deref().unwrap_or("");
    let _ = write!(
        out,
        "<form method=\"get\" action=\"/admin/bao-cao\" class=\"filters\">\
         <label>Kỳ <input name=\"ky\" value=\"{}\" placeholder=\"T11\" size=\"8\"></label>\
         <label>Đơn vị <select name=\"don-vi\">{}</select></label>\
         <label>Trạng thái <select name=\"trang-thai\">{}</select></label>\
         <button type=\"submit\">Lọc</button></form>",
        html::esc(f.ky.as_deref().unwrap_or("")),
        html::options(
            unit_options.iter().map(|(c, n)| (c.as_str(), n.as_str())),
            f.unit.as_deref().unwrap_or("")
        ),
        html::options(
            [
                ("", "Bản hiện hành"),
                ("dung-han", "Đúng hạn"),
                ("muon", "Muộn"),
                ("lich-su", "Mọi phiên bản (lịch sử)")
            ],
            status
        ),
    );
    let filter = match to_filter(reporting, session, f) {
        Ok(filter) => filter,
        Err(message) => {
            out.push_str(&html::notice("error", &message));
            return Ok(out);
        }
    };
    let qs = f.query_string();
    let _ = write!(
        out,
        "<p class=\"downloads\"><a class=\"button\" href=\"/admin/bao-cao/tai.xlsx?{qs}\" download>Tải Excel (XLSX)</a> \
         <a class=\"button secondary\" href=\"/admin/bao-cao/tai.csv?{qs}\" download>Tải CSV</a></p>"
    );
    let mut versions = reporting.reports(&filter)?;
    versions.retain(|v| match status {
        "dung-han" => v.on_time,
        "muon" => !v.on_time,
        _ => true,
    });
    let mut latest_live: HashMap<(u64, Period), u32> = HashMap::new();
    for v in versions.iter().filter(|v| v.withdrawn_at.is_none()) {
        let entry = latest_live.entry((v.team, v.period)).or_insert(v.version);
        *entry = (*entry).max(v.version);
    }
    let teams: HashMap<u64, _> = reporting.teams()?.into_iter().map(|t| (t.id, t)).collect();
    let names: HashMap<String, String> = reporting
        .members()?
        .into_iter()
        .filter_map(|m| m.display_name.map(|n| (m.user_id, n)))
        .collect();
    let defs = reporting.defs();
    let report = reporting.report_type(&defs, None)?;
    let shown: Vec<_> = report.indicators.iter().take(4).collect();
    versions.sort_by(|a, b| {
        let unit =
            |v: &ReportVersion| teams.get(&v.team).map(|t| t.unit.clone()).unwrap_or_default();
        unit(a).cmp(&unit(b)).then(a.team.cmp(&b.team)).then(a.version.cmp(&b.version))
    });
    let _ = write!(out, "<p>{} báo cáo.</p>", versions.len());
    out.push_str("<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Tổ</th><th scope=\"col\">Đơn vị</th>\
                  <th scope=\"col\">Kỳ</th><th scope=\"col\">Phiên bản</th><th scope=\"col\">Trạng thái</th>\
                  <th scope=\"col\">Người gửi</th><th scope=\"col\">Lúc gửi</th>");
    for i in &shown {
        let _ = write!(out, "<th scope=\"col\">{}</th>", html::esc(&i.short));
    }
    out.push_str("</tr></thead><tbody>");
    for v in &versions {
        let team = teams.get(&v.team);
        let unit =
            team.and_then(|t| hierarchy.get(&t.unit)).map(|u| u.display_name()).unwrap_or_default();
        let who = names
            .get(&v.submitted_by)
            .cloned()
            .unwrap_or_else(|| crate::privacy::mask_id(&v.submitted_by));
        let timing = if v.on_time { "đúng hạn" } else { "muộn" };
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"nowrap\">{}</td><td>{}</td><td>{}, {timing}</td><td>{}</td><td class=\"nowrap\">{}</td>",
            html::esc(team.map_or("(tổ đã xoá)", |t| t.name.as_str())),
            html::esc(&unit),
            html::esc(&v.period.label()),
            v.version,
            status_label(v, &latest_live),
            html::esc(&who),
            html::datetime(v.submitted_at),
        );
        for i in &shown {
            let value = v.values.get(&i.code).map(display_value).unwrap_or_default();
            let _ = write!(out, "<td class=\"num\">{}</td>", html::esc(&value));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    Ok(out)
}

fn display_value(value: &Value) -> String {
    match value {
        Value::Int(n) => n.to_string(),
        Value::Bool(true) => "Có".into(),
        Value::Bool(false) => "Không".into(),
        Value::Text(t) => t.clone(),
    }
}

async fn download_csv(
    State(reporting): State<Reporting>,
    State(handoff): State<Handoff>,
    Signed(session): Signed,
    Query(f): Query<Filters>,
) -> Response {
    download(reporting, handoff, session, f, ExportFormat::Csv).await
}

async fn download_xlsx(
    State(reporting): State<Reporting>,
    State(handoff): State<Handoff>,
    Signed(session): Signed,
    Query(f): Query<Filters>,
) -> Response {
    download(reporting, handoff, session, f, ExportFormat::Xlsx).await
}

async fn download(
    reporting: Reporting,
    handoff: Handoff,
    session: ConsoleSession,
    f: Filters,
    format: ExportFormat,
) -> Response {
    let filter = match to_filter(&reporting, &session, &f) {
        Ok(filter) => filter,
        Err(message) => return fail(StatusCode::BAD_REQUEST, &message),
    };
    send_file(reporting, handoff, filter, format).await
}

/// The export of `filter`; an XLSX of a monthly period also gets the sheet "Đóng góp"
/// (the hand-off's automatic figures for the same month and unit).
async fn send_file(
    reporting: Reporting,
    handoff: Handoff,
    filter: ReportFilter,
    format: ExportFormat,
) -> Response {
    let name = format!("bao-cao-{}", filter.period.clone().unwrap_or_default());
    let bytes = match blocking(move || {
        let month = filter.period.as_deref().filter(|p| parse_month(p).is_some());
        let extra = match (format, month) {
            (ExportFormat::Xlsx, Some(month)) => {
                let report = handoff
                    .contribution_figures(Some(month), filter.unit.as_deref())
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                vec![report.sheet()]
            }
            _ => Vec::new(),
        };
        reporting.export_with(&filter, format, &extra).map_err(anyhow::Error::from)
    })
    .await
    {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    (format.download_headers(&name), bytes).into_response()
}
