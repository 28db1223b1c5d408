//! A citizen's answer to "were you satisfied?", typed in their own words.
//!
//! The rating message has two buttons, but many citizens answer in words ("tốt lắm cảm
//! ơn cháu", "chưa được, cháu hẹn mà không đến"). Read on unmarked words, negative phrases
//! first, since "không hài lòng" contains "hài lòng".

/// Words or phrases of a satisfied answer.
const GOOD: &[&str] = &[
    "hai long",
    "tot",
    "cam on",
    "nhiet tinh",
    "tuyet",
    "ok",
    "oke",
    "okay",
    "duoc roi",
    "xong roi",
    "vui",
    "hay",
    "chu dao",
    "nhanh",
    "de hieu",
    "thanks",
    "good",
];

/// Words or phrases of a dissatisfied answer, checked before `GOOD`.
const BAD: &[&str] = &[
    "chua hai long",
    "khong hai long",
    "khong tot",
    "chua tot",
    "khong hay",
    "khong nhiet tinh",
    "chua duoc",
    "khong duoc",
    "khong giup",
    "chua giup",
    "khong den",
    "chua den",
    "bo mac",
];

/// Dissatisfied words that, without their marks, are also words of praise or others
/// ("chân thành", "chăm chỉ", "y tế", "kem"): matched only as typed with diacritics.
const BAD_MARKED: &[&str] = &["tệ", "kém", "chán", "chậm", "dở"];

/// A question is not a rating, even with "cảm ơn" in it: the dialogs answer it.
const QUESTION: &[&str] =
    &["cho hoi", "lam sao", "the nao", "nhu nao", "cach", "o dau", "bao gio", "hoi them"];

/// `Some(true)`: satisfied, `Some(false)`: not, `None`: not a rating (the dialogs answer).
pub fn rating_of(text: &str) -> Option<bool> {
    let unmarked = crate::vntext::unmark(text);
    let words: Vec<&str> =
        unmarked.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let lower = text.to_lowercase();
    let marked_words: Vec<&str> =
        lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let has = |phrase: &str| {
        let parts: Vec<&str> = phrase.split(' ').collect();
        words.windows(parts.len()).any(|w| w == parts.as_slice())
    };
    if text.contains('?') || QUESTION.iter().any(|p| has(p)) {
        None
    } else if BAD.iter().any(|p| has(p)) || marked_words.iter().any(|w| BAD_MARKED.contains(w)) {
        Some(false)
    } else if GOOD.iter().any(|p| has(p)) || text.contains('👍') {
        Some(true)
    } else {
        None
    }
}

/// Whether the answer says more than the rating itself, so it is kept as the comment.
pub fn is_a_comment(text: &str) -> bool {
    text.split_whitespace().count() > 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_in_the_citizens_words() {
        let cases = [
            ("Hài lòng", Some(true)),
            ("rat hai long", Some(true)),
            ("tốt lắm cảm ơn cháu", Some(true)),
            ("cháu nhiệt tình lắm", Some(true)),
            ("ok", Some(true)),
            ("👍", Some(true)),
            ("Chưa hài lòng", Some(false)),
            ("không hài lòng vì hẹn mà không đến", Some(false)),
            ("chưa được, vẫn chưa cài được", Some(false)),
            ("tệ quá", Some(false)),
            ("chân thành cảm ơn cháu", Some(true)),
            ("cháu chăm chỉ, nhiệt tình", Some(true)),
            ("thái độ rất tốt", Some(true)),
            ("phục vụ chậm quá", Some(false)),
            ("khong hay lam", Some(false)),
            ("menu", None),
            ("làm sao cài vneid", None),
            ("tôi muốn hỏi thêm", None),
            ("cảm ơn, cho hỏi thêm cách cài vneid", None),
            ("tốt, nhưng app này dùng sao?", None),
        ];
        for (text, want) in cases {
            assert_eq!(rating_of(text), want, "{text:?}");
        }
        assert!(is_a_comment("tốt lắm cảm ơn cháu"));
        assert!(!is_a_comment("hài lòng"));
    }
}
