//! Any text after `/bc`: the one-line report parser answers or explains, never panics.
#![no_main]

use std::sync::OnceLock;

use cnscd_bot::reports::definition::Definitions;
use libfuzzer_sys::fuzz_target;

fn definitions() -> &'static Definitions {
    static DEFS: OnceLock<Definitions> = OnceLock::new();
    DEFS.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/reports.toml");
        cnscd_bot::reports_runtime::load_definitions(std::path::Path::new(path))
            .expect("reports.toml")
    })
}

fuzz_target!(|text: &str| {
    let _ = cnscd_bot::reports::oneline::parse_report_args(definitions(), text, 1_800_000_000);
    let _ = cnscd_bot::reports::command::recognise(text);
});
