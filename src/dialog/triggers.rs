//! Keyword triggers, indexed so that matching stays cheap with hundreds of keywords.
//!
//! Every step that is not a choice or an answer checks the keywords, so a linear scan over all
//! of them would dominate the engine's cost. Keywords whose first word is short must match that
//! word exactly (no typo tolerance below 5 letters), so they are found through a map from first
//! word; only keywords starting with a long word are scanned.

use super::model::FastMap;
use super::text;

#[derive(Debug, Clone, Default)]
pub(crate) struct Triggers {
    /// (folded phrase, dialog id), longest phrase first.
    phrases: Vec<(String, String)>,
    /// First word → indices into `phrases`, for phrases whose first word must match exactly.
    by_first_word: FastMap<String, Vec<usize>>,
    /// Phrases whose first word tolerates a typo: always checked.
    fuzzy_first: Vec<usize>,
}

impl Triggers {
    /// `phrases` are folded keywords with their dialog ids.
    pub(crate) fn new(mut phrases: Vec<(String, String)>) -> Triggers {
        // Longest phrase first, so "lua dao qua mang" wins over "lua dao".
        phrases.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        let mut by_first_word: FastMap<String, Vec<usize>> = FastMap::default();
        let mut fuzzy_first = Vec::new();
        for (index, (phrase, _)) in phrases.iter().enumerate() {
            let first = phrase.split(' ').next().unwrap_or_default();
            if first.chars().count() >= text::TYPO_MIN_WORD_CHARS {
                fuzzy_first.push(index);
            } else {
                by_first_word.entry(first.to_owned()).or_default().push(index);
            }
        }
        Triggers { phrases, by_first_word, fuzzy_first }
    }

    /// Dialogs whose keyword occurs in the folded text as whole words (or, with `whole_input`,
    /// is the whole text), longest keyword first, each dialog once; a keyword found only as a
    /// part of a longer matching keyword does not count.
    pub(crate) fn matching(&self, folded: &str, whole_input: bool) -> Vec<&str> {
        let mut candidates = self.fuzzy_first.clone();
        for word in folded.split(' ') {
            if let Some(indices) = self.by_first_word.get(word) {
                candidates.extend_from_slice(indices);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let hits: Vec<&(String, String)> = candidates
            .iter()
            .filter_map(|i| self.phrases.get(*i))
            .filter(|(phrase, _)| {
                if whole_input {
                    text::phrase_matches(phrase, folded)
                } else {
                    text::contains_phrase(folded, phrase)
                }
            })
            .collect();
        let mut dialogs: Vec<&str> = Vec::new();
        for (phrase, dialog) in &hits {
            // "lua dao qua mang" found: the shorter "lua dao" inside it is not a second topic.
            let inside_longer = hits.iter().any(|(longer, _)| {
                longer.len() > phrase.len() && text::contains_phrase(longer, phrase)
            });
            if !inside_longer && !dialogs.contains(&dialog.as_str()) {
                dialogs.push(dialog);
            }
        }
        dialogs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_table() {
        let triggers = Triggers::new(
            [
                ("lua dao", "bao_ve"),
                ("lua dao qua mang", "mang"),
                ("vneid", "dvc"),
                ("dvc", "dvc"),
                ("mua hang", "mua"),
            ]
            .map(|(p, d)| (p.to_owned(), d.to_owned()))
            .to_vec(),
        );
        let cases: &[(&str, bool, &[&str])] = &[
            ("bi lua dao qua mang", false, &["mang"]),
            ("lua dao qua mang va vneid", false, &["mang", "dvc"]),
            ("lua dao", false, &["bao_ve"]),
            ("tao vnied", false, &["dvc"]),
            ("dvc va vneid", false, &["dvc"]),
            ("dcv", false, &[]),
            ("muon mua hang", false, &["mua"]),
            ("muon mua hang", true, &[]),
            ("mua hang", true, &["mua"]),
            ("", false, &[]),
        ];
        for (text, whole, expected) in cases {
            assert_eq!(triggers.matching(text, *whole), *expected, "{text:?} whole={whole}");
        }
    }
}
