//! Tổ và thành viên: units and teams (CSV upload → preview → apply), creating a team,
//! members with display names, role and last contact, and invites: the code large, its
//! expiry, a QR code and a printable card.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Form, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Signed, blocking, check_csrf, fail, html, render};
use crate::reports::aggregate::Hierarchy;
use crate::reports::import;
use crate::reports::model::{Invite, Role, Unit};
use crate::reports_runtime::Reporting;
use crate::reports_runtime::query::QueryError;
use crate::state::AppState;
use crate::store::console::ConsoleSession;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/to", get(page))
        .route("/admin/to/xem-truoc", post(preview))
        .route("/admin/to/ap-dung", post(apply))
        .route("/admin/to/tao", post(create_team))
        .route("/admin/moi", post(create_invite))
        .route("/admin/moi/{code}", get(invite_page))
        .route("/admin/thanh-vien/ten", post(set_name))
}

fn in_scope(hierarchy: &Hierarchy<'_>, session: &ConsoleSession, unit: &str) -> bool {
    session.unit.as_deref().is_none_or(|s| hierarchy.is_within(unit, s))
}

async fn page(State(reporting): State<Reporting>, Signed(session): Signed) -> Response {
    match blocking(move || build(&reporting, &session, None).map(|b| (b, session))).await {
        Ok((body, session)) => render(html::page("Tổ và thành viên", "/admin/to", &session, &body)),
        Err(response) => response,
    }
}

