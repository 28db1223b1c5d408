//! Vietnamese-aware text matching: NFC, case folding, tone/diacritic folding and typo tolerance.
//!
//! Citizens often type without diacritics ("dich vu cong"), with a different input method
//! (decomposed marks, old-style tone placement) or with a slip of the finger. Everything the
//! engine compares goes through [`fold`], so "Dịch vụ công", "DICH VU CONG" and "dịch  vụ
//! công!" are the same words.

use unicode_normalization::UnicodeNormalization;

/// Shortest word (in characters) for which one typo is tolerated; shorter words must match
/// exactly, otherwise "co"/"ko" or "1"/"2" would be confused.
pub const TYPO_MIN_WORD_CHARS: usize = 5;

/// NFC form of `s` (what we store and show).
pub use crate::vntext::nfc;

/// True if `s` is already in NFC (what admins must write).
pub fn is_nfc(s: &str) -> bool {
    unicode_normalization::is_nfc(s)
}

/// Lower case, NFC, words separated by single spaces, punctuation dropped, diacritics kept.
/// Used for the "exact" matching tier, where "bán" and "bàn" differ.
pub fn fold_case(s: &str) -> String {
    if s.is_ascii() {
        // Most citizens type without diacritics: nothing to compose.
        return words(s.chars().map(|c| c.to_ascii_lowercase()), s.len());
    }
    if unicode_normalization::is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes {
        // Already composed (what phones send): composing again would copy it unchanged.
        return words(s.chars().flat_map(char::to_lowercase), s.len());
    }
    words(s.nfc().flat_map(char::to_lowercase), s.len())
}

/// Lower case with every tone mark and diacritic removed (stacked marks included) and
/// `đ` → `d`; words separated by single spaces, punctuation dropped.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return words(s.chars().map(|c| c.to_ascii_lowercase()), s.len());
    }
    words(crate::vntext::unmark(s).chars(), s.len())
}

/// Keeps letters and digits, turns every run of anything else into one space.
fn words(chars: impl Iterator<Item = char>, capacity: usize) -> String {
    // Sized once: growing a string char by char reallocated several times per message.
    let mut out = String::with_capacity(capacity);
    let mut pending_space = false;
    for c in chars {
        if crate::vntext::is_alphanumeric(c) {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        } else {
            pending_space = true;
        }
    }
    out
}

/// Longest text kept for review (in characters).
const MAX_REVIEW_CHARS: usize = 200;

/// A message as kept in the list of unmatched messages: folded and cut short, with every word
/// that could identify someone masked — words with digits (phone numbers, codes, account
/// numbers) become `#`, e-mail and web addresses `@`; runs of masks collapse into one.
pub fn mask_for_review(s: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for raw in s.split_whitespace() {
        let lower = raw.to_lowercase();
        let mask = if lower.contains('@') || lower.contains("http") || lower.contains("www.") {
            Some("@")
        } else if lower.chars().any(|c| c.is_numeric()) {
            Some("#")
        } else {
            None
        };
        match mask {
            Some(mask) => {
                if words.last().map(String::as_str) != Some(mask) {
                    words.push(mask.to_owned());
                }
            }
            None => {
                let folded = fold(raw);
                if !folded.is_empty() {
                    words.push(folded);
                }
            }
        }
    }
    let joined = words.join(" ");
    match joined.char_indices().nth(MAX_REVIEW_CHARS) {
        Some((cut, _)) => joined[..cut].trim_end().to_owned(),
        None => joined,
    }
}

/// The `{name}` placeholders in `s` (names are `[a-z0-9_]+`; other braces are literal text).
pub fn placeholders(s: &str) -> impl Iterator<Item = &str> {
    s.split('{').skip(1).filter_map(|after| {
        let (name, _) = after.split_once('}')?;
        is_id(name).then_some(name)
    })
}

