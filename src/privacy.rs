//! Log-safe forms of personal data. Zalo user ids identify a person, so logs carry a
//! keyed hash (HMAC-SHA256 with a per-process key) that correlates lines of one run
//! without revealing the id. Names and phone numbers are never logged at all.

use std::sync::OnceLock;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

static KEY: OnceLock<[u8; 32]> = OnceLock::new();

fn key() -> &'static [u8; 32] {
    KEY.get_or_init(|| {
        let mut key = [0u8; 32];
        crate::csprng::fill(&mut key);
        key
    })
}

/// A short pseudonym for a user id, stable within one process run.
pub fn mask_id(id: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key()) else { return "u:?".into() };
    mac.update(id.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("u:{}", hex::encode(&tag[..6]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_hide_the_value_but_stay_stable() {
        let id = "246845883529197922";
        assert_eq!(mask_id(id), mask_id(id));
        assert!(!mask_id(id).contains("2468"));
        assert_ne!(mask_id(id), mask_id("246845883529197923"));
    }
}
