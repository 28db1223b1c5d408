//! A report version as the exports read it: borrowed, not owned.
//!
//! An export reads 100,000 stored versions, renders each once and drops it. Parsing them
//! into `ReportVersion` (a `String` per field and per indicator code, a `BTreeMap` of ~19
//! values) and dropping them again was about 40 % of a store-backed export. A
//! `VersionView` borrows its strings from the stored JSON bytes instead (a string with
//! JSON escapes in it is the one case that allocates), or from an owned `ReportVersion`
//! (`ReportVersion::view`), so the export core has one input type for both.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::model::ReportVersion;
use super::period::Period;
use super::value::{Value, group_thousands};
use crate::calendar::UnixSecs;

/// The fields of a `ReportVersion`, borrowed. Reads the same JSON as `ReportVersion`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VersionView<'a> {
    pub team: u64,
    #[serde(borrow)]
    pub report: Cow<'a, str>,
    #[serde(with = "super::period::as_key")]
    pub period: Period,
    pub version: u32,
    #[serde(borrow)]
    pub definition: Cow<'a, str>,
    #[serde(borrow)]
    pub values: ViewValues<'a>,
    #[serde(borrow)]
    pub submitted_by: Cow<'a, str>,
    pub submitted_at: UnixSecs,
    pub on_time: bool,
    /// Never shown in an export; read so that a record `ReportVersion` would refuse is
    /// refused here too.
    #[serde(borrow)]
    pub source_event: Cow<'a, str>,
    #[serde(default)]
    pub withdrawn_at: Option<UnixSecs>,
}

/// The indicator values of a `VersionView`.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewValues<'a> {
    /// An owned version's map.
    Map(&'a BTreeMap<String, Value>),
    /// As read from JSON: codes strictly ascending (see `Deserialize`), so a lookup is a
    /// binary search.
    Read(Vec<(Cow<'a, str>, ValueRef<'a>)>),
}

impl Default for ViewValues<'_> {
    fn default() -> Self {
        ViewValues::Read(Vec::new())
    }
}

/// An indicator value, its text borrowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueRef<'a> {
    Int(i64),
    Bool(bool),
    Text(Cow<'a, str>),
}

impl ValueRef<'_> {
    /// How the value reads in Vietnamese: the same as `Value::display`.
    pub fn display(&self) -> Cow<'_, str> {
        match self {
            ValueRef::Int(n) => group_thousands(*n).into(),
            ValueRef::Bool(true) => "Có".into(),
            ValueRef::Bool(false) => "Không".into(),
            ValueRef::Text(text) => Cow::Borrowed(text),
        }
    }
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(value: &'a Value) -> ValueRef<'a> {
        match value {
            Value::Int(n) => ValueRef::Int(*n),
            Value::Bool(b) => ValueRef::Bool(*b),
            Value::Text(text) => ValueRef::Text(Cow::Borrowed(text)),
        }
    }
}

impl ValueRef<'_> {
    /// The same value, borrowing from this one.
    fn reborrow(&self) -> ValueRef<'_> {
        match self {
            ValueRef::Int(n) => ValueRef::Int(*n),
            ValueRef::Bool(b) => ValueRef::Bool(*b),
            ValueRef::Text(text) => ValueRef::Text(Cow::Borrowed(text)),
        }
    }
}

impl ViewValues<'_> {
    /// The value of indicator `code`, if the version has one.
    pub fn get(&self, code: &str) -> Option<ValueRef<'_>> {
        match self {
            ViewValues::Map(map) => map.get(code).map(ValueRef::from),
            ViewValues::Read(pairs) => {
                let at = pairs.binary_search_by(|(c, _)| (**c).cmp(code)).ok()?;
                Some(pairs[at].1.reborrow())
            }
        }
    }

    /// The values of the codes of `columns`, in the columns' order (missing: `None`), into
    /// `out`. Both sides are sorted by code, so this is one merge pass rather than a
    /// search per column: an export does it for every row.
    pub fn aligned<'s>(&'s self, columns: &Columns<'_>, out: &mut Vec<Option<ValueRef<'s>>>) {
        out.clear();
        out.resize(columns.width, None);
        let sorted = &columns.sorted;
        let mut j = 0;
        let mut place = |code: &str, value: ValueRef<'s>| {
            while let Some((want, column)) = sorted.get(j) {
                match (*want).cmp(code) {
                    std::cmp::Ordering::Less => j += 1,
                    std::cmp::Ordering::Equal => {
                        out[*column] = Some(value.clone());
                        j += 1;
                    }
                    std::cmp::Ordering::Greater => break,
                }
            }
        };
        match self {
            ViewValues::Map(map) => map.iter().for_each(|(code, value)| place(code, value.into())),
            ViewValues::Read(pairs) => {
                pairs.iter().for_each(|(code, value)| place(code, value.reborrow()))
            }
        }
    }
}

/// Indicator codes in column order, kept sorted for `ViewValues::aligned`.
pub struct Columns<'c> {
    /// (code, column), ascending by code.
    sorted: Vec<(&'c str, usize)>,
    width: usize,
}