/// Replaces each `{name}` with `value(name)`, leaving unknown names and other braces as they are.
pub fn fill(s: &str, value: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    fill_into(&mut out, s, value);
    out
}

/// [`fill`], appended to `out` (a message being built needs no copy of its own).
pub fn fill_into(out: &mut String, s: &str, mut value: impl FnMut(&str) -> Option<String>) {
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.split_once('}') {
            Some((name, tail)) if is_id(name) => {
                match value(name) {
                    Some(filled) => out.push_str(&filled),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = tail;
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

/// Ids of dialogs, nodes, facts and saved answers: `[a-z0-9_]+` (dialog ids may also use `-`).
pub fn is_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// True if two single words are equal, or differ by at most one edit (insertion, deletion,
/// substitution or swap of neighbours) and both are long enough to tolerate a typo.
pub(crate) fn word_matches(expected: &str, typed: &str) -> bool {
    if expected == typed {
        return true;
    }
    // Folded text is almost always ASCII: compare bytes without allocating.
    if expected.is_ascii() && typed.is_ascii() {
        return long_enough(expected.len(), typed.len())
            && within_one_edit(expected.as_bytes(), typed.as_bytes());
    }
    let expected: Vec<char> = expected.chars().collect();
    let typed: Vec<char> = typed.chars().collect();
    long_enough(expected.len(), typed.len()) && within_one_edit(&expected, &typed)
}

fn long_enough(expected: usize, typed: usize) -> bool {
    expected >= TYPO_MIN_WORD_CHARS && typed + 1 >= TYPO_MIN_WORD_CHARS
}

/// True if two folded phrases have the same words, each word equal or (if long) one typo away.
pub fn phrase_matches(expected: &str, typed: &str) -> bool {
    let mut expected_words = expected.split(' ');
    let mut typed_words = typed.split(' ');
    loop {
        match (expected_words.next(), typed_words.next()) {
            (None, None) => return true,
            (Some(e), Some(t)) if word_matches(e, t) => {}
            _ => return false,
        }
    }
}

/// True if the folded `phrase` occurs as whole consecutive words in the folded `text`,
/// tolerating one typo per long word. Allocation-free: it runs for every trigger keyword.
pub fn contains_phrase(text: &str, phrase: &str) -> bool {
    if phrase.is_empty() {
        return false;
    }
    let mut rest = text;
    loop {
        let mut typed_words = rest.split(' ');
        if phrase
            .split(' ')
            .all(|expected| typed_words.next().is_some_and(|t| word_matches(expected, t)))
        {
            return true;
        }
        match rest.split_once(' ') {
            Some((_, tail)) => rest = tail,
            None => return false,
        }
    }
}

/// Optimal-string-alignment distance ≤ 1, without building a matrix.
fn within_one_edit<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        if prefix == short.len() {
            return true;
        }
        // One substitution, or one swap of neighbours.
        let substitution = short[prefix + 1..] == long[prefix + 1..];
        let swap = prefix + 1 < short.len()
            && short[prefix] == long[prefix + 1]
            && short[prefix + 1] == long[prefix]
            && short[prefix + 2..] == long[prefix + 2..];
        substitution || swap
    } else {
        // One insertion into `short`.
        short[prefix..] == long[prefix + 1..]
    }
}

/// Levenshtein distance, for "did you mean" suggestions (small inputs only).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The closest candidate to `wanted`, if it is close enough to be a plausible typo.
pub fn suggest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wanted.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(wanted, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_table() {
        let cases = [
            ("Dịch vụ công", "dich vu cong"),
            ("DỊCH VỤ CÔNG", "dich vu cong"),
            ("  dịch   vụ, công!! ", "dich vu cong"),
            ("Đăng ký", "dang ky"),
            ("đường", "duong"),
            // Decomposed input: e + circumflex + dot below (stacked marks).
            ("Vie\u{0302}\u{0323}t Nam", "viet nam"),
            // Dot below first, then circumflex: same letter after folding.
            ("Vie\u{0323}\u{0302}t", "viet"),
            ("hoà / hòa", "hoa hoa"),
            ("Lừa đảo?", "lua dao"),
            ("VNeID", "vneid"),
            ("0912 345 678", "0912 345 678"),
            ("", ""),
            ("!!!", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(fold(input), expected, "fold({input:?})");
        }
    }

    #[test]
    fn fold_case_keeps_diacritics() {
        assert_eq!(fold_case("BÁN  hàng"), "bán hàng");
        assert_eq!(fold_case("Vie\u{0302}\u{0323}t"), "việt");
        assert_ne!(fold_case("bán"), fold_case("bàn"));
    }

    #[test]
    fn typo_table() {
        let cases = [
            ("vneid", "vneid", true),
            ("vneid", "vnied", true),  // swap
            ("vneid", "vnid", true),   // deletion
            ("vneid", "vneidd", true), // insertion
            ("vneid", "vxeid", true),  // substitution
            ("vneid", "vxxid", false), // two edits
            ("cong", "cong", true),
            ("cong", "cang", false), // short words must be exact
            ("co", "ko", false),
            ("khoan", "khoan", true),
            ("khoan", "khoa", true),
            ("1", "2", false),
        ];
        for (expected, typed, result) in cases {
            assert_eq!(word_matches(expected, typed), result, "{expected:?} vs {typed:?}");
        }
    }

    #[test]
    fn phrases() {
        assert!(phrase_matches("tao tai khoan vneid", "tao tai khoan vnied"));
        assert!(!phrase_matches("tao tai khoan vneid", "tao tai khoan"));
        assert!(contains_phrase("toi muon hoi ve dich vu cong a", "dich vu cong"));
        assert!(!contains_phrase("dich vu", "dich vu cong"));
        assert!(contains_phrase("bi lua dao", "lua dao"));
        assert!(!contains_phrase("lua", ""));
        assert!(contains_phrase("lua dao", "lua dao"));
        assert!(contains_phrase("a b lua dao", "lua dao"));
        assert!(!contains_phrase("a b lua", "lua dao"));
        assert!(contains_phrase("tra cuu vnied ngay", "vneid"));
        assert!(word_matches("khoản", "khoả"));
        assert!(!word_matches("khoản", "kh"));
    }

    #[test]
    fn masking_for_review() {
        let cases = [
            ("Số tôi là 0912 345 678 nhé", "so toi la # nhe"),
            ("mã OTP 123456 có đưa không?", "ma otp # co dua khong"),
            ("stk 1903xx88 ở Techcombank", "stk # o techcombank"),
            ("gửi a.b@gmail.com và https://x.vn/1", "gui @ va @"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(mask_for_review(input), expected, "{input:?}");
        }
        assert_eq!(mask_for_review(&"a ".repeat(500)).chars().count(), MAX_REVIEW_CHARS - 1);
    }

    #[test]
    fn placeholder_table() {
        let value = |name: &str| (name == "ten").then(|| "Lan".to_owned());
        let cases = [
            ("Chào {ten}!", "Chào Lan!"),
            ("{ten}{ten}", "LanLan"),
            ("{khac} và {ten}", "{khac} và Lan"),
            ("{ không phải }", "{ không phải }"),
            ("mở { và {ten}", "mở { và Lan"),
            ("không có", "không có"),
            ("{", "{"),
            ("}{ten", "}{ten"),
        ];
        for (input, expected) in cases {
            assert_eq!(fill(input, value), expected, "fill({input:?})");
        }
        let names: Vec<&str> = placeholders("{a} {B} {c_1} { d } {e").collect();
        assert_eq!(names, ["a", "c_1"]);
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("buoc_4x", ["buoc_1", "buoc_4", "ket_thuc"]), Some("buoc_4"));
        assert_eq!(suggest("zzzzzz", ["buoc_1", "buoc_4"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