fn build(
    reporting: &Reporting,
    session: &ConsoleSession,
    message: Option<(&str, &str)>,
) -> Result<String, QueryError> {
    let mut out = String::new();
    if let Some((kind, text)) = message {
        out.push_str(&html::notice(kind, text));
    }
    let units = reporting.units()?;
    let hierarchy = Hierarchy::new(&units);
    let visible: Vec<&Unit> =
        units.iter().filter(|u| in_scope(&hierarchy, session, &u.code)).collect();
    let mut teams: Vec<_> =
        reporting.teams()?.into_iter().filter(|t| in_scope(&hierarchy, session, &t.unit)).collect();
    teams.sort_by(|a, b| a.unit.cmp(&b.unit).then(a.name.cmp(&b.name)));
    let csrf = html::csrf_field(session);

    // Upload.
    let unit_choice = if session.unit.is_none() {
        "<label><input type=\"radio\" name=\"loai\" value=\"don-vi\" checked> Danh sách đơn vị (code,name,kind,parent)</label>\
         <label><input type=\"radio\" name=\"loai\" value=\"to\"> Danh sách tổ (unit,name)</label>"
    } else {
        "<input type=\"hidden\" name=\"loai\" value=\"to\"><p>Danh sách tổ (unit,name)</p>"
    };
    let _ = write!(
        out,
        "<section><h2>Tải lên danh sách</h2>\
         <form method=\"post\" action=\"/admin/to/xem-truoc\" enctype=\"multipart/form-data\" class=\"card\">{csrf}\
         <fieldset><legend>Loại tệp CSV</legend>{unit_choice}</fieldset>\
         <label for=\"tep\">Tệp CSV (UTF-8, dòng đầu là tên cột)</label>\
         <input id=\"tep\" name=\"tep\" type=\"file\" accept=\".csv,text/csv\" required>\
         <button type=\"submit\">Xem trước thay đổi</button>\
         <p class=\"hint\">Chưa thay đổi gì cho đến khi bạn bấm \"Áp dụng\" ở bước sau.</p></form></section>"
    );

    // Create a team.
    let options: Vec<(String, String)> =
        visible.iter().map(|u| (u.code.clone(), u.display_name())).collect();
    let _ = write!(
        out,
        "<section><h2>Tạo tổ mới</h2><form method=\"post\" action=\"/admin/to/tao\" class=\"card inline\">{csrf}\
         <label>Đơn vị <select name=\"don_vi\" required>{}</select></label>\
         <label>Tên tổ <input name=\"ten\" required maxlength=\"120\"></label>\
         <button type=\"submit\">Tạo tổ</button></form></section>",
        html::options(options.iter().map(|(c, n)| (c.as_str(), n.as_str())), "")
    );

    // Teams with invite buttons.
    let members = reporting.members()?;
    let mut count: HashMap<u64, usize> = HashMap::new();
    for m in &members {
        if let Some(t) = m.team {
            *count.entry(t).or_default() += 1;
        }
    }
    let _ = write!(out, "<section><h2>Các tổ ({})</h2>", teams.len());
    out.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Tổ</th><th scope=\"col\">Đơn vị</th>\
         <th scope=\"col\">Thành viên</th><th scope=\"col\">Mời tham gia</th></tr></thead><tbody>",
    );
    for team in &teams {
        let unit = hierarchy.get(&team.unit).map(|u| u.display_name()).unwrap_or_default();
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"num\">{}</td><td>\
             <form method=\"post\" action=\"/admin/moi\" class=\"inline\">{csrf}\
             <input type=\"hidden\" name=\"to\" value=\"{}\">\
             <select name=\"vai_tro\" aria-label=\"Vai trò của người được mời vào {}\">\
             <option value=\"member\">Thành viên</option><option value=\"leader\">Tổ trưởng</option></select>\
             <button type=\"submit\">Tạo mã mời</button></form></td></tr>",
            html::esc(&team.name),
            html::esc(&unit),
            count.get(&team.id).copied().unwrap_or(0),
            team.id,
            html::esc(&team.name),
        );
    }
    out.push_str("</tbody></table></div></section>");

    // Admin invites for units.
    let _ = write!(
        out,
        "<section><h2>Mời cán bộ quản lý đơn vị</h2>\
         <form method=\"post\" action=\"/admin/moi\" class=\"card inline\">{csrf}\
         <input type=\"hidden\" name=\"vai_tro\" value=\"admin\">\
         <label>Đơn vị <select name=\"don_vi\">{}</select></label>\
         <button type=\"submit\">Tạo mã mời cán bộ</button></form></section>",
        html::options(options.iter().map(|(c, n)| (c.as_str(), n.as_str())), "")
    );

    // Members.
    let team_names: HashMap<u64, &str> = teams.iter().map(|t| (t.id, t.name.as_str())).collect();
    let store = reporting.store();
    out.push_str(
        "<section><h2>Thành viên</h2><div class=\"table-wrap\"><table><thead><tr>\
         <th scope=\"col\">Tên</th><th scope=\"col\">Vai trò</th><th scope=\"col\">Tổ / đơn vị</th>\
         <th scope=\"col\">Tham gia</th><th scope=\"col\">Nhắn gần nhất</th></tr></thead><tbody>",
    );
    for m in &members {
        let place = match (m.team, &m.unit) {
            (Some(t), _) => match team_names.get(&t) {
                Some(name) => (*name).to_owned(),
                None => continue, // outside the session's scope
            },
            (None, Some(u)) if in_scope(&hierarchy, session, u) => {
                hierarchy.get(u).map(|u| u.display_name()).unwrap_or_else(|| u.clone())
            }
            _ => continue,
        };
        let last = store
            .last_reachable_interaction(&m.user_id)
            .ok()
            .flatten()
            .map(html::datetime)
            .unwrap_or_default();
        // The name is typed by the admin (Zalo does not send it); it shows in the
        // dashboard's "who to call" and as the submitter in exports.
        let _ = write!(
            out,
            "<tr><th scope=\"row\"><form method=\"post\" action=\"/admin/thanh-vien/ten\" class=\"inline\">{csrf}\
             <input type=\"hidden\" name=\"ma\" value=\"{}\">\
             <input name=\"ten\" value=\"{}\" placeholder=\"(chưa có tên)\" maxlength=\"80\" aria-label=\"Tên thành viên\">\
             <button type=\"submit\" class=\"secondary\">Lưu tên</button></form></th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html::esc(&crate::privacy::mask_id(&m.user_id)),
            html::esc(m.display_name.as_deref().unwrap_or("")),
            m.role.label(),
            html::esc(&place),
            html::date(m.joined_at),
            last
        );
    }
    out.push_str("</tbody></table></div></section>");
    Ok(out)
}