impl<'c> Columns<'c> {
    pub fn new(codes: impl IntoIterator<Item = &'c str>) -> Columns<'c> {
        let mut sorted: Vec<(&str, usize)> =
            codes.into_iter().enumerate().map(|(column, code)| (code, column)).collect();
        let width = sorted.len();
        sorted.sort();
        Columns { sorted, width }
    }
}

impl ReportVersion {
    /// This version as the exports read it (no copy).
    pub fn view(&self) -> VersionView<'_> {
        VersionView {
            team: self.team,
            report: Cow::Borrowed(&self.report),
            period: self.period,
            version: self.version,
            definition: Cow::Borrowed(&self.definition),
            values: ViewValues::Map(&self.values),
            submitted_by: Cow::Borrowed(&self.submitted_by),
            submitted_at: self.submitted_at,
            on_time: self.on_time,
            source_event: Cow::Borrowed(&self.source_event),
            withdrawn_at: self.withdrawn_at,
        }
    }
}

/// A string that borrows from the input when it can (no escapes in it).
struct BorrowedStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for BorrowedStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = BorrowedStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// Like `Value`'s hand-written `Deserialize` (integer, boolean or string), borrowing text.
impl<'de: 'a, 'a> Deserialize<'de> for ValueRef<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = ValueRef<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer, a boolean or a string")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(ValueRef::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v).map(ValueRef::Int).map_err(|_| E::custom("integer too large"))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(ValueRef::Bool(v))
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(ValueRef::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ValueRef::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(ValueRef::Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Reads the `values` object into pairs sorted by code. `ReportVersion` writes them from a
/// `BTreeMap`, so they come sorted and this only checks; anything else is sorted here,
/// and a repeated code keeps its last value, as reading into a `BTreeMap` would.
impl<'de: 'a, 'a> Deserialize<'de> for ViewValues<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = ViewValues<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of indicator values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs: Vec<(Cow<'de, str>, ValueRef<'de>)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(24));
                while let Some((BorrowedStr(code), value)) = map.next_entry()? {
                    pairs.push((code, value));
                }
                if !pairs.windows(2).all(|w| w[0].0 < w[1].0) {
                    // Stable, then the last of each run of equal codes wins.
                    pairs.sort_by(|a, b| a.0.cmp(&b.0));
                    let mut kept: Vec<(Cow<'de, str>, ValueRef<'de>)> =
                        Vec::with_capacity(pairs.len());
                    for pair in pairs {
                        match kept.last_mut() {
                            Some(last) if last.0 == pair.0 => *last = pair,
                            _ => kept.push(pair),
                        }
                    }
                    pairs = kept;
                }
                Ok(ViewValues::Read(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(values: &str) -> String {
        format!(
            r#"{{"team":3,"report":"thang","period":"2026-10","version":2,"definition":"v1","values":{values},"submitted_by":"u1","submitted_at":1793000000,"on_time":true,"source_event":"m:1","withdrawn_at":null}}"#
        )
    }

    #[test]
    fn a_view_reads_what_the_owned_version_reads() {
        let cases = [
            r#"{"A":1,"B":true,"C":"có"}"#,
            // Escapes: the text is copied, not borrowed, and reads the same.
            r#"{"A":-5,"C":"\"x\"\n\u0001"}"#,
            // Not in order, a code twice: sorted, and the last value wins (as a map reads it).
            r#"{"C":"c","A":1,"B":false,"A":2}"#,
            "{}",
        ];
        for values in cases {
            let json = stored(values);
            let owned: ReportVersion = serde_json::from_str(&json).unwrap();
            let view: VersionView<'_> = serde_json::from_str(&json).unwrap();
            assert_eq!(
                (view.team, &*view.report, view.period, view.version, &*view.definition),
                (owned.team, &*owned.report, owned.period, owned.version, &*owned.definition)
            );
            assert_eq!(
                (&*view.submitted_by, view.submitted_at, view.on_time, view.withdrawn_at),
                (&*owned.submitted_by, owned.submitted_at, owned.on_time, owned.withdrawn_at)
            );
            for code in ["A", "B", "C", "D"] {
                assert_eq!(
                    view.values.get(code),
                    owned.values.get(code).map(ValueRef::from),
                    "{values} {code}"
                );
            }
            let columns = Columns::new(["C", "D", "A", "B"]);
            let (mut read, mut map) = (Vec::new(), Vec::new());
            view.values.aligned(&columns, &mut read);
            let owned_view = owned.view();
            owned_view.values.aligned(&columns, &mut map);
            assert_eq!(read, map, "{values}");
            assert_eq!(read[0], view.values.get("C"));
            assert_eq!(read[2], view.values.get("A"));
        }
        for bad in [r#"{"A":1.5}"#, r#"{"A":null}"#, r#"[1]"#] {
            assert!(serde_json::from_str::<VersionView<'_>>(&stored(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_display_as_owned_values_do() {
        for value in
            [Value::Int(1234567), Value::Bool(true), Value::Bool(false), Value::Text("x".into())]
        {
            assert_eq!(ValueRef::from(&value).display(), value.display());
        }
    }
}
