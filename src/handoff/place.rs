//! Finding the citizen's village (or commune) from what they typed: no diacritics,
//! partial names, aliases from the units file, "thôn …, xã …" in one line.

use crate::reports::model::{Unit, UnitLevel};

/// Kind words dropped before comparing ("Thôn Phú An" and "phu an" are the same place).
const KIND_WORDS: &[&str] = &[
    "to dan pho",
    "khu pho",
    "tdp",
    "thon",
    "xa",
    "phuong",
    "ban",
    "ap",
    "khom",
    "buon",
    "dac khu",
    "p",
    "o",
    "tai",
    "toi",
    "minh",
];

/// Normalised words: folded, punctuation as spaces, kind words removed.
pub fn normalise(text: &str) -> String {
    let folded: String = crate::vntext::unmark(text)
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words: Vec<&str> = folded.split_whitespace().collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    let mut i = 0;
    'outer: while i < words.len() {
        for kind in KIND_WORDS {
            let kind_words: Vec<&str> = kind.split(' ').collect();
            if words[i..].starts_with(&kind_words) && words.len() > kind_words.len() {
                i += kind_words.len();
                continue 'outer;
            }
        }
        out.push(words[i]);
        i += 1;
    }
    words.clear();
    out.join(" ")
}

/// The units a citizen can name, with their normalised names, built once per lookup set.
pub struct PlaceIndex {
    entries: Vec<Entry>,
}

struct Entry {
    code: String,
    parent: Option<String>,
    level: UnitLevel,
    names: Vec<String>,
}

/// What a typed place matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceMatch {
    One(String),
    /// Several, best first (at most `limit`).
    Many(Vec<String>),
    None,
}

impl PlaceIndex {
    /// Villages and communes of `units` (provinces are too wide to route to).
    pub fn new(units: &[Unit]) -> PlaceIndex {
        let entries = units
            .iter()
            .filter(|u| u.valid_to.is_none() && u.level() != UnitLevel::Province)
            .map(|u| {
                let mut names: Vec<String> = std::iter::once(&u.name)
                    .chain(&u.aliases)
                    .map(|n| normalise(n))
                    .filter(|n| !n.is_empty())
                    .collect();
                names.dedup();
                Entry { code: u.code.clone(), parent: u.parent.clone(), level: u.level(), names }
            })
            .collect();
        PlaceIndex { entries }
    }

    /// Best matches for `typed`: exact name, then whole name inside the text, then the
    /// text as the start of a name's word (≥ 3 letters). A village and its commune
    /// matched together mean the village.
    pub fn find(&self, typed: &str, limit: usize) -> PlaceMatch {
        let query = normalise(typed);
        if query.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
            return PlaceMatch::None;
        }
        let padded_query = format!(" {query} ");
        let mut scored: Vec<(u8, usize)> = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            let score = e
                .names
                .iter()
                .map(|n| {
                    if *n == query {
                        3
                    } else if n.len() >= 3 && padded_query.contains(&format!(" {n} ")) {
                        2
                    } else if query.len() >= 3
                        && (n.starts_with(&query) || n.contains(&format!(" {query}")))
                    {
                        1
                    } else {
                        0
                    }
                })
                .max()
                .unwrap_or(0);
            if score > 0 {
                scored.push((score, i));
            }
        }
        let Some(best) = scored.iter().map(|(s, _)| *s).max() else { return PlaceMatch::None };
        let top: Vec<&Entry> =
            scored.iter().filter(|(s, _)| *s == best).map(|(_, i)| &self.entries[*i]).collect();
        // A commune matched together with one of its villages: the village is meant.
        let villages_in_matched_communes: Vec<&Entry> = top
            .iter()
            .copied()
            .filter(|e| {
                e.level == UnitLevel::Village
                    && top.iter().any(|c| Some(&c.code) == e.parent.as_ref())
            })
            .collect();
        let chosen = if best < 2 || villages_in_matched_communes.is_empty() {
            top
        } else {
            villages_in_matched_communes
        };
        match chosen.as_slice() {
            [one] => PlaceMatch::One(one.code.clone()),
            many => PlaceMatch::Many(many.iter().take(limit).map(|e| e.code.clone()).collect()),
        }
    }
}