#[derive(Deserialize)]
struct NameForm {
    csrf: Option<String>,
    /// The member's pseudonym (`privacy::mask_id`): raw Zalo ids never reach the page.
    ma: String,
    ten: String,
}

async fn set_name(
    State(reporting): State<Reporting>,
    Signed(session): Signed,
    Form(form): Form<NameForm>,
) -> Response {
    if let Some(refused) = check_csrf(&session, form.csrf.as_deref()) {
        return refused;
    }
    let result = blocking(move || {
        let units = reporting.units()?;
        let hierarchy = Hierarchy::new(&units);
        let teams: HashMap<u64, String> =
            reporting.teams()?.into_iter().map(|t| (t.id, t.unit)).collect();
        let member = reporting.members()?.into_iter().find(|m| {
            let unit = m.team.and_then(|t| teams.get(&t)).or(m.unit.as_ref());
            crate::privacy::mask_id(&m.user_id) == form.ma
                && unit.is_some_and(|u| in_scope(&hierarchy, &session, u))
        });
        let name = crate::reports::text::nfc(&form.ten);
        let message = match member {
            None => ("error", "Không tìm thấy thành viên này.".to_owned()),
            Some(m) => {
                let name = (!name.is_empty()).then_some(name.as_str());
                reporting.store().set_report_member_name(&m.user_id, name)?;
                ("ok", "Đã lưu tên thành viên.".to_owned())
            }
        };
        let body = build(&reporting, &session, Some((message.0, &message.1)))?;
        Ok::<_, QueryError>((body, session))
    })
    .await;
    match result {
        Ok((body, session)) => render(html::page("Tổ và thành viên", "/admin/to", &session, &body)),
        Err(response) => response,
    }
}

/// The multipart upload: which list and the file text.
async fn read_upload(mut multipart: Multipart) -> Result<(Option<String>, String, String), String> {
    let (mut csrf, mut kind, mut text) = (None, String::new(), String::new());
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|e| e.body_text())?;
        let value = String::from_utf8(bytes.to_vec()).map_err(|_| {
            "Tệp không phải UTF-8. Trong Excel chọn \"CSV UTF-8\" khi lưu.".to_owned()
        })?;
        match name.as_str() {
            "csrf" => csrf = Some(value),
            "loai" => kind = value,
            "tep" => text = value.trim_start_matches('\u{feff}').to_owned(),
            _ => {}
        }
    }
    Ok((csrf, kind, text))
}

async fn preview(
    State(reporting): State<Reporting>,
    Signed(session): Signed,
    multipart: Multipart,
) -> Response {
    let (csrf, kind, text) = match read_upload(multipart).await {
        Ok(upload) => upload,
        Err(message) => return fail(StatusCode::BAD_REQUEST, &message),
    };
    if let Some(refused) = check_csrf(&session, csrf.as_deref()) {
        return refused;
    }
    let result = blocking(move || {
        let body = preview_body(&reporting, &session, &kind, &text)?;
        Ok::<_, QueryError>((body, session))
    })
    .await;
    match result {
        Ok((body, session)) => {
            render(html::page("Xem trước thay đổi", "/admin/to", &session, &body))
        }
        Err(response) => response,
    }
}

