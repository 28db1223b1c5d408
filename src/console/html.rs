//! HTML building blocks: escaping, the page shell with navigation, small widgets.
//!
//! Pages are plain server-rendered HTML with one stylesheet and no script, so the strict
//! Content-Security-Policy (`script-src 'none'`) holds everywhere.

use crate::calendar::UnixSecs;
use std::fmt::Write as _;

use crate::store::console::ConsoleSession;

/// Escapes text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query value.
pub fn url(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The navigation entries: (path, label).
const NAV: &[(&str, &str)] = &[
    ("/admin/tong-quan", "Tổng quan"),
    ("/admin/bao-cao", "Báo cáo"),
    ("/admin/yeu-cau", "Yêu cầu hỗ trợ"),
    ("/admin/dong-gop", "Đóng góp"),
    ("/admin/to", "Tổ và thành viên"),
    ("/admin/kich-ban", "Kịch bản"),
    ("/admin/tin-loi", "Tin gửi lỗi"),
];

/// A whole console page: header with navigation and sign-out, then `body`.
pub fn page(title: &str, active: &str, session: &ConsoleSession, body: &str) -> String {
    let mut nav = String::new();
    for (path, label) in NAV {
        // Unit admins cannot edit dialogs or handle Zalo tokens.
        if session.unit.is_some() && matches!(*path, "/admin/kich-ban" | "/admin/tin-loi") {
            continue;
        }
        let current = if *path == active { " aria-current=\"page\"" } else { "" };
        let _ = write!(nav, "<a href=\"{path}\"{current}>{label}</a>");
    }
    let scope = match &session.unit {
        None => "toàn tỉnh".to_owned(),
        Some(unit) => format!("đơn vị {}", esc(unit)),
    };
    format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Trang quản trị Tổ CNSCĐ</title>\
         <link rel=\"stylesheet\" href=\"/admin/static/console.css\"></head><body>\
         <a class=\"skip\" href=\"#chinh\">Bỏ qua đến nội dung</a>\
         <header class=\"top\"><div class=\"brand\">Tổ CNSCĐ · Trang quản trị</div>\
         <nav aria-label=\"Mục chính\">{nav}</nav>\
         <form method=\"post\" action=\"/admin/dang-xuat\" class=\"signout\">{csrf}\
         <span class=\"who\">{who} · {scope}</span> <button type=\"submit\">Đăng xuất</button></form>\
         </header><main id=\"chinh\"><h1>{title}</h1>{body}</main></body></html>",
        title = esc(title),
        csrf = csrf_field(session),
        who = esc(&session.who),
    )
}

/// A page outside the signed-in area (sign-in, errors).
pub fn bare_page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Trang quản trị Tổ CNSCĐ</title>\
         <link rel=\"stylesheet\" href=\"/admin/static/console.css\"></head><body class=\"bare\">\
         <main id=\"chinh\"><h1>{title}</h1>{body}</main></body></html>",
        title = esc(title),
    )
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf_field(session: &ConsoleSession) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(&session.csrf))
}

/// A notice box: `kind` is `ok`, `error` or `info`.
pub fn notice(kind: &str, text: &str) -> String {
    let role = if kind == "error" { " role=\"alert\"" } else { " role=\"status\"" };
    format!("<div class=\"notice {kind}\"{role}>{}</div>", esc(text))
}

/// "03/11/2026 14:05" in Vietnam time.
pub fn datetime(unix: UnixSecs) -> String {
    crate::reports::period::format_local_datetime(unix)
}

/// "03/11/2026" in Vietnam time.
pub fn date(unix: UnixSecs) -> String {
    crate::reports::period::format_local_date(unix)
}

/// `<option>`s for a select, marking `selected`.
pub fn options<'a>(items: impl IntoIterator<Item = (&'a str, &'a str)>, selected: &str) -> String {
    let mut out = String::new();
    for (value, label) in items {
        let sel = if value == selected { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{}\"{sel}>{}</option>", esc(value), esc(label));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">Tổ 'A' & B</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tổ &#39;A&#39; &amp; B&lt;/a&gt;"
        );
        assert_eq!(url("Thôn 1&x"), "Th%C3%B4n%201%26x");
    }
}
