//! Tin gửi lỗi (province-level administrators only): messages Zalo refused, with its
//! code and message and a retry button each; the stored token pair's status and a form
//! to replace it after re-authorising the OA.

use crate::calendar::UnixMs;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;

use super::{Province, check_csrf, html, internal, render};
use crate::state::AppState;
use crate::store::console::ConsoleSession;
use crate::store::{OutboxFilter, OutboxStatus, TokenPair};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/tin-loi", axum::routing::get(page))
        .route("/admin/tin-loi/{id}/gui-lai", post(retry))
        .route("/admin/tin-loi/token", post(replace_tokens))
}

async fn page(State(state): State<AppState>, Province(session): Province) -> Response {
    build(&state, &session, None)
}

fn build(state: &AppState, session: &ConsoleSession, message: Option<(&str, String)>) -> Response {
    let failed =
        match state.store.outbox_list(OutboxFilter { status: Some(OutboxStatus::Failed) }, 200) {
            Ok(list) => list,
            Err(e) => return internal(e),
        };
    let tokens = match state.store.tokens() {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let csrf = html::csrf_field(session);
    let mut out = String::new();
    if let Some((kind, text)) = message {
        out.push_str(&html::notice(kind, &text));
    }
    let now = state.clock.now_secs();
    let token_status = match &tokens {
        None => "Chưa có cặp token: tin nhắn đang nằm chờ. Nhập cặp token mới bên dưới.".to_owned(),
        Some(pair) => match pair.expires_at {
            Some(at) if at <= now => format!(
                "Access token đã hết hạn lúc {}; hệ thống sẽ tự làm mới bằng refresh token.",
                html::datetime(at)
            ),
            Some(at) => format!(
                "Đang dùng được, hết hạn lúc {} (tự làm mới trước khi hết hạn).",
                html::datetime(at)
            ),
            None => format!("Đã lưu lúc {}, không rõ hạn.", html::datetime(pair.issued_at)),
        },
    };
    let _ = write!(
        out,
        "<section><h2>Token Zalo</h2><p id=\"trang-thai-token\">{}</p>\
         <details><summary>Thay cặp token (sau khi cấp quyền lại cho OA)</summary>\
         <form method=\"post\" action=\"/admin/tin-loi/token\" class=\"card\">{csrf}\
         <label for=\"access\">Access token</label><input id=\"access\" name=\"access_token\" required autocomplete=\"off\">\
         <label for=\"refresh\">Refresh token</label><input id=\"refresh\" name=\"refresh_token\" required autocomplete=\"off\">\
         <label for=\"expires\">Hiệu lực (giây)</label><input id=\"expires\" name=\"expires_in\" inputmode=\"numeric\" value=\"90000\">\
         <button type=\"submit\">Lưu cặp token</button></form></details></section>",
        html::esc(&token_status)
    );
    let _ = write!(out, "<section><h2>Tin gửi lỗi ({})</h2>", failed.len());
    if failed.is_empty() {
        out.push_str("<p>Không có tin nào gửi lỗi.</p>");
    } else {
        out.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Lúc tạo</th><th scope=\"col\">Người nhận</th>\
             <th scope=\"col\">Nội dung</th><th scope=\"col\">Mã lỗi Zalo</th><th scope=\"col\">Lý do</th>\
             <th scope=\"col\">Số lần thử</th><th scope=\"col\"></th></tr></thead><tbody>",
        );
        for e in &failed {
            let text: String =
                crate::zalo::message::plain_text(&e.message.value()).chars().take(80).collect();
            let (code, reason) = e
                .last_error
                .as_ref()
                .map(|err| (err.code.to_string(), err.message.clone()))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
                 <td><form method=\"post\" action=\"/admin/tin-loi/{}/gui-lai\">{csrf}<button type=\"submit\">Gửi lại</button></form></td></tr>",
                html::datetime(UnixMs(e.created_at_ms).to_secs()),
                html::esc(&crate::privacy::mask_id(&e.user_id)),
                html::esc(&text),
                html::esc(&code),
                html::esc(&reason),
                e.attempts,
                e.id
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
    render(html::page("Tin gửi lỗi", "/admin/tin-loi", session, &out))
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

async fn retry(
    State(state): State<AppState>,
    Province(session): Province,
    Path(id): Path<u64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = check_csrf(&session, form.csrf.as_deref()) {
        return refused;
    }
    let message = match state.store.outbox_retry(id, state.clock.now_ms()) {
        Ok(_) => {
            if let Err(e) = state.store.flush().await {
                return internal(e);
            }
            state.sender_wake.notify_one();
            ("ok", format!("Đã đưa tin số {id} vào hàng đợi gửi lại."))
        }
        Err(crate::store::StoreError::NotFound) => ("error", "Không tìm thấy tin này.".to_owned()),
        Err(e) => return internal(e),
    };
    build(&state, &session, Some(message))
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: Option<String>,
    access_token: String,
    refresh_token: String,
    #[serde(default)]
    expires_in: String,
}

async fn replace_tokens(
    State(state): State<AppState>,
    Province(session): Province,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Some(refused) = check_csrf(&session, form.csrf.as_deref()) {
        return refused;
    }
    let (access, refresh) = (form.access_token.trim(), form.refresh_token.trim());
    if access.is_empty() || refresh.is_empty() {
        return build(
            &state,
            &session,
            Some(("error", "Cần nhập cả access token và refresh token.".into())),
        );
    }
    let now = state.clock.now_secs();
    let expires_in = form.expires_in.trim().parse::<i64>().ok().filter(|s| *s > 0);
    let pair = TokenPair {
        access_token: access.to_owned(),
        refresh_token: refresh.to_owned(),
        expires_at: expires_in.map(|s| now.plus_secs(s)),
        issued_at: now,
    };
    if let Err(e) = state.store.put_tokens(&pair).await {
        return internal(e);
    }
    tracing::info!("zalo token pair replaced from the console");
    state.sender_wake.notify_one();
    build(&state, &session, Some(("ok", "Đã lưu cặp token mới.".into())))
}