fn preview_body(
    reporting: &Reporting,
    session: &ConsoleSession,
    kind: &str,
    text: &str,
) -> Result<String, QueryError> {
    let existing = reporting.units()?;
    let hierarchy = Hierarchy::new(&existing);
    let mut out = String::new();
    let mut changes: Vec<String> = Vec::new();
    let problems: Vec<String> = match kind {
        "don-vi" if session.unit.is_none() => match import::units_from_csv(text, &existing) {
            Ok(units) => {
                let old: HashMap<&str, &Unit> =
                    existing.iter().map(|u| (u.code.as_str(), u)).collect();
                for u in &units {
                    match old.get(u.code.as_str()) {
                        None => changes.push(format!("Thêm {} (mã {})", u.display_name(), u.code)),
                        Some(o) if *o != u => {
                            changes.push(format!("Sửa {} (mã {})", u.display_name(), u.code))
                        }
                        Some(_) => {}
                    }
                }
                vec![]
            }
            Err(problems) => problems,
        },
        "to" => match import::teams_from_csv(text, &existing) {
            Ok(rows) => {
                let present: HashSet<(String, String)> =
                    reporting.teams()?.into_iter().map(|t| (t.unit, t.name)).collect();
                let mut problems = Vec::new();
                for row in &rows {
                    if !in_scope(&hierarchy, session, &row.unit) {
                        problems.push(format!(
                            "{}: đơn vị {} không thuộc phạm vi của bạn",
                            row.name, row.unit
                        ));
                    } else if !present.contains(&(row.unit.clone(), row.name.clone())) {
                        let unit =
                            hierarchy.get(&row.unit).map(|u| u.display_name()).unwrap_or_default();
                        changes.push(format!("Thêm tổ {} thuộc {}", row.name, unit));
                    }
                }
                problems
            }
            Err(problems) => problems,
        },
        _ => vec!["Chọn loại danh sách (đơn vị hoặc tổ).".into()],
    };
    if !problems.is_empty() {
        out.push_str(&html::notice(
            "error",
            "Tệp có lỗi, chưa thay đổi gì. Sửa tệp rồi tải lên lại:",
        ));
        out.push_str("<ul class=\"problems\">");
        for p in &problems {
            let _ = write!(out, "<li>{}</li>", html::esc(&translate_import_problem(p)));
        }
        out.push_str("</ul><p><a href=\"/admin/to\">Quay lại</a></p>");
        return Ok(out);
    }
    if changes.is_empty() {
        out.push_str(&html::notice("info", "Không có gì thay đổi: mọi dòng đã có sẵn."));
        out.push_str("<p><a href=\"/admin/to\">Quay lại</a></p>");
        return Ok(out);
    }
    let _ = write!(out, "<p>Sẽ có {} thay đổi:</p><ul class=\"changes\">", changes.len());
    for c in &changes {
        let _ = write!(out, "<li>{}</li>", html::esc(c));
    }
    let _ = write!(
        out,
        "</ul><form method=\"post\" action=\"/admin/to/ap-dung\">{}\
         <input type=\"hidden\" name=\"loai\" value=\"{}\">\
         <textarea name=\"csv\" hidden>{}</textarea>\
         <button type=\"submit\">Áp dụng</button> <a href=\"/admin/to\">Huỷ</a></form>",
        html::csrf_field(session),
        html::esc(kind),
        html::esc(text)
    );
    Ok(out)
}

/// Import problems come from the shared CSV reader in English; the common ones are
/// worded in Vietnamese for the page.
fn translate_import_problem(problem: &str) -> String {
    problem
        .replace("line ", "dòng ")
        .replace(": unit and name are required", ": cần có cả mã đơn vị (unit) và tên tổ (name)")
        .replace(" is unknown", " chưa có trong danh sách đơn vị")
        .replace("unit ", "đơn vị ")
}

#[derive(Deserialize)]
struct ApplyForm {
    csrf: Option<String>,
    loai: String,
    csv: String,
}

