//! Vietnamese-aware text folding for command and key matching.
//!
//! Users type with or without diacritics, in NFC or NFD (some keyboards), in any case.
//! `fold` maps all of them to one ASCII-ish key: NFD, drop combining marks, `đ` → `d`
//! (it has no decomposition), lower-case. Stored text keeps the user's original (NFC).

/// Case- and diacritic-insensitive key: "Đăng Ký" → "dang ky".
pub use crate::vntext::unmark as fold;

/// NFC form of text, for storage and display (callers trim user input first).
pub use crate::vntext::nfc;

/// Longest piece of user text a reply echoes back.
pub const PREVIEW_CHARS: usize = 24;

/// User text as a reply may echo it: at most `PREVIEW_CHARS` characters, then "…", so
/// a 60 KB message never comes back as 31 replies.
pub fn preview(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(PREVIEW_CHARS).collect();
    if chars.next().is_some() { format!("{head}…") } else { head }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_cuts_long_text_on_a_character_boundary() {
        assert_eq!(preview("K7M2Q9"), "K7M2Q9");
        let long = "đ".repeat(60_000);
        assert_eq!(preview(&long), format!("{}…", "đ".repeat(PREVIEW_CHARS)));
    }

    #[test]
    fn folds_vietnamese_variants_to_one_key() {
        let cases = [
            ("Đăng ký", "dang ky"),
            ("đăng ký", "dang ky"),
            ("dang ky", "dang ky"),
            ("BÁO CÁO", "bao cao"),
            ("b\u{61}\u{301}o ca\u{301}o", "bao cao"), // NFD input
            ("bỏ qua", "bo qua"),
            ("Gửi", "gui"),
            ("Hủy", "huy"),
            ("Huỷ", "huy"),
            ("１２", "12"),
            ("Sửa", "sua"),
        ];
        for (input, want) in cases {
            assert_eq!(fold(input), want, "input {input:?}");
        }
    }
}
