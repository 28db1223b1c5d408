//! The roll-ups' read path: a stored report reduced to its numbers, read through a
//! borrowing view so that neither keys nor texts are copied.

use serde::Deserialize;

use crate::reports::model::ReportVersion;
use crate::reports::value::Value;

/// A current report reduced to what the roll-ups read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportNumbers {
    pub team: u64,
    pub period: String,
    pub on_time: bool,
    /// Aligned with the `codes` asked for.
    pub numbers: Vec<i64>,
}

impl ReportNumbers {
    pub(super) fn from_version(v: &ReportVersion, codes: &[&str]) -> ReportNumbers {
        let numbers = codes
            .iter()
            .map(|c| match v.values.get(*c) {
                Some(Value::Int(n)) => *n,
                Some(Value::Bool(true)) => 1,
                _ => 0,
            })
            .collect();
        ReportNumbers { team: v.team, period: v.period.key(), on_time: v.on_time, numbers }
    }
}

/// Borrowing view of a stored `ReportVersion`: other fields are skipped unread.
#[derive(Deserialize)]
pub(super) struct NumbersView<'a> {
    pub(super) team: u64,
    pub(super) on_time: bool,
    #[serde(default)]
    pub(super) withdrawn_at: Option<i64>,
    #[serde(borrow)]
    pub(super) values: std::collections::HashMap<&'a str, Number>,
}

/// An indicator value as a number: integers as they are, yes = 1, no and text = 0.
pub(super) struct Number(pub(super) i64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Number, D::Error> {
        struct NumberVisitor;
        impl serde::de::Visitor<'_> for NumberVisitor {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an indicator value")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Number, E> {
                Ok(Number(i64::from(v)))
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Number, E> {
                Ok(Number(0))
            }
        }
        deserializer.deserialize_any(NumberVisitor)
    }
}