/// Whether an answer to "where do you live" is the citizen's request instead ("tôi muốn
/// nhờ tổ đến nhà hướng dẫn"): a word of asking or needing that no place name has.
pub fn reads_as_a_request(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "toi", "tui", "minh", "em", "chau", "muon", "can", "nho", "giup", "huong", "cach", "sao",
        "khong", "duoc", "hoi", "cai", "vneid", "dang", "lam", "bi", "ai",
    ];
    let unmarked = crate::vntext::unmark(text);
    unmarked.split(|c: char| !c.is_alphanumeric()).filter(|w| WORDS.contains(w)).count() >= 2
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_request_is_told_from_a_place_name() {
        let cases = [
            ("tôi muốn nhờ tổ đến nhà hướng dẫn", true),
            ("lam sao de cai vneid", true),
            ("em cần giúp đăng ký tài khoản", true),
            ("thôn Phú An, xã Phú Vinh", false),
            ("phu an", false),
            ("tổ dân phố Lang Xá Cồn phường Thanh Thủy", false),
            ("hà nội", false),
            ("Đăng Hà", false),
        ];
        for (text, want) in cases {
            assert_eq!(reads_as_a_request(text), want, "{text:?}");
        }
    }

    use super::*;
    use crate::reports::model::UnitKind;

    pub(crate) fn example_units() -> Vec<Unit> {
        let u = |code: &str, name: &str, kind, parent: Option<&str>, aliases: &[&str]| Unit {
            code: code.into(),
            name: name.into(),
            kind,
            parent: parent.map(Into::into),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            valid_from: None,
            valid_to: None,
            replaced_by: None,
        };
        vec![
            u("46", "Huế", UnitKind::ThanhPho, None, &[]),
            u("19900", "Thanh Thủy", UnitKind::Phuong, Some("46"), &["P. Thanh Thủy"]),
            u("19900-01", "Lang Xá Cồn", UnitKind::ToDanPho, Some("19900"), &["TDP Lang Xá Cồn"]),
            u("19900-02", "Dạ Lê", UnitKind::ToDanPho, Some("19900"), &[]),
            u("20000", "Phú Vinh", UnitKind::Xa, Some("46"), &[]),
            u("20000-01", "Phú An", UnitKind::Thon, Some("20000"), &["Thôn Phú An"]),
            u("20000-02", "Vinh Xuân", UnitKind::Thon, Some("20000"), &[]),
            u("20000-03", "Bản A Roàng", UnitKind::Thon, Some("20000"), &["A Roàng"]),
        ]
    }

    #[test]
    fn typed_places_table() {
        let index = PlaceIndex::new(&example_units());
        let one = |c: &str| PlaceMatch::One(c.into());
        let cases = [
            ("phu an", one("20000-01")),
            ("Thôn Phú An", one("20000-01")),
            ("thon phu an xa phu vinh", one("20000-01")),
            ("toi o phu an, phu vinh", one("20000-01")),
            ("lang xa", one("19900-01")),
            ("TDP Lang Xá Cồn", one("19900-01")),
            ("da le", one("19900-02")),
            ("a roang", one("20000-03")),
            ("phu vinh", one("20000")),
            ("phu", PlaceMatch::Many(vec!["20000".into(), "20000-01".into()])),
            ("hue", PlaceMatch::None),
            ("x", PlaceMatch::None),
            ("ha noi", PlaceMatch::None),
        ];
        for (typed, want) in cases {
            assert_eq!(index.find(typed, 5), want, "{typed}");
        }
    }

    #[test]
    fn normalise_drops_kind_words_but_keeps_a_lone_word() {
        assert_eq!(normalise("Thôn Phú An"), "phu an");
        assert_eq!(normalise("Tổ dân phố Dạ Lê"), "da le");
        assert_eq!(normalise("xã"), "xa");
    }
}
