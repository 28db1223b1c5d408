//! Replacing the stored Zalo token pair after an admin re-authorised the OA.

use axum::extract::{FromRef, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::error::ApiError;
use crate::state::SenderWake;
use crate::store::{Store, TokenPair};
use crate::zalo::token::Tokens;

/// The token routes, for any state that gives the token pair handle, the store, the clock
/// and the sender's wake-up through `FromRef`.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Tokens: FromRef<S>,
    Store: FromRef<S>,
    Clock: FromRef<S>,
    SenderWake: FromRef<S>,
{
    Router::new()
        .route("/admin/api/zalo/tokens", put(replace))
        .route("/admin/api/zalo/tokens", get(status))
}

/// Body of `PUT /admin/api/zalo/tokens`.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewTokens {
    access_token: String,
    refresh_token: String,
    /// Seconds; Zalo gives 90000 (25 h).
    expires_in: Option<i64>,
}

async fn replace(
    State(tokens): State<Tokens>,
    State(clock): State<Clock>,
    State(wake): State<SenderWake>,
    Json(body): Json<NewTokens>,
) -> Result<Json<Value>, ApiError> {
    if body.access_token.trim().is_empty() || body.refresh_token.trim().is_empty() {
        return Err(ApiError::BadRequest("access_token and refresh_token are required".into()));
    }
    let now = clock.now_secs();
    let pair = TokenPair {
        access_token: body.access_token.trim().to_owned(),
        refresh_token: body.refresh_token.trim().to_owned(),
        expires_at: body.expires_in.map(|s| now.plus_secs(s)),
        issued_at: now,
    };
    tokens.replace(&pair).await?;
    tracing::info!("zalo token pair replaced by an admin");
    wake.notify();
    Ok(Json(json!({"stored": true, "expires_at": pair.expires_at})))
}

/// Whether a pair is stored and when it expires; never the tokens themselves.
async fn status(State(store): State<Store>) -> Result<Json<Value>, ApiError> {
    let pair = store.tokens()?;
    Ok(Json(json!({
        "stored": pair.is_some(),
        "expires_at": pair.as_ref().and_then(|p| p.expires_at),
        "issued_at": pair.as_ref().map(|p| p.issued_at),
    })))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use serde_json::json;

    use super::super::testing::{call, state};

    #[tokio::test]
    async fn a_replaced_pair_is_stored_and_reported_without_the_tokens() {
        let state = state();
        let app = super::router().with_state(state.clone());
        let get = || Request::get("/admin/api/zalo/tokens").body(Body::empty()).unwrap();
        let put = |body: serde_json::Value| {
            Request::put("/admin/api/zalo/tokens")
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap()
        };

        let (status, body) = call(app.clone(), get()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({"stored": false, "expires_at": null, "issued_at": null}));

        let (status, _) =
            call(app.clone(), put(json!({"access_token": " ", "refresh_token": "r"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let now = state.clock.now_secs().get();
        let new = json!({"access_token": "a-new", "refresh_token": "r-new", "expires_in": 90_000});
        let (status, body) = call(app.clone(), put(new)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["stored"], json!(true));
        let expires_at = body["expires_at"].as_i64().expect("seconds, a bare number");
        assert!((now + 90_000..now + 90_005).contains(&expires_at), "{body}");

        let (status, body) = call(app, get()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["stored"], json!(true));
        assert_eq!(body["expires_at"], json!(expires_at));
        assert!(!body.to_string().contains("a-new") && !body.to_string().contains("r-new"));
        let stored = state.store.tokens().unwrap().expect("stored");
        assert_eq!(
            (stored.access_token.as_str(), stored.refresh_token.as_str()),
            ("a-new", "r-new")
        );
    }
}
