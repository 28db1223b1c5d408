//! The operators' web console under `/admin` (Vietnamese, server-rendered, no script).
//!
//! Owns: sign-in (the `admin.token` form for the province-level administrator, one-time
//! links for unit admins from `/quantri` in chat), sessions (kept in the store's
//! `console` tree with an idle expiry on the injected clock), CSRF tokens on every
//! state-changing form, sign-in rate limiting, the strict Content-Security-Policy, and
//! one file per page:
//!
//! | file          | page                                                            |
//! |---------------|-----------------------------------------------------------------|
//! | `signin.rs`   | `/admin/dang-nhap`, `/admin/dang-xuat`, `/admin/vao/{token}`    |
//! | `overview.rs` | `/admin/tong-quan`: completeness, who to call, 6-period charts  |
//! | `reports.rs`  | `/admin/bao-cao`: filters, versions, CSV/XLSX downloads         |
//! | `teams.rs`    | `/admin/to`: units/teams CSV upload with preview, teams, members, invites with QR |
//! | `dialogs.rs`  | `/admin/kich-ban`: status, reload/rollback, file editor, test chat |
//! | `outbox.rs`   | `/admin/tin-loi`: failed sends, retry, Zalo token status        |
//! | `requests.rs` | `/admin/yeu-cau`: citizens' hand-off requests, by status/unit/month |
//! | `contributions.rs` | `/admin/dong-gop`: contribution per member, team, unit; CSV/XLSX |
//! | `unmatched.rs` | `/admin/cau-chua-hieu`: messages the bot did not understand (province) |
//!
//! Data comes from the same places as the JSON API in `src/admin/`: `Reporting`
//! queries, the hand-off queries (`handoff_runtime::query`), the dialog `Registry`, the
//! store.

mod contributions;
mod dialogs;
pub mod html;
mod outbox;
mod overview;
mod reports;
mod requests;
pub mod signin;
mod teams;
mod unmatched;

use crate::calendar::UnixSecs;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use subtle::ConstantTimeEq;

use crate::reports::aggregate::Hierarchy;
use crate::reports::model::Unit;
use crate::reports::period::{PeriodKind, parse_period_token};
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::console::ConsoleSession;

pub use dialogs::TEST_USER_PREFIX;

/// Sessions end after this long without a request.
pub const SESSION_IDLE_SECS: i64 = 8 * 3600;
pub use crate::store::console::LINK_VALID_SECS;
/// Session cookie name.
const COOKIE: &str = "cnscd_phien";

/// The strict policy on every console response: nothing but our own stylesheet and
/// inline SVG/`data:` images; no script at all.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Console settings shared by its handlers (an `Extension`).
pub struct ConsoleConfig {
    /// Cookies get `Secure` when the public URL is https.
    pub secure: bool,
    pub limiter: signin::Limiter,
    /// Review interval for facts without their own (`dialogs.review_days`), for "Kiểm tra".
    pub review_days: u32,
}

/// All console routes; merged into the app router.
pub fn router(settings: &Settings) -> Router<AppState> {
    let config = Arc::new(ConsoleConfig {
        secure: settings.server.public_url.starts_with("https://"),
        limiter: signin::Limiter::default(),
        review_days: settings.dialogs.review_days,
    });
    Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/tong-quan") }))
        .route("/admin/", get(|| async { Redirect::to("/admin/tong-quan") }))
        .route("/admin/static/console.css", get(stylesheet))
        .merge(signin::router())
        .merge(overview::router())
        .merge(reports::router())
        .merge(teams::router())
        .merge(dialogs::router())
        .merge(outbox::router())
        .merge(requests::router())
        .merge(contributions::router())
        .merge(unmatched::router())
        .layer(Extension(config))
        .layer(axum::middleware::from_fn(security_headers))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("console.css"),
    )
        .into_response()
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A signed-in console user; extracting it from a request without a valid session
/// answers 303 to the sign-in page.
pub struct Signed(pub ConsoleSession);

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Signed, Response> {
        let Some(id) = session_cookie(parts.headers.get_all(header::COOKIE).iter()) else {
            return Err(to_sign_in());
        };
        let store = state.store.clone();
        let now = state.clock.now_secs();
        let found =
            tokio::task::spawn_blocking(move || store.console_session(&id, now, SESSION_IDLE_SECS))
                .await;
        match found {
            Ok(Ok(Some(session))) => Ok(Signed(session)),
            Ok(Ok(None)) => Err(to_sign_in()),
            Ok(Err(e)) => Err(internal(e)),
            Err(e) => Err(internal(e)),
        }
    }
}

