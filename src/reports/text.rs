//! Vietnamese-aware text folding for command and key matching.
//!
//! Users type with or without diacritics, in NFC or NFD (some keyboards), in any case.
//! `fold` maps all of them to one ASCII-ish key: NFD, drop combining marks, `đ` → `d`
//! (it has no decomposition), lower-case. Stored text keeps the user's original (NFC).

/// Case- and diacritic-insensitive key: "Đăng Ký" → "dang ky".
pub use crate::vntext::unmark as fold;

/// NFC form of text, for storage and display (callers trim user input first).
pub use crate::vntext::nfc;

#[cfg(test)]
mod tests {
    use super::*;

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
