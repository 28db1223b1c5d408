//! Signing in and out: the `admin.token` form (province-level administrator) and the
//! one-time links unit admins receive in chat with `/quantri`.

use crate::calendar::UnixSecs;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use secrecy::ExposeSecret;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{
    ConsoleConfig, Signed, check_csrf, cookie, fail, html, internal, random_token, render,
};
use crate::state::AppState;
use crate::store::console::ConsoleSession;

/// Failed sign-in attempts allowed per window, for the whole service.
const MAX_FAILURES: usize = 5;
const WINDOW_SECS: i64 = 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/dang-nhap", get(form).post(sign_in))
        .route("/admin/dang-xuat", post(sign_out))
        .route("/admin/vao/{token}", get(link_page))
        .route("/admin/vao", post(link_sign_in))
}

/// Counts recent failed attempts (token guesses and bad links) per client address;
/// refuses a client while its window is full. Behind a reverse proxy every client has
/// the proxy's address, so the limit then applies to all of them together.
#[derive(Default)]
pub struct Limiter {
    failures: Mutex<HashMap<Option<IpAddr>, VecDeque<UnixSecs>>>,
}

impl Limiter {
    /// Whether `client` may try again at `now`.
    pub fn allows(&self, client: Option<IpAddr>, now: UnixSecs) -> bool {
        let mut all = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Forget clients whose failures all left the window (bounded memory).
        all.retain(|_, times| times.back().is_some_and(|&t| now.saturating_since(t) < WINDOW_SECS));
        let Some(failures) = all.get_mut(&client) else { return true };
        while failures.front().is_some_and(|&t| now.saturating_since(t) >= WINDOW_SECS) {
            failures.pop_front();
        }
        failures.len() < MAX_FAILURES
    }

    pub fn failed(&self, client: Option<IpAddr>, now: UnixSecs) {
        let mut all = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        all.entry(client).or_default().push_back(now);
    }
}

/// The peer address of the request, when the server recorded it.
pub struct Client(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Client, Self::Rejection> {
        Ok(Client(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

fn sign_in_page(message: Option<(&str, &str)>) -> String {
    let notice = message.map(|(kind, text)| html::notice(kind, text)).unwrap_or_default();
    html::bare_page(
        "Đăng nhập trang quản trị",
        &format!(
            "{notice}<form method=\"post\" action=\"/admin/dang-nhap\" class=\"card narrow\">\
             <label for=\"token\">Mã quản trị</label>\
             <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
             <p class=\"hint\">Mã quản trị tỉnh do người vận hành máy chủ cung cấp (cài đặt <code>admin.token</code>). \
             Cán bộ xã, phường: nhắn <strong>/quantri</strong> cho Zalo OA để nhận đường dẫn đăng nhập dùng một lần.</p>\
             <button type=\"submit\">Đăng nhập</button></form>"
        ),
    )
}

async fn form() -> Response {
    render(sign_in_page(None))
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    token: String,
}

async fn sign_in(
    State(state): State<AppState>,
    Extension(config): Extension<Arc<ConsoleConfig>>,
    Client(client): Client,
    Form(form): Form<SignInForm>,
) -> Response {
    let now = state.clock.now_secs();
    if !config.limiter.allows(client, now) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            render(sign_in_page(Some((
                "error",
                "Đã nhập sai quá nhiều lần. Vui lòng đợi một phút rồi thử lại.",
            )))),
        )
            .into_response();
    }
    let expected = state.admin_token.expose_secret().as_bytes();
    let given = form.token.trim().as_bytes();
    if expected.is_empty() || !bool::from(given.ct_eq(expected)) {
        config.limiter.failed(client, now);
        tracing::warn!("console sign-in refused: wrong admin token");
        let message = if expected.is_empty() {
            "Trang quản trị đang tắt: máy chủ chưa đặt mã quản trị (admin.token)."
        } else {
            "Mã quản trị không đúng."
        };
        return (StatusCode::UNAUTHORIZED, render(sign_in_page(Some(("error", message)))))
            .into_response();
    }
    start_session(&state, &config, None, "Quản trị tỉnh".to_owned()).await
}

async fn start_session(
    state: &AppState,
    config: &ConsoleConfig,
    unit: Option<String>,
    who: String,
) -> Response {
    let now = state.clock.now_secs();
    let session = ConsoleSession {
        id: random_token(),
        csrf: random_token(),
        unit,
        who,
        created_at: now,
        last_seen: now,
    };
    let store = state.store.clone();
    let saved = session.clone();
    let result = tokio::task::spawn_blocking(move || {
        // Old sessions go when someone signs in: no separate sweeper needed.
        let _ = store.prune_console_sessions(now, super::SESSION_IDLE_SECS);
        store.put_console_session(&saved)?;
        store.flush_blocking()
    })
    .await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    }
    tracing::info!(unit = session.unit.as_deref().unwrap_or("*"), "console sign-in");
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie(Some(&session.id), config.secure)),
            (header::LOCATION, "/admin/tong-quan".to_owned()),
        ],
    )
        .into_response()
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

