//! Any text as a dialog file beside a minimal main menu: the loader reports, never panics.
#![no_main]

use cnscd_bot::dialog::{LoadOptions, SourceFile, load};
use libfuzzer_sys::fuzz_target;

const MAIN: &str = r#"title = "Menu"
main = true
start = "menu"

[nodes.menu]
say = "Chọn:"
choices = [{ label = "Thử", goto = "thu" }]
"#;

fuzz_target!(|text: &str| {
    let files = [
        SourceFile { path: "main.toml".into(), contents: MAIN.into() },
        SourceFile { path: "thu.toml".into(), contents: text.into() },
    ];
    let options = LoadOptions { today: None, review_days: 180, strict: false };
    let _ = load(&files, &options);
});
