//! Typed indicator values and their tolerant parsing.
//!
//! Volunteers type on phones: "1.200", "1,200", "１２", "có", "ko", and answer a count
//! as they would say it: "12 lượt", "không có" (0), "một". Integers accept `.` or `,`
//! only as thousands separators (groups of three); anything else that looks like a
//! decimal is refused rather than guessed, and so is an approximation ("khoảng 12").

use serde::{Deserialize, Serialize};

use super::definition::{Indicator, IndicatorKind};
use super::text::{fold, nfc};

/// Longest accepted free-text answer, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

/// Stored and sent as plain JSON: `12`, `true`, `"text"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Bool(bool),
    Text(String),
}

/// Hand-written because serde's `untagged` buffers every value and tries each variant:
/// reading 100,000 stored reports was dominated by it.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        struct ValueVisitor;
        impl serde::de::Visitor<'_> for ValueVisitor {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer, a boolean or a string")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
                i64::try_from(v).map(Value::Int).map_err(|_| E::custom("integer too large"))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Text(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
                Ok(Value::Text(v))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

impl Value {
    /// How the value reads in Vietnamese (echo, exports).
    pub fn display(&self) -> String {
        match self {
            Value::Int(n) => group_thousands(*n),
            Value::Bool(true) => "Có".to_owned(),
            Value::Bool(false) => "Không".to_owned(),
            Value::Text(text) => text.clone(),
        }
    }
}

use super::text::preview;

/// Why a typed value was refused. `Display` is the Vietnamese explanation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("chưa có giá trị")]
    Empty,
    #[error("«{0}» không phải là số")]
    NotANumber(String),
    #[error("«{0}» phải là số nguyên (không có phần thập phân)")]
    Decimal(String),
    #[error("không được là số âm")]
    Negative,
    #[error("phải từ {0} trở lên")]
    TooSmall(i64),
    #[error("không được lớn hơn {}", group_thousands(*.0))]
    TooLarge(i64),
    #[error("«{0}» không phải là Có/Không")]
    NotYesNo(String),
    #[error("dài quá {MAX_TEXT_CHARS} ký tự")]
    TooLong,
}

/// Parses `raw` as a value of `indicator`, enforcing its bounds.
pub fn parse_value(indicator: &Indicator, raw: &str) -> Result<Value, ValueError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(ValueError::Empty);
    }
    match indicator.kind {
        IndicatorKind::Int => {
            let n = parse_int(raw)?;
            if let Some(min) = indicator.min
                && n < min
            {
                return Err(ValueError::TooSmall(min));
            }
            if let Some(max) = indicator.max
                && n > max
            {
                return Err(ValueError::TooLarge(max));
            }
            Ok(Value::Int(n))
        }
        IndicatorKind::Bool => parse_yes_no(raw).map(Value::Bool),
        IndicatorKind::Text => {
            let text = nfc(raw.trim());
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(ValueError::TooLong);
            }
            Ok(Value::Text(text))
        }
    }
}

fn parse_int(raw: &str) -> Result<i64, ValueError> {
    let folded = fold(raw);
    let words: Vec<&str> = folded.split_whitespace().collect();
    if let Some(n) = count_word(&words.join(" ")) {
        return Ok(n);
    }
    // "12 lượt", "3 buổi", "1.200 người": the number, then its unit in words.
    let folded = match words.as_slice() {
        [number, unit @ ..]
            if (1..=3).contains(&unit.len())
                && number.trim_start_matches('-').starts_with(|c: char| c.is_ascii_digit())
                && unit.iter().all(|w| w.chars().all(char::is_alphabetic)) =>
        {
            (*number).to_owned()
        }
        _ => folded,
    };
    let compact: String = folded.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(rest) = compact.strip_prefix('-')
        && !rest.is_empty()
        && rest.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return Err(ValueError::Negative);
    }
    if !compact.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        || !compact.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(ValueError::NotANumber(preview(raw)));
    }
    let digits = if compact.contains(['.', ',']) {
        if !is_thousands_grouped(&compact) {
            return Err(ValueError::Decimal(preview(raw)));
        }
        compact.replace(['.', ','], "")
    } else {
        compact
    };
    digits.parse::<i64>().map_err(|_| ValueError::NotANumber(preview(raw)))
}

/// A whole answer in words (folded): "không", "chưa có" are 0, "một" … "mười" 1 to 10.
fn count_word(folded: &str) -> Option<i64> {
    Some(match folded {
        "khong" | "ko" | "k" | "kg" | "khong co" | "ko co" | "k co" | "chua" | "chua co" => 0,
        "mot" => 1,
        "hai" => 2,
        "ba" => 3,
        "bon" | "tu" => 4,
        "nam" => 5,
        "sau" => 6,
        "bay" => 7,
        "tam" => 8,
        "chin" => 9,
        "muoi" => 10,
        _ => return None,
    })
}

