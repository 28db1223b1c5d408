//! Any bytes as a webhook body: JSON parsing, the signed fields and event parsing never
//! panic, and the webhook's one-pass reader agrees with the `Value` reader.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = cnscd_bot::zalo::event::signing_fields(&value);
        let _ = cnscd_bot::zalo::event::Event::parse(&value);
        let reference = cnscd_bot::zalo::envelope::Envelope::from_value(&value);
        let fast = cnscd_bot::zalo::envelope::Envelope::read(data);
        assert_eq!(fast.ok(), Some(reference));
    }
});
