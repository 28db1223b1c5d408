//! The OA API v3 client: a thin reqwest wrapper; answers are classified by the pure
//! `response` module. Base URLs come from settings so tests and sandbox mode point it
//! at the local fake.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::value::RawValue;

use super::response::{self, SendOutcome, TokenGrant};

/// Why the client could not be built (a setting, not a network failure).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("building the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("zalo.api_base gives {0:?}, which is not a URL: {1}")]
    Url(String, String),
}

#[derive(Clone)]
pub struct ZaloClient {
    http: reqwest::Client,
    /// `POST /v3.0/oa/message/cs`, parsed once: building it from a string for every
    /// send parsed the URL (IDNA included) each time.
    cs_url: reqwest::Url,
    oauth_base: String,
    app_id: String,
    app_secret: SecretString,
}

impl ZaloClient {
    pub fn new(
        api_base: &str,
        oauth_base: &str,
        app_id: &str,
        app_secret: SecretString,
        timeout: Duration,
    ) -> Result<ZaloClient, ClientError> {
        let cs_url = format!("{}/v3.0/oa/message/cs", api_base.trim_end_matches('/'));
        Ok(ZaloClient {
            // No redirects: the OA API answers where it is asked, and a redirect would
            // carry the `access_token` header (not one reqwest strips) to another host.
            http: reqwest::Client::builder()
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            cs_url: reqwest::Url::parse(&cs_url)
                .map_err(|e| ClientError::Url(cs_url, e.to_string()))?,
            oauth_base: oauth_base.trim_end_matches('/').to_owned(),
            app_id: app_id.to_owned(),
            app_secret,
        })
    }

    /// Sends one CS message. Network trouble is a transient outcome, never an error.
    pub async fn send_cs(
        &self,
        access_token: &str,
        user_id: &str,
        message: &RawValue,
    ) -> SendOutcome {
        // Borrowed, not `json!`: that would deep-copy the message into a new `Value`
        // for every send only to serialise and drop it.
        let body = CsBody { recipient: Recipient { user_id }, message };
        let result = self
            .http
            .post(self.cs_url.clone())
            .header("access_token", access_token)
            .json(&body)
            .send()
            .await;
        match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.text().await {
                    Ok(text) => response::classify_send(status, &text),
                    Err(e) => {
                        SendOutcome::Transient { code: 0, message: format!("reading answer: {e}") }
                    }
                }
            }
            Err(e) => SendOutcome::Transient { code: 0, message: format!("network: {e}") },
        }
    }

    /// Exchanges the single-use refresh token for a new pair.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenGrant, String> {
        let form = [
            ("refresh_token", refresh_token),
            ("app_id", self.app_id.as_str()),
            ("grant_type", "refresh_token"),
        ];
        let resp = self
            .http
            .post(format!("{}/v4/oa/access_token", self.oauth_base))
            .header("secret_key", self.app_secret.expose_secret())
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("network: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| format!("reading answer: {e}"))?;
        response::parse_token_grant(status, &text)
    }
}

/// `POST /v3.0/oa/message/cs` body: `{"recipient": {"user_id": …}, "message": …}`.
#[derive(Serialize)]
struct CsBody<'a> {
    recipient: Recipient<'a>,
    message: &'a RawValue,
}

#[derive(Serialize)]
struct Recipient<'a> {
    user_id: &'a str,
}
