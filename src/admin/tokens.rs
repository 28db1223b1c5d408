//! Replacing the stored Zalo token pair after an admin re-authorised the OA.

use axum::extract::State;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::TokenPair;

pub fn router() -> Router<AppState> {
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
    State(state): State<AppState>,
    Json(body): Json<NewTokens>,
) -> Result<Json<Value>, ApiError> {
    if body.access_token.trim().is_empty() || body.refresh_token.trim().is_empty() {
        return Err(ApiError::BadRequest("access_token and refresh_token are required".into()));
    }
    let now = state.clock.now_secs();
    let pair = TokenPair {
        access_token: body.access_token.trim().to_owned(),
        refresh_token: body.refresh_token.trim().to_owned(),
        expires_at: body.expires_in.map(|s| now.plus_secs(s)),
        issued_at: now,
    };
    state.tokens.replace(&pair).await?;
    tracing::info!("zalo token pair replaced by an admin");
    state.sender_wake.notify_one();
    Ok(Json(json!({"stored": true, "expires_at": pair.expires_at})))
}

/// Whether a pair is stored and when it expires; never the tokens themselves.
async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let pair = state.store.tokens()?;
    Ok(Json(json!({
        "stored": pair.is_some(),
        "expires_at": pair.as_ref().and_then(|p| p.expires_at),
        "issued_at": pair.as_ref().map(|p| p.issued_at),
    })))
}