/// A province-level administrator (dialogs, Zalo tokens): a unit admin gets 403.
pub struct Province(pub ConsoleSession);

impl FromRequestParts<AppState> for Province {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Province, Response> {
        let Signed(session) = Signed::from_request_parts(parts, state).await?;
        if session.unit.is_some() {
            return Err(fail(StatusCode::FORBIDDEN, "Chỉ quản trị cấp tỉnh được dùng trang này."));
        }
        Ok(Province(session))
    }
}

fn session_cookie<'a>(headers: impl Iterator<Item = &'a HeaderValue>) -> Option<String> {
    headers
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `Set-Cookie` value for a new session (or, with `None`, one that clears it).
fn cookie(id: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match id {
        Some(id) => format!("{COOKIE}={id}; Path=/admin; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

fn to_sign_in() -> Response {
    Redirect::to("/admin/dang-nhap").into_response()
}

/// The refusal (403) of a form whose CSRF token is missing or wrong; `None` when it is
/// right.
pub fn check_csrf(session: &ConsoleSession, given: Option<&str>) -> Option<Response> {
    let ok = given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(session.csrf.as_bytes())));
    (!ok).then(|| {
        fail(
            StatusCode::FORBIDDEN,
            "Biểu mẫu không hợp lệ hoặc đã hết hạn (thiếu mã chống giả mạo). Vui lòng tải lại trang và thử lại.",
        )
    })
}

/// 256 random bits, hex: session ids, CSRF tokens, sign-in links.
pub use crate::csprng::hex_token as random_token;

/// A plain error page with `status`.
pub fn fail(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "{}<p><a href=\"/admin/tong-quan\">Về trang tổng quan</a></p>",
        html::notice("error", message)
    );
    (status, Html(html::bare_page("Không thực hiện được", &body))).into_response()
}

/// Logs an unexpected failure and answers 500 without details.
pub fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(error = %error, "console request failed");
    fail(StatusCode::INTERNAL_SERVER_ERROR, "Có lỗi bên trong máy chủ. Vui lòng thử lại sau.")
}

/// Runs store-heavy work off the async workers; errors become a 500 page.
pub async fn blocking<T: Send + 'static, E: std::fmt::Display + Send + 'static>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(internal(e)),
        Err(e) => Err(internal(e)),
    }
}

/// The unit a filter asks for, kept within the session's unit: a unit admin who asks for
/// nothing gets their own unit, one who asks for a unit outside it gets the message.
pub fn scoped_unit(
    hierarchy: &Hierarchy<'_>,
    session: &ConsoleSession,
    wanted: Option<&str>,
) -> Result<Option<String>, String> {
    let wanted = wanted.map(str::trim).filter(|u| !u.is_empty());
    if let Some(w) = wanted
        && hierarchy.get(w).is_none()
    {
        return Err(format!("Không có đơn vị mã \"{w}\"."));
    }
    match (&session.unit, wanted) {
        (None, wanted) => Ok(wanted.map(str::to_owned)),
        (Some(own), None) => Ok(Some(own.clone())),
        (Some(own), Some(w)) if hierarchy.is_within(w, own) => Ok(Some(w.to_owned())),
        (Some(_), Some(_)) => {
            Err("Bạn chỉ xem được đơn vị của mình và các đơn vị trực thuộc.".to_owned())
        }
    }
}

/// `<option>`s of the units a session may filter by ("Tất cả" first).
pub fn unit_options(
    units: &[Unit],
    hierarchy: &Hierarchy<'_>,
    session: &ConsoleSession,
    selected: &str,
) -> String {
    let mut visible: Vec<(Vec<&str>, &Unit)> = units
        .iter()
        .filter(|u| session.unit.as_deref().is_none_or(|s| hierarchy.is_within(&u.code, s)))
        .map(|u| (hierarchy.path(&u.code).iter().map(|p| p.code.as_str()).collect(), u))
        .collect();
    visible.sort_by(|a, b| a.0.cmp(&b.0));
    // Indented under their parents (no-break spaces survive in <option>).
    let labels: Vec<(&str, String)> = visible
        .iter()
        .map(|(path, u)| {
            let indent = "\u{a0}\u{a0}".repeat(path.len().saturating_sub(1));
            (u.code.as_str(), format!("{indent}{}", u.display_name()))
        })
        .collect();
    html::options(
        std::iter::once(("", "Tất cả")).chain(labels.iter().map(|(c, l)| (*c, l.as_str()))),
        selected,
    )
}