/// "1.234.567" or "1,234": a 1–3 digit head, then groups of exactly three, one separator.
fn is_thousands_grouped(text: &str) -> bool {
    let separator = if text.contains('.') { '.' } else { ',' };
    if text.contains('.') && text.contains(',') {
        return false;
    }
    let mut groups = text.split(separator);
    let head_ok = groups.next().is_some_and(|h| (1..=3).contains(&h.len()));
    head_ok && groups.all(|g| g.len() == 3)
}

fn parse_yes_no(raw: &str) -> Result<bool, ValueError> {
    match fold(raw).as_str() {
        "co" | "c" | "yes" | "y" | "1" | "x" | "roi" | "dung" | "co roi" | "da co" | "da lam" => {
            Ok(true)
        }
        "khong" | "k" | "ko" | "kg" | "no" | "n" | "0" | "chua" | "khong co" | "chua co"
        | "ko co" | "chua lam" => Ok(false),
        _ => Err(ValueError::NotYesNo(preview(raw))),
    }
}

/// 1234567 → "1.234.567" (Vietnamese grouping).
pub fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::definition::tests::indicator;

    #[test]
    fn integers_parse_tolerantly_or_say_why_not() {
        let ind = indicator("X", IndicatorKind::Int, true, Some(0), Some(100_000));
        let cases: &[(&str, Result<Value, ValueError>)] = &[
            ("12", Ok(Value::Int(12))),
            (" 12 ", Ok(Value::Int(12))),
            ("1.200", Ok(Value::Int(1200))),
            ("1,200", Ok(Value::Int(1200))),
            ("12.345", Ok(Value::Int(12345))),
            ("１２", Ok(Value::Int(12))),
            ("0", Ok(Value::Int(0))),
            ("", Err(ValueError::Empty)),
            ("abc", Err(ValueError::NotANumber("abc".into()))),
            ("12a", Err(ValueError::NotANumber("12a".into()))),
            ("1.5", Err(ValueError::Decimal("1.5".into()))),
            ("1,2345", Err(ValueError::Decimal("1,2345".into()))),
            ("1.200,5", Err(ValueError::Decimal("1.200,5".into()))),
            ("-3", Err(ValueError::Negative)),
            ("200.000", Err(ValueError::TooLarge(100_000))),
            ("99999999999999999999", Err(ValueError::NotANumber("99999999999999999999".into()))),
            // As volunteers answer a count: with its unit, or in words.
            ("12 lượt", Ok(Value::Int(12))),
            ("3 buoi", Ok(Value::Int(3))),
            ("1.200 người dân", Ok(Value::Int(1200))),
            ("1 200", Ok(Value::Int(1200))),
            ("không có", Ok(Value::Int(0))),
            ("Chưa", Ok(Value::Int(0))),
            ("ko", Ok(Value::Int(0))),
            ("một", Ok(Value::Int(1))),
            ("Bảy", Ok(Value::Int(7))),
            ("mười", Ok(Value::Int(10))),
            ("12 hay 13", Err(ValueError::NotANumber("12 hay 13".into()))),
            ("khoảng 12", Err(ValueError::NotANumber("khoảng 12".into()))),
            ("12 lượt 3 hộ", Err(ValueError::NotANumber("12 lượt 3 hộ".into()))),
            ("1.5 buổi", Err(ValueError::Decimal("1.5 buổi".into()))),
            ("-3 lượt", Err(ValueError::Negative)),
        ];
        for (raw, want) in cases {
            assert_eq!(&parse_value(&ind, raw), want, "input {raw:?}");
        }
        let min5 = indicator("Y", IndicatorKind::Int, true, Some(5), None);
        assert_eq!(parse_value(&min5, "4"), Err(ValueError::TooSmall(5)));
    }

    #[test]
    fn yes_no_and_text() {
        let b = indicator("B", IndicatorKind::Bool, true, None, None);
        for (raw, want) in [("có", true), ("Co", true), ("ko", false), ("Không", false)] {
            assert_eq!(parse_value(&b, raw), Ok(Value::Bool(want)), "{raw}");
        }
        assert_eq!(parse_value(&b, "maybe"), Err(ValueError::NotYesNo("maybe".into())));
        let t = indicator("T", IndicatorKind::Text, false, None, None);
        assert_eq!(parse_value(&t, " mất sóng "), Ok(Value::Text("mất sóng".into())));
        assert_eq!(parse_value(&t, &"a".repeat(501)), Err(ValueError::TooLong));
    }

    #[test]
    fn json_round_trip() {
        for v in [Value::Int(12), Value::Bool(false), Value::Text("có".into())] {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), v);
        }
        assert_eq!(serde_json::to_string(&Value::Int(5)).unwrap(), "5");
        assert!(serde_json::from_str::<Value>("1.5").is_err());
        assert!(serde_json::from_str::<Value>("null").is_err());
    }

    #[test]
    fn thousands_display() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1.000");
        assert_eq!(group_thousands(1234567), "1.234.567");
        assert_eq!(ValueError::TooLarge(100000).to_string(), "không được lớn hơn 100.000");
    }
}
