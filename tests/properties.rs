//! Properties over arbitrary input (proptest, a bounded number of cases so CI stays fast):
//! the dialog loader, the dialog engine, the command recogniser and the review mask never
//! panic, and what they return keeps its promises. The webhook and one-line report parsers
//! are covered the same way in `garbage_input.rs`; `fuzz/` has coverage-guided targets.

use std::sync::OnceLock;

use cnscd_bot::calendar::UnixSecs;
use cnscd_bot::dialog::{self, DialogSet, Input, LoadOptions, SourceFile};
use proptest::prelude::*;

const DIALOGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/dialogs");

fn shipped_files() -> Vec<SourceFile> {
    let mut files: Vec<SourceFile> = std::fs::read_dir(DIALOGS)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| SourceFile {
            path: p.display().to_string(),
            contents: std::fs::read_to_string(&p).unwrap(),
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn options() -> LoadOptions {
    LoadOptions { today: None, review_days: dialog::DEFAULT_REVIEW_DAYS, strict: false }
}

fn shipped_set() -> &'static DialogSet {
    static SET: OnceLock<DialogSet> = OnceLock::new();
    SET.get_or_init(|| {
        dialog::load(&shipped_files(), &options()).set.expect("shipped dialogs load")
    })
}

/// Messages people type: Vietnamese letters, shorthand, digits, punctuation, emoji, and the
/// characters the engine treats specially (`#` payloads, slashes, numbers of buttons).
fn message() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Zàáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ0-9 ,.?!/#:=\\-]{0,60}",
        "#[cgu]:[a-z_]{0,12}:[a-z_0-9]{0,12}(:[0-9]{0,3})?",
        "[0-9]{1,4}",
        any::<String>(),
    ]
}

proptest! {
    // Each case loads every shipped dialog (index included): few cases, each a full load.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A dialog file cut, spliced or garbled anywhere is reported, never a panic; when it
    /// still loads, the result is a usable set.
    #[test]
    fn the_loader_survives_any_edit(
        file in 0usize..64,
        at in any::<prop::sample::Index>(),
        cut in 0usize..200,
        insert in "[\\[\\]{}=\"'#\n a-z_:.0-9]{0,20}",
    ) {
        let mut files = shipped_files();
        let n = files.len();
        let target = &mut files[file % n].contents;
        let mut start = at.index(target.len() + 1);
        while !target.is_char_boundary(start) { start -= 1; }
        let mut end = (start + cut).min(target.len());
        while !target.is_char_boundary(end) { end -= 1; }
        target.replace_range(start..end, &insert);
        let loaded = dialog::load(&files, &options());
        if let Some(set) = &loaded.set {
            let step = dialog::step(set, None, &Input::Follow, UnixSecs(1_800_000_000));
            prop_assert!(!step.replies.is_empty());
        } else {
            prop_assert!(loaded.errors().next().is_some(), "rejected without an error");
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any text, at any point of a conversation, gets at least one reply.
    #[test]
    fn the_engine_answers_anything(first in message(), second in message(), third in message()) {
        let set = shipped_set();
        let mut session = None;
        for text in [first, second, third] {
            let step = dialog::step(set, session.take(), &Input::Text(text.clone()), UnixSecs(1_800_000_000));
            prop_assert!(!step.replies.is_empty(), "no reply to {text:?}");
            session = step.session;
        }
    }

    /// The command recogniser never panics, and a command found without the slash is never
    /// a destructive one (leaving a team, withdrawing a report need `/roi`, `/huy`).
    #[test]
    fn commands_without_a_slash_are_never_destructive(text in message()) {
        use cnscd_bot::reports::command::{Command, recognise};
        if let Some(found) = recognise(&text)
            && !text.trim_start().starts_with('/')
        {
            let destructive = matches!(found.command, Command::Leave { .. } | Command::Withdraw { .. });
            prop_assert!(!destructive, "{text:?} → {:?}", found.command);
        }
    }

    /// What is kept of a message the bot did not understand holds no digits (phone numbers,
    /// codes, account numbers) and no addresses.
    #[test]
    fn the_review_mask_hides_numbers_and_addresses(text in message()) {
        let kept = dialog::text::mask_for_review(&text);
        prop_assert!(!kept.chars().any(|c| c.is_ascii_digit()), "{text:?} → {kept:?}");
        prop_assert!(!kept.contains("http") && !kept.contains("www."), "{kept:?}");
    }
}
