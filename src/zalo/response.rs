//! Classifies Zalo API answers (pure). Zalo reports most failures as HTTP 200 with a
//! negative `error`, so the body is parsed whatever the status.
//! Codes: docs/zalo.md §7.

use serde_json::Value;

/// The outcome of one send, as the sender needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// `error: 0`; Zalo's message id when present.
    Sent { message_id: Option<String> },
    /// The access token is invalid or expired: refresh once and retry once.
    TokenRejected { code: i64, message: String },
    /// Worth retrying later: network trouble, 5xx, rate limit, "send failed".
    Transient { code: i64, message: String },
    /// Retrying cannot help (recipient, window, parameters, OA configuration).
    Permanent { code: i64, message: String },
    /// `-234`: Zalo does not deliver this message between 22:00 and 06:00 Vietnam time.
    /// Not a failure, just too early.
    Night { message: String },
}

/// Zalo OA API error codes the service acts on (docs/zalo.md §7).
pub mod code {
    /// "Your application reached limit call api": back off and retry.
    pub const RATE_LIMITED: i64 = -32;
    /// "Send message failed": generic, retried.
    pub const SEND_FAILED: i64 = -200;
    /// The user id is not valid for this OA.
    pub const INVALID_USER: i64 = -201;
    /// "User has not followed OA".
    pub const NOT_FOLLOWER: i64 = -213;
    /// "Access token is invalid".
    pub const TOKEN_INVALID: i64 = -216;
    /// "User has blocked invitation from OA".
    pub const USER_BLOCKED: i64 = -217;
    /// "access_token is expired or removed".
    pub const TOKEN_EXPIRED: i64 = -220;
    /// "User is banned or has been inactive for more than 45 days".
    pub const USER_UNAVAILABLE: i64 = -227;
    /// "User has not interacted with the OA in the past 7 days" (the CS window).
    pub const OUTSIDE_WINDOW: i64 = -230;
    /// "This message cannot be sent at night (10:00PM - 6:00AM)".
    pub const NIGHT: i64 = -234;
    /// "User has restricted this message type from your OA".
    pub const USER_GONE: i64 = -244;
    /// Business OpenAPI: token rejected.
    pub const BUSINESS_TOKEN: i64 = -124;
}

/// Token-related codes on OpenAPI and business OpenAPI.
const TOKEN_CODES: &[i64] = &[code::TOKEN_INVALID, code::TOKEN_EXPIRED, code::BUSINESS_TOKEN];
/// "This message cannot be sent at night (10:00PM - 6:00AM)".
pub const NIGHT_CODE: i64 = code::NIGHT;
/// Rate limit and generic send failure.
const TRANSIENT_CODES: &[i64] = &[code::RATE_LIMITED, code::SEND_FAILED];