async fn apply(
    State(reporting): State<Reporting>,
    Signed(session): Signed,
    Form(form): Form<ApplyForm>,
) -> Response {
    if let Some(refused) = check_csrf(&session, form.csrf.as_deref()) {
        return refused;
    }
    let result = blocking(move || {
        let message = match form.loai.as_str() {
            "don-vi" if session.unit.is_none() => match reporting.import_units(&form.csv) {
                Ok(n) => ("ok", format!("Đã cập nhật {n} đơn vị.")),
                Err(QueryError::BadRequest(m)) => ("error", translate_import_problem(&m)),
                Err(e) => return Err(e),
            },
            "to" => {
                // The scope is checked again: the form could have been altered.
                let units = reporting.units()?;
                let hierarchy = Hierarchy::new(&units);
                let rows = import::teams_from_csv(&form.csv, &units).unwrap_or_default();
                if rows.iter().any(|r| !in_scope(&hierarchy, &session, &r.unit)) {
                    ("error", "Có tổ không thuộc phạm vi của bạn.".to_owned())
                } else {
                    match reporting.import_teams(&form.csv, reporting.clock().now_secs()) {
                        Ok(created) => ("ok", format!("Đã thêm {} tổ.", created.len())),
                        Err(QueryError::BadRequest(m)) => ("error", translate_import_problem(&m)),
                        Err(e) => return Err(e),
                    }
                }
            }
            _ => ("error", "Loại danh sách không đúng.".to_owned()),
        };
        let body = build(&reporting, &session, Some((message.0, &message.1)))?;
        Ok((body, session))
    })
    .await;
    match result {
        Ok((body, session)) => render(html::page("Tổ và thành viên", "/admin/to", &session, &body)),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct NewTeamForm {
    csrf: Option<String>,
    don_vi: String,
    ten: String,
}

async fn create_team(
    State(reporting): State<Reporting>,
    Signed(session): Signed,
    Form(form): Form<NewTeamForm>,
) -> Response {
    if let Some(refused) = check_csrf(&session, form.csrf.as_deref()) {
        return refused;
    }
    let result = blocking(move || {
        let units = reporting.units()?;
        let allowed = in_scope(&Hierarchy::new(&units), &session, &form.don_vi);
        let message = if !allowed {
            ("error", "Đơn vị này không thuộc phạm vi của bạn.".to_owned())
        } else {
            let now = reporting.clock().now_secs();
            match reporting.create_team(&form.don_vi, &form.ten, None, now) {
                Ok(team) => ("ok", format!("Đã tạo tổ \"{}\".", team.name)),
                Err(QueryError::BadRequest(m)) if m.contains("already has a team") => {
                    ("error", "Đơn vị này đã có tổ trùng tên; chọn tên khác.".to_owned())
                }
                Err(QueryError::BadRequest(_)) => ("error", "Cần nhập tên tổ.".to_owned()),
                Err(QueryError::NotFound(_)) => ("error", "Không tìm thấy đơn vị.".to_owned()),
                Err(e) => return Err(e),
            }
        };
        let body = build(&reporting, &session, Some((message.0, &message.1)))?;
        Ok((body, session))
    })
    .await;
    match result {
        Ok((body, session)) => render(html::page("Tổ và thành viên", "/admin/to", &session, &body)),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct NewInviteForm {
    csrf: Option<String>,
    #[serde(default)]
    to: Option<u64>,
    #[serde(default)]
    don_vi: Option<String>,
    vai_tro: Role,
}

async fn create_invite(
    State(reporting): State<Reporting>,
    Signed(session): Signed,
    Form(form): Form<NewInviteForm>,
) -> Response {
    if let Some(refused) = check_csrf(&session, form.csrf.as_deref()) {
        return refused;
    }
    let result = blocking(move || {
        let units = reporting.units()?;
        let hierarchy = Hierarchy::new(&units);
        let unit_of_invite = match (form.vai_tro, form.to, &form.don_vi) {
            (Role::Admin, _, Some(unit)) => Some(unit.clone()),
            (_, Some(team), _) => reporting.store().report_team(team)?.map(|t| t.unit),
            _ => None,
        };
        if unit_of_invite.as_deref().is_none_or(|u| !in_scope(&hierarchy, &session, u)) {
            return Ok(None);
        }
        let now = reporting.clock().now_secs();
        reporting.create_invite(form.to, form.don_vi, form.vai_tro, now).map(Some)
    })
    .await;
    match result {
        Ok(Some(invite)) => {
            Redirect::to(&format!("/admin/moi/{}", html::url(&invite.code))).into_response()
        }
        Ok(None) => fail(StatusCode::FORBIDDEN, "Tổ hoặc đơn vị này không thuộc phạm vi của bạn."),
        Err(response) => response,
    }
}

async fn invite_page(
    State(reporting): State<Reporting>,
    Signed(session): Signed,
    Path(code): Path<String>,
) -> Response {
    let code = code.trim().to_uppercase();
    let result = blocking(move || {
        let invite = reporting.store().report_invite(&code)?;
        let units = reporting.units()?;
        let target = match &invite {
            Some(Invite { team: Some(team), .. }) => {
                reporting.store().report_team(*team)?.map(|t| (t.unit.clone(), t.name.clone()))
            }
            Some(Invite { unit: Some(unit), .. }) => Some((unit.clone(), String::new())),
            _ => None,
        };
        let hierarchy = Hierarchy::new(&units);
        let body = match (invite, target) {
            (Some(invite), Some((unit, team_name))) if in_scope(&hierarchy, &session, &unit) => {
                let unit_name = hierarchy.get(&unit).map(|u| u.display_name()).unwrap_or(unit);
                Some(invite_card(&invite, &team_name, &unit_name))
            }
            _ => None,
        };
        Ok::<_, QueryError>((body, session))
    })
    .await;
    match result {
        Ok((Some(body), session)) => render(html::page("Mã mời", "/admin/to", &session, &body)),
        Ok((None, _)) => fail(StatusCode::NOT_FOUND, "Không tìm thấy mã mời này."),
        Err(response) => response,
    }
}

fn invite_card(invite: &Invite, team_name: &str, unit_name: &str) -> String {
    let message = format!("/dangky {}", invite.code);
    let qr = qr_svg(&message);
    let place = if team_name.is_empty() {
        format!("Cán bộ quản lý {unit_name}")
    } else {
        format!("{} — {team_name}, {unit_name}", crate::vntext::capitalise(invite.role.label()))
    };
    let used = match invite.used_at {
        Some(at) => {
            html::notice("info", &format!("Mã này đã được dùng lúc {}.", html::datetime(at)))
        }
        None => String::new(),
    };
    format!(
        "{used}<article class=\"invite-card\" aria-label=\"Thẻ mời\">\
         <p class=\"invite-for\">{}</p>\
         <p>Mở Zalo, vào Official Account của Tổ CNSCĐ và nhắn:</p>\
         <p class=\"invite-code\" id=\"ma-moi\">{}</p>\
         <p class=\"invite-message\">/dangky {}</p>\
         <div class=\"qr\" id=\"qr-moi\">{qr}</div>\
         <p>Dùng một lần, hết hạn ngày <strong id=\"han-moi\">{}</strong>.</p></article>\
         <p class=\"no-print\">Bấm Ctrl+P để in thẻ mời. <a href=\"/admin/to\">Quay lại danh sách tổ</a></p>",
        html::esc(&place),
        html::esc(&invite.code),
        html::esc(&invite.code),
        html::date(invite.expires_at),
    )
}

/// The QR code of `text` as inline SVG (no XML declaration, no inline styles).
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build();
            let start = svg.find("<svg").unwrap_or(0);
            svg[start..].replacen(
                "<svg",
                "<svg role=\"img\" aria-label=\"Mã QR của tin nhắn đăng ký\"",
                1,
            )
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_is_inline_svg_without_styles() {
        let svg = qr_svg("/dangky AB12CD");
        assert!(svg.starts_with("<svg role=\"img\""), "{}", &svg[..60.min(svg.len())]);
        assert!(!svg.contains("style="));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn import_problems_read_in_vietnamese() {
        assert_eq!(
            translate_import_problem("line 3: unit 999 is unknown"),
            "dòng 3: đơn vị 999 chưa có trong danh sách đơn vị"
        );
    }
}
