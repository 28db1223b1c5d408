//! The validated dialog set the engine runs: every jump resolved, every node with a way forward.
//!
//! A `DialogSet` can only be built by `load`, so the engine never meets a dangling jump
//! (it still never indexes blindly: a stale session may name a node that is gone).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::date::Date;
use super::intents::Intents;
use super::lexicon::Lexicon;
use super::triggers::Triggers;

/// The maps the engine reads on every step (node lookups, the free-text vocabulary, the
/// lexicon): keys are short strings, and std's SipHash cost more than the lookups around
/// it. foldhash (already in the dependency tree through hashbrown) is several times faster;
/// its seed is still random per process, and these maps are filled from admin files only
/// (users' words are looked up, never inserted), so collision floods are not a concern.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// A jump target, resolved: the dialog and node both exist in the set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub dialog: String,
    pub node: String,
}

/// A loaded, validated set of dialogs (one version of `dialogs/`).
#[derive(Debug, Clone)]
pub struct DialogSet {
    pub(crate) version: String,
    pub(crate) dialogs: BTreeMap<String, Dialog>,
    pub(crate) main: String,
    pub(crate) facts: BTreeMap<String, Fact>,
    pub(crate) triggers: Triggers,
    pub(crate) stale_facts: Vec<StaleFact>,
    /// Local facts still holding the shipped example value (`placeholder = true`).
    pub(crate) placeholders: Vec<String>,
    /// One keyword per dialog as written, for the help text.
    pub(crate) hints: Vec<String>,
    /// Shorthand and misspellings (`dialogs/_lexicon.toml`).
    pub(crate) lexicon: Lexicon,
    /// The free-text index over examples, keywords and button labels.
    pub(crate) intents: Intents,
    /// A short human name per node, for ask-back buttons.
    pub(crate) labels: FastMap<Target, String>,
}

