//! Any bytes as a webhook body: JSON parsing, the signed fields and event parsing never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = cnscd_bot::zalo::event::signing_fields(&value);
        let _ = cnscd_bot::zalo::event::Event::parse(&value);
    }
});
