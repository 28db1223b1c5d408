//! Validating typed answers to `ask` nodes: numbers, yes/no, Vietnamese phone numbers, dates.

use super::date::Date;
use super::model::AskKind;
use super::text;

/// A valid answer: the value to save, and for yes/no which branch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub(crate) value: String,
    pub(crate) yes: Option<bool>,
}

/// Longer text answers are cut to this many characters.
pub(crate) const MAX_TEXT_ANSWER_CHARS: usize = 500;

const YES: &[&str] = &[
    "co",
    "c",
    "co a",
    "co roi",
    "da co",
    "da co a",
    "yes",
    "y",
    "ok",
    "oke",
    "okay",
    "oki",
    "okie",
    "dung",
    "dung roi",
    "dung a",
    "dung vay",
    "da dung",
    "phai",
    "dung the",
    "vang",
    "vang a",
    "da",
    "da vang",
    "u",
    "uh",
    "uhm",
    "um",
    "o",
    "ung",
    "dong y",
    "roi",
    "co chu",
    "co phai",
    "chuan",
    "chinh xac",
];
const NO: &[&str] = &[
    "khong",
    "k",
    "ko",
    "kh",
    "khg",
    "hong",
    "hok",
    "khong a",
    "khong co",
    "chua",
    "chua co",
    "chua a",
    "no",
    "n",
    "sai",
    "sai roi",
    "khong dong y",
    "khong phai",
    "ko co",
    "k co",
    "ko phai",
    "k phai",
    "hong co",
    "hem",
    "hk",
    "khum",
    "da khong",
    "da khong a",
    "dau co",
    "chua tung",
];

/// True if the folded text is one of the ways to say yes.
pub(crate) fn is_yes(folded: &str) -> bool {
    YES.contains(&folded)
}

/// True if the folded text is one of the ways to say no.
pub(crate) fn is_no(folded: &str) -> bool {
    NO.contains(&folded)
}

/// Checks `input` against the ask kind; `None` means "ask again".
pub(crate) fn validate(kind: AskKind, input: &str) -> Option<Answer> {
    let plain = |value: String| Some(Answer { value, yes: None });
    match kind {
        AskKind::Text => {
            // Bounded: answers live in the session and come back in `{name}` placeholders.
            let value: String =
                text::nfc(input.trim()).chars().take(MAX_TEXT_ANSWER_CHARS).collect();
            if value.is_empty() { None } else { plain(value) }
        }
        AskKind::Number { min, max } => {
            let number = parse_number(input)?;
            let in_range =
                min.is_none_or(|min| number >= min) && max.is_none_or(|max| number <= max);
            in_range.then(|| Answer { value: format_number(number), yes: None })
        }
        AskKind::YesNo => {
            let folded = text::fold(input);
            let yes = if YES.contains(&folded.as_str()) {
                true
            } else if NO.contains(&folded.as_str()) {
                false
            } else {
                return None;
            };
            Some(Answer { value: if yes { "có" } else { "không" }.to_owned(), yes: Some(yes) })
        }
        AskKind::Phone => plain(parse_phone(input)?),
        AskKind::Date => plain(parse_date(input)?.to_string()),
    }
}

/// The leading number of the answer: "3", "3 người", "2,5", "-1", "1.000" (thousands).
fn parse_number(input: &str) -> Option<f64> {
    let trimmed = input.trim();
    let end = trimmed
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || *c == ',' || *c == '.' || (*i == 0 && *c == '-')))
        .map_or(trimmed.len(), |(i, _)| i);
    let number = trimmed.get(..end)?.trim_end_matches(['.', ',']);
    if !number.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    // "1.000" and "1,000" are thousands in Vietnamese writing when three digits follow;
    // otherwise a single separator is a decimal mark ("2,5", "2.5").
    let separators = number.matches(['.', ',']).count();
    let tail_len = number.rsplit(['.', ',']).next().map_or(0, str::len);
    let normalized: String = if separators > 1 || (separators == 1 && tail_len == 3) {
        number.chars().filter(|c| *c != '.' && *c != ',').collect()
    } else {
        number.replace(',', ".")
    };
    normalized.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn format_number(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{}", number as i64)
    } else {
        format!("{number}").replace('.', ",")
    }
}

