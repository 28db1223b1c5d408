//! Câu chưa hiểu (province level): messages the dialogs did not understand or answered
//! with an ask-back, most frequent first, from the same store list as
//! `GET /admin/api/unmatched`. The texts are already folded and masked (digits, phone-,
//! code- and address-shaped words) and carry no user id; editors turn them into
//! `examples` of the right node in "Kịch bản".

use std::fmt::Write as _;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::{Province, blocking, html, render};
use crate::state::AppState;
use crate::store::Unmatched;

/// Rows on the page; the JSON API can list up to 1000.
const PAGE_LIMIT: usize = 300;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/cau-chua-hieu", get(page))
}

/// The recorded messages still within the retention, most frequent first.
pub fn recent(state: &AppState, limit: usize) -> Result<Vec<Unmatched>, crate::store::StoreError> {
    let since = state.clock.now_ms().plus_ms(-state.dialogs.unmatched_retention_ms());
    state.store.unmatched_list(limit, since)
}

async fn page(State(state): State<AppState>, Province(session): Province) -> Response {
    let items = match blocking(move || recent(&state, PAGE_LIMIT)).await {
        Ok(items) => items,
        Err(response) => return response,
    };
    let mut out = String::from(
        "<p class=\"lead\">Tin nhắn người dân gửi mà kịch bản chưa hiểu (hoặc phải hỏi lại), nhiều nhất trước. \
         Số, số điện thoại, mã và địa chỉ đã được che; không lưu người gửi.</p>\
         <p class=\"hint\">Cách dùng: chọn câu hay gặp, thêm cách nói đó vào <code>examples</code> của mục phù hợp \
         trong trang <a href=\"/admin/kich-ban\">Kịch bản</a>, bấm \"Kiểm tra\" rồi \"Lưu\".</p>",
    );
    if items.is_empty() {
        out.push_str("<p>Chưa có tin nhắn nào bot chưa hiểu.</p>");
    } else {
        let _ = write!(out, "<p>{} câu (tối đa {PAGE_LIMIT}).</p>", items.len());
        out.push_str(&table(&items));
    }
    render(html::page("Câu chưa hiểu", "/admin/kich-ban", &session, &out))
}

/// The list as a table: text, count, ask-backs, first and last seen (Vietnam dates).
pub fn table(items: &[Unmatched]) -> String {
    let mut out = String::from(
        "<div class=\"table-wrap\"><table class=\"unmatched\"><thead><tr>\
         <th scope=\"col\">Câu người dân gửi (đã che)</th><th scope=\"col\">Số lần</th>\
         <th scope=\"col\">Trong đó hỏi lại</th><th scope=\"col\">Lần đầu</th>\
         <th scope=\"col\">Lần gần nhất</th></tr></thead><tbody>",
    );
    for u in items {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"nowrap\">{}</td><td class=\"nowrap\">{}</td></tr>",
            html::esc(&u.text),
            u.count(),
            u.asked_back,
            html::date(u.first_seen_ms.to_secs()),
            html::date(u.last_seen_ms.to_secs()),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}