impl DialogSet {
    /// Content hash of the files this set was loaded from (sessions pin it).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Dialog ids and titles, sorted by id.
    pub fn dialogs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.dialogs.values().map(|dialog| (dialog.id.as_str(), dialog.title.as_str()))
    }

    pub fn node_count(&self) -> usize {
        self.dialogs.values().map(|dialog| dialog.nodes.len()).sum()
    }

    /// Every node, as targets, sorted (for coverage reports).
    pub fn all_nodes(&self) -> Vec<Target> {
        let mut all: Vec<Target> = self
            .dialogs
            .values()
            .flat_map(|dialog| {
                dialog
                    .nodes
                    .keys()
                    .map(|node| Target { dialog: dialog.id.clone(), node: node.clone() })
            })
            .collect();
        all.sort();
        all
    }

    /// Facts and fact-stating nodes whose review date has passed at load time.
    pub fn stale_facts(&self) -> &[StaleFact] {
        &self.stale_facts
    }

    /// Local facts (`_local.toml`, `_facts.toml`) still marked `placeholder = true`, as
    /// `name (file)`: a live service must not show them to citizens.
    pub fn placeholders(&self) -> &[String] {
        &self.placeholders
    }

    /// True if `dialog:node` is where the main menu greeting rests (its start, or a node its
    /// start reaches by `goto`): a conversation there has nothing in progress.
    pub fn is_main_menu(&self, dialog: &str, node: &str) -> bool {
        // `main_start()`, borrowed: this runs on every step that shows a node.
        let (mut at_dialog, mut at_node) = match self.dialogs.get(&self.main) {
            Some(main) => (main.id.as_str(), main.start.as_str()),
            None => (self.main.as_str(), ""),
        };
        for _ in 0..super::engine::MAX_MESSAGES_PER_STEP {
            if at_dialog == dialog && at_node == node {
                return true;
            }
            match self.node(at_dialog, at_node).and_then(|n| n.goto.as_ref()) {
                Some(next) => (at_dialog, at_node) = (&next.dialog, &next.node),
                None => return false,
            }
        }
        false
    }

    /// True if `dialog` is an urgent (danger) dialog.
    pub fn is_urgent(&self, dialog: &str) -> bool {
        self.dialogs.get(dialog).is_some_and(|d| d.urgent)
    }

    /// How free text is understood, for `check --explain`: the normalized words, then the
    /// best danger and ordinary candidates as `dialog:node score confidence`.
    pub fn explain(&self, text: &str) -> String {
        let query = self.intents.query(&self.lexicon, text);
        let mut out = format!("[{}]", query.joined());
        for c in self.intents.explain(&query) {
            let mark = if c.urgent { "!" } else { "" };
            out.push_str(&format!(
                " {mark}{}:{} {:.2}/{:.2}",
                c.target.dialog, c.target.node, c.score, c.confidence
            ));
        }
        out
    }

    /// The short name of a node shown on ask-back buttons.
    pub(crate) fn label_of(&self, target: &Target) -> String {
        self.labels.get(target).cloned().unwrap_or_else(|| target.node.replace('_', " "))
    }

    pub(crate) fn node(&self, dialog: &str, node: &str) -> Option<&Node> {
        self.dialogs.get(dialog)?.nodes.get(node)
    }

    pub(crate) fn start_of(&self, dialog: &str) -> Option<Target> {
        let dialog = self.dialogs.get(dialog)?;
        Some(Target { dialog: dialog.id.clone(), node: dialog.start.clone() })
    }

    pub(crate) fn main_start(&self) -> Target {
        self.start_of(&self.main)
            .unwrap_or_else(|| Target { dialog: self.main.clone(), node: String::new() })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Dialog {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) start: String,
    pub(crate) nodes: FastMap<String, Node>,
    /// `urgent = true`: danger intents, answered before anything else.
    pub(crate) urgent: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) say: String,
    pub(crate) image: Option<String>,
    pub(crate) choices: Vec<Choice>,
    pub(crate) links: Vec<(String, String)>,
    pub(crate) calls: Vec<(String, String)>,
    pub(crate) goto: Option<Target>,
    pub(crate) end: bool,
    pub(crate) ask: Option<Ask>,
    /// "Bước i/n" when the node is listed in a sequence.
    pub(crate) step: Option<(usize, usize)>,
    /// The node's `verified` date: a fact-stating answer ends with "Thông tin cập nhật tháng …".
    pub(crate) verified: Option<Date>,
    /// The node rests (no `goto`) and none of its buttons leads back (to an earlier step of its
    /// dialog, its start, or the main menu): a "Quay lại" button is added (set by `load`).
    pub(crate) auto_back: bool,
    /// Example phrasings and keywords as written (NFC), for free-text matching.
    pub(crate) examples: Vec<String>,
    /// Indexed from the raw file (with spans for diagnostics); kept for tools and tests.
    #[allow(dead_code)]
    pub(crate) keywords: Vec<String>,
    /// What the service does when this node is shown (carried out by the caller).
    pub(crate) action: Option<Action>,
}

/// A service action a node may request (`action = "…"` in a dialog file). The engine
/// only reports it in [`super::Step::action`]; the service carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Connect the citizen with a person of their local team (`crate::handoff`).
    Handoff,
}

impl Action {
    /// The spellings accepted in dialog files.
    pub const NAMES: &'static [(&'static str, Action)] = &[("handoff", Action::Handoff)];

    pub fn parse(name: &str) -> Option<Action> {
        Action::NAMES.iter().find(|(n, _)| *n == name.trim()).map(|(_, a)| *a)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub(crate) label: String,
    pub(crate) target: Target,
    /// `text::fold_case(label)`, for the exact tier.
    pub(crate) exact: String,
    /// `text::fold(label)`, for the diacritic-insensitive tier.
    pub(crate) folded: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Ask {
    pub(crate) kind: AskKind,
    pub(crate) save: Option<String>,
    pub(crate) next: Option<Target>,
    pub(crate) yes: Option<Target>,
    pub(crate) no: Option<Target>,
    pub(crate) retry: Option<String>,
    pub(crate) tries: u32,
    pub(crate) fallback: Option<Target>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AskKind {
    Number { min: Option<f64>, max: Option<f64> },
    Text,
    YesNo,
    Phone,
    Date,
}

#[derive(Debug, Clone)]
pub(crate) struct Fact {
    pub(crate) value: String,
}

/// A fact (or a node stating facts) that is past its review date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleFact {
    /// `fact tong_dai_156` or `dvc:buoc_3`.
    pub what: String,
    pub file: String,
    pub verified: Date,
    pub review_days: u32,
    pub source: Option<String>,
}