/// Vietnamese mobile numbers: `0xxxxxxxxx`, `+84xxxxxxxxx`, `84xxxxxxxxx`, with spaces, dots,
/// dashes or parentheses anywhere. Returns the `0xxxxxxxxx` form.
pub(crate) fn parse_phone(input: &str) -> Option<String> {
    let trimmed = input.trim();
    if !trimmed.chars().all(|c| c.is_ascii_digit() || " .-()+".contains(c)) {
        return None;
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let national = if trimmed.starts_with('+') || (digits.starts_with("84") && digits.len() == 11) {
        format!("0{}", digits.strip_prefix("84")?)
    } else {
        digits
    };
    let mobile_prefix = national.as_bytes().get(1).is_some_and(|b| b"35789".contains(b));
    (national.len() == 10 && national.starts_with('0') && mobile_prefix).then_some(national)
}

/// `d/m/yyyy`, `d-m-yyyy`, `d.m.yyyy`, `d m yyyy`, `d/m/yy` (20yy) and `yyyy-mm-dd`; also
/// "ngày 5 tháng 3 năm 2026" since only the numbers are read.
pub(crate) fn parse_date(input: &str) -> Option<Date> {
    let numbers: Vec<&str> =
        input.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).collect();
    let [a, b, c] = numbers.as_slice() else { return None };
    let (year, month, day) = if a.len() == 4 { (*a, *b, *c) } else { (*c, *b, *a) };
    let year: i32 = match year.len() {
        4 => year.parse().ok()?,
        2 => 2000 + year.parse::<i32>().ok()?,
        _ => return None,
    };
    Date::new(year, month.parse().ok()?, day.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(min: Option<f64>, max: Option<f64>) -> AskKind {
        AskKind::Number { min, max }
    }

    #[test]
    fn answers_table() {
        let cases: &[(AskKind, &str, Option<&str>)] = &[
            (number(None, None), "3", Some("3")),
            (number(None, None), " 3 người", Some("3")),
            (number(None, None), "2,5", Some("2,5")),
            (number(None, None), "2.5", Some("2,5")),
            (number(None, None), "1.000", Some("1000")),
            (number(None, None), "1.000.000 đồng", Some("1000000")),
            (number(None, None), "-4", Some("-4")),
            (number(None, None), "ba", None),
            (number(None, None), "", None),
            (number(None, None), "-", None),
            (number(Some(1.0), Some(120.0)), "0", None),
            (number(Some(1.0), Some(120.0)), "121", None),
            (number(Some(1.0), Some(120.0)), "120", Some("120")),
            (AskKind::Text, "  Nguyễn Văn A ", Some("Nguyễn Văn A")),
            (AskKind::Text, "   ", None),
            (AskKind::YesNo, "Có", Some("có")),
            (AskKind::YesNo, "co", Some("có")),
            (AskKind::YesNo, "C", Some("có")),
            (AskKind::YesNo, "Vâng ạ", Some("có")),
            (AskKind::YesNo, "ok", Some("có")),
            (AskKind::YesNo, "Không", Some("không")),
            (AskKind::YesNo, "ko", Some("không")),
            (AskKind::YesNo, "k", Some("không")),
            (AskKind::YesNo, "chưa", Some("không")),
            (AskKind::YesNo, "no", Some("không")),
            (AskKind::YesNo, "có lẽ", None),
            (AskKind::Phone, "0912345678", Some("0912345678")),
            (AskKind::Phone, "0912 345 678", Some("0912345678")),
            (AskKind::Phone, "091.234.5678", Some("0912345678")),
            (AskKind::Phone, "+84 912 345 678", Some("0912345678")),
            (AskKind::Phone, "84912345678", Some("0912345678")),
            (AskKind::Phone, "(+84) 38-123-4567", Some("0381234567")),
            (AskKind::Phone, "0212345678", None), // landline prefix
            (AskKind::Phone, "091234567", None),  // 9 digits
            (AskKind::Phone, "09123456789", None),
            (AskKind::Phone, "số 0912345678", None),
            (AskKind::Phone, "+1 912 345 678", None),
            (AskKind::Date, "5/3/2026", Some("05/03/2026")),
            (AskKind::Date, "05-03-2026", Some("05/03/2026")),
            (AskKind::Date, "5.3.26", Some("05/03/2026")),
            (AskKind::Date, "2026-03-05", Some("05/03/2026")),
            (AskKind::Date, "ngày 5 tháng 3 năm 2026", Some("05/03/2026")),
            (AskKind::Date, "29/2/2025", None),
            (AskKind::Date, "5/3", None),
            (AskKind::Date, "32/1/2026", None),
            (AskKind::Date, "hôm nay", None),
        ];
        for (kind, input, expected) in cases {
            let got = validate(*kind, input).map(|answer| answer.value);
            assert_eq!(got.as_deref(), *expected, "{kind:?} {input:?}");
        }
    }

    #[test]
    fn long_text_answers_are_bounded() {
        let long = "á".repeat(2 * MAX_TEXT_ANSWER_CHARS);
        let answer = validate(AskKind::Text, &long).map(|a| a.value.chars().count());
        assert_eq!(answer, Some(MAX_TEXT_ANSWER_CHARS));
    }

    #[test]
    fn yes_no_branch() {
        assert_eq!(validate(AskKind::YesNo, "có").and_then(|a| a.yes), Some(true));
        assert_eq!(validate(AskKind::YesNo, "không").and_then(|a| a.yes), Some(false));
        assert_eq!(validate(AskKind::Text, "có").and_then(|a| a.yes), None);
    }
}