async fn sign_out(
    State(state): State<AppState>,
    Extension(config): Extension<Arc<ConsoleConfig>>,
    Signed(session): Signed,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = check_csrf(&session, form.csrf.as_deref()) {
        return refused;
    }
    if let Err(e) = state.store.remove_console_session(&session.id) {
        return internal(e);
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie(None, config.secure)),
            (header::LOCATION, "/admin/dang-nhap".to_owned()),
        ],
    )
        .into_response()
}

/// The link from chat opens a page with one button: a link preview fetching the URL
/// must not use up the single-use token.
async fn link_page(Path(token): Path<String>) -> Response {
    if !valid_token_shape(&token) {
        return fail(StatusCode::NOT_FOUND, "Đường dẫn đăng nhập không đúng.");
    }
    render(html::bare_page(
        "Vào trang quản trị",
        &format!(
            "<form method=\"post\" action=\"/admin/vao\" class=\"card narrow\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <p>Đường dẫn này chỉ dùng được một lần và hết hạn sau 10 phút.</p>\
             <button type=\"submit\">Vào trang quản trị</button></form>",
            html::esc(&token)
        ),
    ))
}

fn valid_token_shape(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn link_sign_in(
    State(state): State<AppState>,
    Extension(config): Extension<Arc<ConsoleConfig>>,
    Client(client): Client,
    Form(form): Form<SignInForm>,
) -> Response {
    let now = state.clock.now_secs();
    if !config.limiter.allows(client, now) {
        return fail(StatusCode::TOO_MANY_REQUESTS, "Thử quá nhiều lần. Vui lòng đợi một phút.");
    }
    let token = form.token.trim().to_owned();
    if !valid_token_shape(&token) {
        config.limiter.failed(client, now);
        return fail(StatusCode::NOT_FOUND, "Đường dẫn đăng nhập không đúng.");
    }
    let store = state.store.clone();
    let link = match tokio::task::spawn_blocking(move || store.take_sign_in_link(&token, now)).await
    {
        Ok(Ok(link)) => link,
        Ok(Err(e)) => return internal(e),
        Err(e) => return internal(e),
    };
    let Some(link) = link else {
        config.limiter.failed(client, now);
        return fail(
            StatusCode::GONE,
            "Đường dẫn đã được dùng hoặc đã hết hạn. Nhắn /quantri cho Zalo OA để nhận đường dẫn mới.",
        );
    };
    start_session(&state, &config, Some(link.unit), link.who).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_refuses_a_client_after_five_failures_for_a_minute() {
        let limiter = Limiter::default();
        let (a, b) = (Some(IpAddr::from([10, 0, 0, 1])), Some(IpAddr::from([10, 0, 0, 2])));
        for t in 0..5 {
            assert!(limiter.allows(a, UnixSecs(t)));
            limiter.failed(a, UnixSecs(t));
        }
        assert!(!limiter.allows(a, UnixSecs(10)));
        assert!(limiter.allows(b, UnixSecs(10)), "another client is not blocked");
        assert!(!limiter.allows(a, UnixSecs(59)));
        assert!(limiter.allows(a, UnixSecs(61)), "the first failures left the window");
    }
}