/// Classifies an HTTP status and body from `POST /v3.0/oa/message/cs`.
pub fn classify_send(status: u16, body: &str) -> SendOutcome {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let code = parsed.as_ref().and_then(|v| v.get("error")).and_then(as_i64);
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    match code {
        Some(0) if status == 200 => SendOutcome::Sent {
            message_id: parsed
                .as_ref()
                .and_then(|v| v.pointer("/data/message_id"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        Some(code) if TOKEN_CODES.contains(&code) => SendOutcome::TokenRejected { code, message },
        _ if status == 401 => {
            SendOutcome::TokenRejected { code: 401, message: http_message(status, &message) }
        }
        Some(code) if TRANSIENT_CODES.contains(&code) => SendOutcome::Transient { code, message },
        Some(NIGHT_CODE) => SendOutcome::Night { message },
        _ if status == 429 || status >= 500 => SendOutcome::Transient {
            code: i64::from(status),
            message: http_message(status, &message),
        },
        Some(code) if code != 0 => SendOutcome::Permanent { code, message },
        // 200 with an unreadable body, or another 4xx: not something a retry fixes.
        _ => SendOutcome::Permanent {
            code: i64::from(status),
            message: http_message(status, &truncate(body, 200)),
        },
    }
}

/// Whether a permanent code means the user cannot be reached at all any more.
pub fn is_unreachable_user(code: i64) -> bool {
    matches!(
        code,
        code::NOT_FOLLOWER | code::USER_BLOCKED | code::USER_UNAVAILABLE | code::USER_GONE
    )
}

/// A token pair from `POST /v4/oa/access_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in_secs: i64,
}

/// Parses a refresh answer; `Err` carries Zalo's error text for the logs and admin.
pub fn parse_token_grant(status: u16, body: &str) -> Result<TokenGrant, String> {
    let value: Value = serde_json::from_str(body)
        .map_err(|_| format!("HTTP {status}: unreadable body {:?}", truncate(body, 200)))?;
    let access = value.get("access_token").and_then(Value::as_str).filter(|s| !s.is_empty());
    let refresh = value.get("refresh_token").and_then(Value::as_str).filter(|s| !s.is_empty());
    match (access, refresh) {
        (Some(access), Some(refresh)) => Ok(TokenGrant {
            access_token: access.to_owned(),
            refresh_token: refresh.to_owned(),
            // Zalo documents the string "90000"; some answers carry a number.
            expires_in_secs: value.get("expires_in").and_then(as_i64).unwrap_or(90_000),
        }),
        _ => {
            let code = value.get("error").and_then(as_i64).unwrap_or(0);
            let text = ["error_description", "error_name", "message"]
                .iter()
                .find_map(|k| value.get(*k).and_then(Value::as_str))
                .unwrap_or("no token in answer");
            Err(format!("HTTP {status}, error {code}: {text}"))
        }
    }
}

fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn http_message(status: u16, message: &str) -> String {
    if message.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {message}") }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_table() {
        use SendOutcome::*;
        let ok = r#"{"data":{"message_id":"63ecf43f","user_id":"1","sent_time":"1"},"error":0,"message":"Success"}"#;
        let cases: &[(u16, &str, SendOutcome)] = &[
            (200, ok, Sent { message_id: Some("63ecf43f".into()) }),
            (200, r#"{"error":0,"message":"Success"}"#, Sent { message_id: None }),
            (
                200,
                r#"{"error":-216,"message":"Access token is invalid"}"#,
                TokenRejected { code: -216, message: "Access token is invalid".into() },
            ),
            (
                200,
                r#"{"error":-220,"message":"access_token is expired or removed"}"#,
                TokenRejected { code: -220, message: "access_token is expired or removed".into() },
            ),
            (
                200,
                r#"{"error":-124,"message":"x"}"#,
                TokenRejected { code: -124, message: "x".into() },
            ),
            (401, "", TokenRejected { code: 401, message: "HTTP 401".into() }),
            (
                200,
                r#"{"error":-32,"message":"Your application reached limit call api"}"#,
                Transient { code: -32, message: "Your application reached limit call api".into() },
            ),
            (
                200,
                r#"{"error":"-200","message":"Send message failed"}"#,
                Transient { code: -200, message: "Send message failed".into() },
            ),
            (502, "<html>bad gateway</html>", Transient { code: 502, message: "HTTP 502".into() }),
            (429, "", Transient { code: 429, message: "HTTP 429".into() }),
            (
                200,
                r#"{"error":-213,"message":"User has not followed OA"}"#,
                Permanent { code: -213, message: "User has not followed OA".into() },
            ),
            (
                200,
                r#"{"error":-230,"message":"User has not interacted with the OA in the past 7 days"}"#,
                Permanent {
                    code: -230,
                    message: "User has not interacted with the OA in the past 7 days".into(),
                },
            ),
            (200, r#"{"error":-232,"message":"w"}"#, Permanent { code: -232, message: "w".into() }),
            (
                200,
                r#"{"error":-201,"message":"user_id is invalid!"}"#,
                Permanent { code: -201, message: "user_id is invalid!".into() },
            ),
            (200, "not json", Permanent { code: 200, message: "HTTP 200: not json".into() }),
            (400, "{}", Permanent { code: 400, message: "HTTP 400: {}".into() }),
        ];
        for (status, body, want) in cases {
            assert_eq!(&classify_send(*status, body), want, "{status} {body}");
        }
    }

    #[test]
    fn token_grant_accepts_string_or_number_expiry() {
        let g = parse_token_grant(
            200,
            r#"{"access_token":"a","refresh_token":"r","expires_in":"90000"}"#,
        )
        .unwrap();
        assert_eq!(
            g,
            TokenGrant {
                access_token: "a".into(),
                refresh_token: "r".into(),
                expires_in_secs: 90000
            }
        );
        let g =
            parse_token_grant(200, r#"{"access_token":"a","refresh_token":"r","expires_in":3600}"#)
                .unwrap();
        assert_eq!(g.expires_in_secs, 3600);
        let e = parse_token_grant(
            200,
            r#"{"error":-14020,"error_description":"refresh token reused"}"#,
        )
        .unwrap_err();
        assert!(e.contains("-14020") && e.contains("reused"), "{e}");
        assert!(parse_token_grant(502, "oops").is_err());
    }
}
