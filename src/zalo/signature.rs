//! Webhook signature check (pure).
//!
//! `X-ZEvent-Signature: mac=<hex>` where `hex = sha256(app_id ‖ raw_body ‖ timestamp ‖ oa_secret)`
//! — plain SHA-256, not HMAC; `app_id` and `timestamp` come from the JSON body and the
//! body is hashed exactly as received. See docs/zalo.md §2.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-ZEvent-Signature header")]
    Missing,
    #[error("signature header is not 64 hex digits")]
    Malformed,
    #[error("signature does not match")]
    Mismatch,
}

/// The lowercase hex signature Zalo would send for this body.
pub fn sign(app_id: &str, raw_body: &[u8], timestamp: &str, oa_secret: &str) -> String {
    hex::encode(digest(app_id, raw_body, timestamp, oa_secret))
}

/// Checks a header value (`mac=<hex>` or bare hex, any case) in constant time.
pub fn verify(
    header: Option<&str>,
    app_id: &str,
    raw_body: &[u8],
    timestamp: &str,
    oa_secret: &str,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_part = header.strip_prefix("mac=").unwrap_or(header).trim();
    let mut given = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut given).map_err(|_| SignatureError::Malformed)?;
    let expected = digest(app_id, raw_body, timestamp, oa_secret);
    if bool::from(given.ct_eq(&expected)) { Ok(()) } else { Err(SignatureError::Mismatch) }
}

fn digest(app_id: &str, raw_body: &[u8], timestamp: &str, oa_secret: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(app_id.as_bytes());
    hasher.update(raw_body);
    hasher.update(timestamp.as_bytes());
    hasher.update(oa_secret.as_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector from docs/zalo.md §2 (checked there with Python,
    // sha256sum and Zalo's own Java MacUtils).
    const APP_ID: &str = "360846524940903967";
    const TIMESTAMP: &str = "1735693200123";
    const SECRET: &str = "test-oa-secret-key";
    const BODY: &str = r#"{"app_id":"360846524940903967","sender":{"id":"246845883529197922"},"recipient":{"id":"388613280878808645"},"event_name":"user_send_text","message":{"text":"Xin chào","msg_id":"96d3cdf3af150460909"},"timestamp":"1735693200123"}"#;
    const EXPECTED: &str = "91d3d8a2960bc41e2ca055e6913dc6e9b00316a525edda61d09d9462370b29a9";

    #[test]
    fn matches_the_documented_test_vector() {
        assert_eq!(sign(APP_ID, BODY.as_bytes(), TIMESTAMP, SECRET), EXPECTED);
    }

    #[test]
    fn verify_table() {
        let upper = format!("mac={}", EXPECTED.to_uppercase());
        let wrong = format!("mac={}", "0".repeat(64));
        let hmac = "mac=5cb6c2810000000000000000000000000000000000000000000000000000000";
        let cases: &[(Option<&str>, &str, Result<(), SignatureError>)] = &[
            (Some(&*format!("mac={EXPECTED}")), BODY, Ok(())),
            (Some(EXPECTED), BODY, Ok(())),
            (Some(&*upper), BODY, Ok(())),
            (Some(&*format!(" mac={EXPECTED} ")), BODY, Ok(())),
            (None, BODY, Err(SignatureError::Missing)),
            (Some(""), BODY, Err(SignatureError::Malformed)),
            (Some("mac=xyz"), BODY, Err(SignatureError::Malformed)),
            (Some(hmac), BODY, Err(SignatureError::Malformed)),
            (Some(&*wrong), BODY, Err(SignatureError::Mismatch)),
            // One byte changed in the body (re-serialised JSON would do this).
            (
                Some(&*format!("mac={EXPECTED}")),
                &BODY.replace("chào", "chao"),
                Err(SignatureError::Mismatch),
            ),
        ];
        for (header, body, want) in cases {
            assert_eq!(
                verify(*header, APP_ID, body.as_bytes(), TIMESTAMP, SECRET),
                *want,
                "header {header:?}"
            );
        }
    }

    #[test]
    fn wrong_secret_or_timestamp_fails() {
        let header = format!("mac={EXPECTED}");
        assert!(verify(Some(&header), APP_ID, BODY.as_bytes(), TIMESTAMP, "other").is_err());
        assert!(verify(Some(&header), APP_ID, BODY.as_bytes(), "1735693200124", SECRET).is_err());
        assert!(verify(Some(&header), "1", BODY.as_bytes(), TIMESTAMP, SECRET).is_err());
    }
}
