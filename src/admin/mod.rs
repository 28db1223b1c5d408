//! The operator HTTP API under `/admin/api/`, behind a bearer token (`admin.token`,
//! compared in constant time). With no token configured every request is refused.

pub mod dialogs;
mod outbox;
pub mod reports;
mod tokens;
mod unmatched;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::error::ApiError;

/// All admin routes, with authentication applied.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(dialogs::router())
        .merge(outbox::router())
        .merge(tokens::router())
        .merge(reports::router())
        .merge(unmatched::router())
        .route_layer(axum::middleware::from_fn_with_state(state.admin_token.clone(), require_admin))
}

async fn require_admin(
    State(token): State<SecretString>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    check_bearer(&token, request.headers().get(axum::http::header::AUTHORIZATION))?;
    Ok(next.run(request).await)
}

fn check_bearer(
    token: &SecretString,
    header: Option<&axum::http::HeaderValue>,
) -> Result<(), ApiError> {
    let expected = token.expose_secret().as_bytes();
    if expected.is_empty() {
        return Err(ApiError::AdminDisabled);
    }
    let given = header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthorized("missing bearer token"))?;
    if bool::from(given.as_bytes().ct_eq(expected)) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("wrong admin token"))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn bearer_check_table() {
        let set = SecretString::from("s3cret");
        let unset = SecretString::from("");
        let h = |s: &'static str| Some(HeaderValue::from_static(s));
        let cases: Vec<(&SecretString, Option<HeaderValue>, bool)> = vec![
            (&set, h("Bearer s3cret"), true),
            (&set, h("Bearer s3cre"), false),
            (&set, h("Bearer s3cret2"), false),
            (&set, h("s3cret"), false),
            (&set, None, false),
            (&unset, h("Bearer "), false),
            (&unset, None, false),
        ];
        for (token, header, ok) in cases {
            assert_eq!(check_bearer(token, header.as_ref()).is_ok(), ok, "{header:?}");
        }
        assert!(matches!(check_bearer(&unset, None), Err(ApiError::AdminDisabled)));
    }
}
