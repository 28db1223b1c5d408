//! Yêu cầu hỗ trợ: citizens' requests to be connected to their local team (issue 12),
//! filtered by status, unit and month, from the same query as `GET /admin/api/requests`.
//!
//! Scope: a unit admin sees only requests of their unit and the units below it, so what a
//! citizen wrote never reaches an admin of another commune. Citizens appear by a
//! pseudonym only; a request unclaimed for longer than the escalation time is marked.

use crate::calendar::UnixSecs;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{Signed, blocking, html, render};
use crate::handoff::model::{Level, Status};
use crate::handoff_runtime::Handoff;
use crate::handoff_runtime::query::{HandoffQueryError, RequestRow};
use crate::privacy::mask_id;
use crate::reports::aggregate::Hierarchy;
use crate::state::AppState;
use crate::store::console::ConsoleSession;

/// At most this many rows on the page (newest first after the live ones).
const MAX_ROWS: usize = 500;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/yeu-cau", get(page))
}

#[derive(Deserialize, Default)]
struct Filters {
    /// `cho` (open), `dang-xu-ly` (claimed), `xong` (closed), `huy` (cancelled); empty: all.
    #[serde(default, rename = "trang-thai")]
    status: Option<String>,
    #[serde(default, rename = "don-vi")]
    unit: Option<String>,
    /// A month (`T11`, `11/2026`, `2026-11`); empty: every month.
    #[serde(default)]
    ky: Option<String>,
}

/// (form value, API status, label).
const STATUSES: &[(&str, &str, &str)] = &[
    ("cho", "open", "Chờ người nhận"),
    ("dang-xu-ly", "claimed", "Đang xử lý"),
    ("xong", "closed", "Đã xong"),
    ("huy", "cancelled", "Người dân đã hủy"),
];

fn status_label(status: Status) -> &'static str {
    STATUSES.iter().find(|(_, s, _)| *s == status.as_str()).map_or("", |(_, _, label)| label)
}