/// A month typed in a filter (`T11`, `11/2026`, `2026-11`) as its key `2026-11`; `None`
/// when empty.
pub fn chosen_month(text: Option<&str>, now: UnixSecs) -> Result<Option<String>, String> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    match parse_period_token(text, PeriodKind::Month, now) {
        Some(Ok(period)) => Ok(Some(period.key())),
        _ => Err(format!("Tháng \"{text}\" không đúng. Nhập như T11, 11/2026 hoặc 2026-11.")),
    }
}

/// A rendered page as a response.
pub fn render(html: String) -> Response {
    Html(html).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_is_found_among_others() {
        let h = |s: &'static str| HeaderValue::from_static(s);
        let cases = [
            (vec![h("a=1; cnscd_phien=abc123; b=2")], Some("abc123")),
            (vec![h("a=1"), h("cnscd_phien=ff")], Some("ff")),
            (vec![h("cnscd_phien=not-hex")], None),
            (vec![h("cnscd_phien=")], None),
            (vec![], None),
        ];
        for (headers, want) in cases {
            assert_eq!(session_cookie(headers.iter()).as_deref(), want, "{headers:?}");
        }
    }

    #[test]
    fn cookies_are_strict_and_secure_on_https() {
        assert_eq!(
            cookie(Some("ab"), false),
            "cnscd_phien=ab; Path=/admin; HttpOnly; SameSite=Strict"
        );
        assert!(cookie(Some("ab"), true).ends_with("; Secure"));
        assert!(cookie(None, false).contains("Max-Age=0"));
    }

    fn session(unit: Option<&str>) -> ConsoleSession {
        ConsoleSession {
            id: "x".into(),
            csrf: "c".into(),
            unit: unit.map(str::to_owned),
            who: "w".into(),
            created_at: UnixSecs(0),
            last_seen: UnixSecs(0),
        }
    }

    #[test]
    fn filters_stay_within_the_sessions_unit() {
        // P → C1 → V1, V2; P → C2 → V3.
        let units = crate::reports::aggregate::tests::sample_units();
        let hierarchy = Hierarchy::new(&units);
        let (province, admin) = (session(None), session(Some("C1")));
        type Case<'a> = (&'a ConsoleSession, Option<&'a str>, Result<Option<&'a str>, &'a str>);
        let cases: &[Case<'_>] = &[
            (&province, None, Ok(None)),
            (&province, Some(" "), Ok(None)),
            (&province, Some("V3"), Ok(Some("V3"))),
            (&province, Some("X9"), Err("Không có đơn vị mã \"X9\".")),
            (&admin, None, Ok(Some("C1"))),
            (&admin, Some("V2"), Ok(Some("V2"))),
            (&admin, Some("V3"), Err("Bạn chỉ xem được đơn vị của mình và các đơn vị trực thuộc.")),
            (&admin, Some("P"), Err("Bạn chỉ xem được đơn vị của mình và các đơn vị trực thuộc.")),
        ];
        for (who, wanted, want) in cases {
            let got = scoped_unit(&hierarchy, who, *wanted);
            let want = want.map(|u| u.map(str::to_owned)).map_err(str::to_owned);
            assert_eq!(got, want, "{:?} asks for {wanted:?}", who.unit);
        }
        let options = unit_options(&units, &hierarchy, &admin, "V2");
        assert!(!options.contains("value=\"P\"") && !options.contains("value=\"V3\""));
        assert!(options.contains("value=\"V2\" selected"), "{options}");
        assert!(options.contains("\u{a0}\u{a0}"), "children are indented: {options}");
    }

    #[test]
    fn months_are_read_like_the_chat_reads_them() {
        let now = crate::clock::vn_to_unix_ms(2026, 11, 25, 10, 0).to_secs();
        for text in ["T11", "11/2026", "2026-11", " t11/2026 "] {
            assert_eq!(chosen_month(Some(text), now), Ok(Some("2026-11".to_owned())), "{text}");
        }
        assert_eq!(chosen_month(Some("T12"), now), Ok(Some("2025-12".to_owned())), "latest past");
        assert_eq!(chosen_month(None, now), Ok(None));
        assert_eq!(chosen_month(Some(""), now), Ok(None));
        for bad in ["T13", "W45", "abc"] {
            assert!(chosen_month(Some(bad), now).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_are_random_hex() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
