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
    // Vietnamese, composed or not, is ASCII, letters of the Latin blocks and combining
    // marks: looked up one char at a time. Canonical reordering only moves combining marks,
    // which are all dropped, so this is the same as the NFD path below.
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if COMBINING_DIACRITICS.contains(&c) {
            // A mark typed on its own (NFD keyboards): dropped.
        } else if let Some(base) = latin(c).and_then(|l| l.unmarked) {
            out.push(base);
        } else {
            out.clear();
            unmark_any(text, &mut out);
            break;
        }
    }
    out
}

/// Combining Diacritical Marks (all of General Category Mn), what NFD keyboards send.
const COMBINING_DIACRITICS: std::ops::RangeInclusive<char> = '\u{0300}'..='\u{036F}';

/// [`unmark`] for any text: full NFD.
fn unmark_any(text: &str, out: &mut String) {
    out.extend(text.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).map(
        |c| match c {
            'đ' | 'ð' => 'd',
            '\u{FF10}'..='\u{FF19}' => char::from(b'0' + (c as u32 - 0xFF10) as u8),
            other => other,
        },
    ));
}

/// What the folding functions need to know about a letter of the Latin blocks.
#[derive(Clone, Copy)]
struct Latin {
    /// `unmark` of the char alone, when that is one char ('ế' → 'e', 'Đ' → 'd').
    unmarked: Option<char>,
    /// `char::is_alphanumeric` (a table search in std for anything not ASCII).
    alphanumeric: bool,
}

/// Latin-1 Supplement to Latin Extended-B, and Latin Extended Additional (where most
/// Vietnamese letters with two marks live).
const LATIN_BLOCKS: [std::ops::RangeInclusive<u32>; 2] = [0x00C0..=0x024F, 0x1E00..=0x1EFF];

/// The entry of `c` if it is in [`LATIN_BLOCKS`], computed once from the general path.
fn latin(c: char) -> Option<Latin> {
    static TABLE: std::sync::OnceLock<Vec<Latin>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        LATIN_BLOCKS
            .iter()
            .flat_map(|block| block.clone())
            .map(|code| {
                let c = char::from_u32(code).unwrap_or(' ');
                let mut unmarked = String::new();
                unmark_any(c.encode_utf8(&mut [0; 4]), &mut unmarked);
                let mut chars = unmarked.chars();
                let unmarked = match (chars.next(), chars.next()) {
                    (Some(one), None) => Some(one),
                    _ => None,
                };
                Latin { unmarked, alphanumeric: c.is_alphanumeric() }
            })
            .collect()
    });
    let code = u32::from(c);
    let mut offset = 0;
    for block in &LATIN_BLOCKS {
        if block.contains(&code) {
            return table.get((offset + code - block.start()) as usize).copied();
        }
        offset += block.end() - block.start() + 1;
    }
    None
}

/// The text with a capital first letter ("tháng 11/2026" → "Tháng 11/2026"), for labels
/// and messages built from lower-case parts or typed by users.
pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `char::is_alphanumeric`, answered from a table for the Latin letters users type.
pub fn is_alphanumeric(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    latin(c).map_or_else(|| c.is_alphanumeric(), |l| l.alphanumeric)
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
    fn the_latin_table_agrees_with_the_general_path() {
        use super::{is_alphanumeric, unmark_any};
        let samples = ('\u{0}'..='\u{2FFF}').chain('\u{FF00}'..='\u{FFEF}');
        for c in samples {
            assert_eq!(is_alphanumeric(c), c.is_alphanumeric(), "{c:?}");
            // Alone, after a letter and before a combining mark: fast and full paths agree.
            for text in [
                c.to_string(),
                format!("Ả{c}"),
                format!("{c}\u{0301}x"),
                format!("{c}\u{0323}\u{0302}"),
            ] {
                let mut full = String::new();
                unmark_any(&text, &mut full);
                assert_eq!(unmark(&text), full, "{text:?}");
            }
        }
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