async fn page(
    State(state): State<AppState>,
    Signed(session): Signed,
    Query(f): Query<Filters>,
) -> Response {
    let handoff = state.handoff.clone();
    let now = state.clock.now_secs();
    match blocking(move || build(&handoff, &session, &f, now).map(|b| (b, session))).await {
        Ok((body, session)) => {
            render(html::page("Yêu cầu hỗ trợ", "/admin/yeu-cau", &session, &body))
        }
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
    let status = f.status.as_deref().unwrap_or("");
    let _ = write!(
        out,
        "<form method=\"get\" action=\"/admin/yeu-cau\" class=\"filters\">\
         <label>Trạng thái <select name=\"trang-thai\">{}</select></label>\
         <label>Đơn vị <select name=\"don-vi\">{}</select></label>\
         <label>Tháng <input name=\"ky\" value=\"{}\" placeholder=\"T11 hoặc 2026-11\" size=\"16\"></label>\
         <button type=\"submit\">Lọc</button></form>",
        html::options(
            std::iter::once(("", "Tất cả")).chain(STATUSES.iter().map(|(v, _, l)| (*v, *l))),
            status
        ),
        super::unit_options(&units, &hierarchy, session, f.unit.as_deref().unwrap_or("")),
        html::esc(f.ky.as_deref().unwrap_or("")),
    );
    if !handoff.enabled() {
        out.push_str(&html::notice(
            "info",
            "Tính năng kết nối người dân với tổ đang tắt (handoff.enabled = false); dưới đây là các yêu cầu đã có.",
        ));
    }
    let unit = match super::scoped_unit(&hierarchy, session, f.unit.as_deref()) {
        Ok(unit) => unit,
        Err(message) => {
            out.push_str(&html::notice("error", &message));
            return Ok(out);
        }
    };
    let month = match super::chosen_month(f.ky.as_deref(), now) {
        Ok(month) => month,
        Err(message) => {
            out.push_str(&html::notice("error", &message));
            return Ok(out);
        }
    };
    let api_status = STATUSES.iter().find(|(v, _, _)| *v == status).map(|(_, s, _)| *s);
    let mut rows = match handoff.find_requests(api_status, unit.as_deref(), month.as_deref()) {
        Ok(rows) => rows,
        Err(HandoffQueryError::BadRequest(m)) => {
            out.push_str(&html::notice("error", &m));
            return Ok(out);
        }
        Err(e) => return Err(e),
    };
    let overdue_after = handoff.config().escalate_after_secs;
    let overdue = |r: &RequestRow| is_overdue(r, now, overdue_after);
    // Waiting ones first (longest wait first), then the newest.
    rows.sort_by_key(|r| {
        let live = r.request.status.is_live();
        (!overdue(r), !live, if live { r.request.id as i64 } else { -(r.request.id as i64) })
    });
    let late = rows.iter().filter(|r| overdue(r)).count();
    let open = rows.iter().filter(|r| r.request.status == Status::Open).count();
    let _ = write!(
        out,
        "<p class=\"lead\">{} yêu cầu · {open} chờ người nhận{}. Mã người dân là bí danh, không phải số Zalo.</p>",
        rows.len(),
        if late > 0 {
            format!(", <strong class=\"late\">{late} quá hạn nhận</strong>")
        } else {
            String::new()
        }
    );
    if rows.is_empty() {
        out.push_str("<p>Không có yêu cầu nào khớp bộ lọc.</p>");
        return Ok(out);
    }
    if rows.len() > MAX_ROWS {
        out.push_str(&html::notice(
            "info",
            &format!("Chỉ hiện {MAX_ROWS} yêu cầu đầu; hãy lọc theo đơn vị hoặc tháng."),
        ));
    }
    out.push_str(
        "<div class=\"table-wrap\"><table class=\"requests\"><thead><tr>\
         <th scope=\"col\">Số</th><th scope=\"col\">Thôn / đơn vị</th><th scope=\"col\">Chủ đề và nội dung</th>\
         <th scope=\"col\">Trạng thái</th><th scope=\"col\">Người nhận</th><th scope=\"col\">Chờ / trả lời đầu</th>\
         <th scope=\"col\">Đánh giá</th><th scope=\"col\">Người dân</th></tr></thead><tbody>",
    );
    for row in rows.iter().take(MAX_ROWS) {
        row_html(&mut out, row, overdue(row), now);
    }
    out.push_str("</tbody></table></div>");
    let _ = write!(
        out,
        "<p class=\"hint\">Yêu cầu chưa ai nhận sau {} (trong giờ hành chính) được đánh dấu \"Quá hạn nhận\" và đã được nhắc tổ trưởng, rồi báo lên xã.</p>",
        duration(overdue_after)
    );
    Ok(out)
}

/// Open and waiting for a claim longer than the escalation time. Wall-clock time: the
/// escalation itself counts office hours only, so a request may show here a little before
/// the team leader is reminded (never after).
fn is_overdue(row: &RequestRow, now: UnixSecs, after: i64) -> bool {
    row.request.status == Status::Open && now.since(row.request.waiting_since) >= after
}

/// The overview's section: requests waiting in the session's scope, with a link here.
pub fn summary(
    handoff: &Handoff,
    session: &ConsoleSession,
    now: UnixSecs,
) -> Result<String, HandoffQueryError> {
    let rows = match handoff.find_requests(None, session.unit.as_deref(), None) {
        Ok(rows) => rows,
        // The admin's unit was removed from the units file since they signed in.
        Err(HandoffQueryError::BadRequest(m)) => return Ok(html::notice("error", &m)),
        Err(e) => return Err(e),
    };
    let overdue_after = handoff.config().escalate_after_secs;
    let count = |status: Status| rows.iter().filter(|r| r.request.status == status).count();
    let late = rows.iter().filter(|r| is_overdue(r, now, overdue_after)).count();
    let mut out = String::from("<section id=\"yeu-cau\"><h2>Yêu cầu hỗ trợ của người dân</h2>");
    if rows.is_empty() {
        out.push_str("<p>Chưa có yêu cầu nào.</p>");
    } else {
        let _ = write!(
            out,
            "<ul class=\"counts\"><li><strong>{}</strong> chờ người nhận</li>\
             <li{}><strong>{late}</strong> quá hạn nhận</li><li><strong>{}</strong> đang xử lý</li>\
             <li><strong>{}</strong> đã xong</li></ul>",
            count(Status::Open),
            if late > 0 { " class=\"late\"" } else { "" },
            count(Status::Claimed),
            count(Status::Closed),
        );
    }
    out.push_str("<p><a href=\"/admin/yeu-cau\">Xem danh sách yêu cầu</a></p></section>");
    Ok(out)
}

fn row_html(out: &mut String, row: &RequestRow, overdue: bool, now: UnixSecs) {
    let r = &row.request;
    let topic = r
        .topic
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| format!("<span class=\"topic\">{}</span><br>", html::esc(t)))
        .unwrap_or_default();
    let question = if r.purged || r.question.is_empty() {
        "<span class=\"hint\">(nội dung đã xóa theo thời hạn lưu trữ)</span>".to_owned()
    } else if r.question.chars().count() <= 90 {
        html::esc(&r.question)
    } else {
        let short: String = r.question.chars().take(80).collect();
        format!(
            "<details><summary>{}…</summary>{}</details>",
            html::esc(&short),
            html::esc(&r.question)
        )
    };
    let mut status = status_label(r.status).to_owned();
    if overdue {
        status.push_str(" · <strong>Quá hạn nhận</strong>");
    }
    match r.level {
        Level::Team => {}
        Level::Commune => status.push_str("<br><span class=\"hint\">đã báo các tổ của xã</span>"),
        Level::Admin => status.push_str("<br><span class=\"hint\">đã báo cán bộ quản lý</span>"),
    }
    let timing = match (r.status, r.first_reply_at) {
        (_, Some(first)) if first.since(r.created_at) < 60 => {
            "trả lời ngay (dưới 1 phút)".to_owned()
        }
        (_, Some(first)) => format!("trả lời sau {}", duration(first.since(r.created_at))),
        (Status::Open, None) => format!("đã chờ {}", duration(now.since(r.waiting_since))),
        (Status::Claimed, None) => {
            format!(
                "chưa trả lời, đã {}",
                duration(now.since(r.claimed_at.unwrap_or(r.created_at)))
            )
        }
        (_, None) => "không có trả lời".to_owned(),
    };
    let rating = match &r.rating {
        None => "—".to_owned(),
        Some(x) => {
            let word = if x.satisfied { "Hài lòng" } else { "Chưa hài lòng" };
            match x.comment.as_deref().filter(|c| !c.is_empty() && !r.purged) {
                Some(c) => format!("{word}<br><span class=\"hint\">«{}»</span>", html::esc(c)),
                None => word.to_owned(),
            }
        }
    };
    let citizen = if r.citizen.is_empty() { "—".to_owned() } else { mask_id(&r.citizen) };
    let _ = write!(
        out,
        "<tr{}><th scope=\"row\">#{}<br><span class=\"hint\">{}</span></th><td>{}</td>\
         <td>{topic}{question}</td><td>{status}</td><td>{}</td>\
         <td class=\"nowrap\">{timing}{}</td><td>{rating}</td><td><code>{}</code></td></tr>",
        if overdue { " class=\"overdue\"" } else { "" },
        r.id,
        html::datetime(r.created_at),
        html::esc(&row.place),
        row.claimer.as_deref().map(html::esc).unwrap_or_else(|| "—".to_owned()),
        if r.visits > 0 { format!("<br>{} lần hẹn gặp", r.visits) } else { String::new() },
        html::esc(&citizen),
    );
}

/// "2 ngày 3 giờ", "1 giờ 5 phút", "12 phút", "dưới 1 phút".
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => "dưới 1 phút".to_owned(),
        (0, 0, m) => format!("{m} phút"),
        (0, h, 0) => format!("{h} giờ"),
        (0, h, m) => format!("{h} giờ {m} phút"),
        (d, 0, _) => format!("{d} ngày"),
        (d, h, _) => format!("{d} ngày {h} giờ"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_words() {
        for (secs, want) in [
            (-5, "dưới 1 phút"),
            (59, "dưới 1 phút"),
            (60 * 12, "12 phút"),
            (7200, "2 giờ"),
            (3900, "1 giờ 5 phút"),
            (86_400 * 2 + 3 * 3600 + 60, "2 ngày 3 giờ"),
            (86_400, "1 ngày"),
        ] {
            assert_eq!(duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn every_status_has_a_label() {
        for s in [Status::Open, Status::Claimed, Status::Closed, Status::Cancelled] {
            assert!(!status_label(s).is_empty(), "{s:?}");
        }
    }
}
