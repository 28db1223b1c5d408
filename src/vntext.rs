//! Vietnamese text folding shared by the pure cores (dialog matching, report commands).
//!
//! Users type with or without diacritics, in NFC or NFD (some keyboards), in any case,
//! sometimes with full-width digits. `unmark` maps all of them to one lower-case key.
//! Pure: no I/O, no allocation beyond the result.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// NFC form of `text` (what is stored and shown; composed, so "báo" typed on an NFD
/// keyboard is the same string as "báo"). Does not trim: callers that take user input
/// trim first.
pub fn nfc(text: &str) -> String {
    text.nfc().collect()
}

/// Lower case with every tone mark and diacritic removed (stacked marks included),
/// `đ` → `d` (it has no decomposition) and full-width digits made ASCII. Punctuation and
/// spacing are kept; callers decide what a word is.
pub fn unmark(text: &str) -> String {
    // Removing marks shortens the text, so the input's length is almost always enough: one
    // allocation instead of a string grown char by char.
    let mut out = String::with_capacity(text.len());
    out.extend(text.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).map(
        |c| match c {
            'đ' | 'ð' => 'd',
            '\u{FF10}'..='\u{FF19}' => char::from(b'0' + (c as u32 - 0xFF10) as u8),
            other => other,
        },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::{nfc, unmark};

    #[test]
    fn nfc_composes_and_keeps_spacing() {
        assert_eq!(nfc("b\u{61}\u{301}o"), "báo");
        assert_eq!(nfc("  Ho\u{300}a "), "  Hòa ");
    }

    #[test]
    fn unmark_table() {
        let cases = [
            ("Đăng ký", "dang ky"),
            ("b\u{61}\u{301}o ca\u{301}o", "bao cao"),
            ("Huỷ / HỦY", "huy / huy"),
            ("Người dùng", "nguoi dung"),
            ("１２", "12"),
            ("hd=12,5", "hd=12,5"),
        ];
        for (input, want) in cases {
            assert_eq!(unmark(input), want, "{input:?}");
        }
    }
}
