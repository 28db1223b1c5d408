//! From file contents to a validated [`DialogSet`] plus every problem found.
//!
//! Admin files are parsed strictly (`format.rs`) and then compiled: jumps resolved, list
//! dialogs expanded, sequences numbered, and everything an admin can get wrong reported with
//! its file:line:column. Loading never stops at the first problem; a set is returned only when
//! there is no error (warnings are allowed). Pure: the caller reads the files and passes `today`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use sha2::{Digest, Sha256};
use toml::Spanned;

use super::date::Date;
use super::diagnostic::{Code, Diagnostic, LineIndex, Severity, did_you_mean};
use super::engine::UNIVERSAL_WORDS;
use super::facts::compile_facts;
use super::format::{RawDialog, RawFacts, RawLexicon};
use super::intents::{Intents, Phrase, Source};
use super::lexicon::{self, Lexicon};
use super::list::expand_list;
use super::model::{DialogSet, FastMap, FastSet, Target};
use super::nodes::NodeCompiler;
use super::strict::parse_strict;
use super::text;
use super::triggers::Triggers;

pub use crate::reply::{MAX_BUTTONS, MAX_TEXT_CHARS};
/// Longer texts are hard to read on a phone; a warning, not an error.
pub const LONG_TEXT_CHARS: usize = 500;
/// List dialogs show this many items per page, leaving room for "Xem thêm" and "Menu chính".
pub const LIST_PAGE_SIZE: usize = 3;
/// One step (a node and its `goto` chain) sends at most this many messages…
pub const MAX_STEP_MESSAGES: usize = 2;
/// …of at most this many characters in all, as the citizen reads them.
pub const MAX_STEP_CHARS: usize = 600;
/// Review interval in days for facts that set no `review_days`, when nothing else is
/// configured: the one default behind `LoadOptions`, `RegistryOptions`, `check --review-days`
/// (and `dialogs.review_days` in `config/default.toml`).
pub const DEFAULT_REVIEW_DAYS: u32 = 180;
/// Settings that influence validation.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Today's date, for "fact past its review date" warnings; `None` skips that check.
    pub today: Option<Date>,
    /// Review interval for facts that do not set `review_days`.
    pub review_days: u32,
    /// Facts still marked `placeholder = true` are errors (`check --strict`).
    pub strict: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions { today: None, review_days: DEFAULT_REVIEW_DAYS, strict: false }
    }
}

/// The result of [`load`]: the set when there are no errors, and every diagnostic.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub set: Option<DialogSet>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }
}

/// A source file: the path as it should be printed (e.g. `dialogs/dvc.toml`) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub contents: String,
}

/// Collects diagnostics, turning byte spans into line:column.
pub(crate) struct Sink<'a> {
    files: Vec<(&'a str, LineIndex<'a>)>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(files: &'a [SourceFile]) -> Sink<'a> {
        let files = files.iter().map(|f| (f.path.as_str(), LineIndex::new(&f.contents))).collect();
        Sink { files, diagnostics: Vec::new() }
    }

    pub(crate) fn push(
        &mut self,
        file: usize,
        span: Range<usize>,
        severity: Severity,
        code: Code,
        message: String,
    ) {
        let (path, (line, column)) = match self.files.get(file) {
            Some((path, index)) => (path.to_string(), index.position(span.start)),
            None => ("dialogs".to_owned(), (1, 1)),
        };
        self.diagnostics.push(Diagnostic { severity, code, file: path, line, column, message });
    }

    pub(crate) fn error(&mut self, file: usize, span: Range<usize>, code: Code, message: String) {
        self.push(file, span, Severity::Error, code, message);
    }

    pub(crate) fn warning(&mut self, file: usize, span: Range<usize>, code: Code, message: String) {
        self.push(file, span, Severity::Warning, code, message);
    }

    /// The 1-based line of a byte offset in file number `file`.
    pub(crate) fn line_of(&self, file: usize, offset: usize) -> usize {
        self.files.get(file).map_or(1, |(_, index)| index.position(offset).0)
    }

    /// The printed path of file number `file`.
    pub(crate) fn path(&self, file: usize) -> String {
        self.files.get(file).map(|(path, _)| path.to_string()).unwrap_or_default()
    }

    fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Loads and validates a set of dialog files (`*.toml`; `_facts.toml` holds shared facts and
/// `_local.toml` the locality's own facts (province, OA, hotline, local apps, team contacts);
/// other files starting with `_` and files not ending in `.toml` are ignored).
pub fn load(files: &[SourceFile], options: &LoadOptions) -> Loaded {
    let mut sink = Sink::new(files);
    let mut raw_dialogs: Vec<(usize, String, RawDialog)> = Vec::new();
    let mut raw_facts: Vec<(usize, RawFacts)> = Vec::new();
    let mut raw_lexicon: Option<(usize, RawLexicon)> = None;
    // Dialogs whose file did not parse: jumps into them are not reported again.
    let mut unparsed: FastSet<String> = FastSet::default();
    for (file, source) in files.iter().enumerate() {
        let name = source.path.rsplit(['/', '\\']).next().unwrap_or(&source.path);
        let Some(stem) = name.strip_suffix(".toml") else { continue };
        if stem == "_facts" || stem == "_local" {
            if let Some(facts) = parse_strict::<RawFacts>(&mut sink, file, &source.contents) {
                raw_facts.push((file, facts));
            }
        } else if stem == "_lexicon" {
            raw_lexicon = parse_strict::<RawLexicon>(&mut sink, file, &source.contents)
                .map(|lexicon| (file, lexicon));
        } else if !stem.starts_with('_') {
            if !is_dialog_id(stem) {
                sink.error(
                    file,
                    0..0,
                    Code::BadId,
                    format!(
                        "tên tệp \"{name}\" không hợp lệ: chỉ dùng chữ thường không dấu, số, \"_\" hoặc \"-\""
                    ),
                );
            }
            match parse_strict::<RawDialog>(&mut sink, file, &source.contents) {
                Some(dialog) => raw_dialogs.push((file, stem.to_owned(), dialog)),
                None => {
                    unparsed.insert(stem.to_owned());
                }
            }
        }
    }
    if raw_dialogs.is_empty() && !sink.has_errors() {
        sink.error(usize::MAX, 0..0, Code::NoDialogs, "không có kịch bản nào (tệp *.toml)".into());
    }

    let compiled_facts = compile_facts(&mut sink, &raw_facts, options);
    let facts = compiled_facts.facts;
    let mut stale_facts = compiled_facts.stale;
    let placeholders = compiled_facts.placeholders;
    for (file, _, dialog) in &mut raw_dialogs {
        expand_list(&mut sink, *file, dialog);
    }
    let main = check_main(&mut sink, &raw_dialogs);
    let index = NodeIndex::new(&raw_dialogs, unparsed);
    let mut known_names: BTreeSet<String> = facts.keys().cloned().collect();
    known_names.extend(
        raw_dialogs
            .iter()
            .flat_map(|(_, _, dialog)| dialog.nodes.values())
            .filter_map(|node| node.ask.as_ref()?.save.as_ref())
            .map(|save| save.get_ref().clone()),
    );

    let mut compiler = NodeCompiler {
        sink: &mut sink,
        index: &index,
        known_names: &known_names,
        options,
        stale_facts: &mut stale_facts,
    };
    let mut dialogs = BTreeMap::new();
    for (file, id, raw) in &raw_dialogs {
        dialogs.insert(id.clone(), compiler.dialog(*file, id, raw));
    }
    let triggers = check_keywords(&mut sink, &raw_dialogs);
    let lexicon = match &raw_lexicon {
        Some((file, raw)) => lexicon::compile(&mut sink, *file, raw),
        None => Lexicon::default(),
    };
    let phrases = check_examples(&mut sink, &raw_dialogs, &dialogs, &index, &lexicon);
    let labels = node_labels(&dialogs);
    check_goto_chains(&mut sink, &raw_dialogs, &dialogs);
    check_reachability(&mut sink, &raw_dialogs, &dialogs, main.as_deref());
    check_way_back(&mut sink, &raw_dialogs, &mut dialogs, main.as_deref());
    check_step_length(&mut sink, &raw_dialogs, &dialogs, &facts);

    let set = match main {
        Some(main) if !sink.has_errors() => Some(DialogSet {
            intents: Intents::build(&phrases, &lexicon, &|dialog| {
                dialogs.get(dialog).is_some_and(|d| d.urgent)
            }),
            lexicon,
            labels,
            version: version_of(files),
            dialogs,
            main,
            facts,
            triggers: Triggers::new(triggers),
            stale_facts,
            placeholders,
            hints: raw_dialogs
                .iter()
                .filter(|(_, _, dialog)| !dialog.main)
                // Prefer a keyword written with diacritics: it reads better in the help text.
                .filter_map(|(_, _, dialog)| {
                    let written = |k: &&Spanned<String>| !k.get_ref().is_ascii();
                    dialog.keywords.iter().find(written).or(dialog.keywords.first())
                })
                .map(|keyword| format!("\"{}\"", keyword.get_ref()))
                .take(6)
                .collect(),
        }),
        _ => None,
    };
    let mut diagnostics = sink.diagnostics;
    diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    Loaded { set, diagnostics }
}

/// `[a-z0-9_-]+`.
fn is_dialog_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Short content hash of all files, in path order: the version sessions pin.
fn version_of(files: &[SourceFile]) -> String {
    let mut sorted: Vec<&SourceFile> = files.iter().filter(|f| f.path.ends_with(".toml")).collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut hasher = Sha256::new();
    for file in sorted {
        let name = file.path.rsplit(['/', '\\']).next().unwrap_or(&file.path);
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(file.contents.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    hex::encode(digest).chars().take(12).collect()
}

/// NFC and length checks for any text users read.
pub(crate) fn check_text(sink: &mut Sink<'_>, file: usize, value: &Spanned<String>, what: &str) {
    let s = value.get_ref();
    if !text::is_nfc(s) {
        sink.error(
            file,
            value.span(),
            Code::NotNfc,
            format!("{what}: chữ không ở dạng Unicode NFC (dấu gõ tách rời); hãy gõ lại bằng bộ gõ Unicode dựng sẵn"),
        );
    }
    let chars = s.chars().count();
    if chars > MAX_TEXT_CHARS {
        sink.error(
            file,
            value.span(),
            Code::TextTooLong,
            format!("{what}: dài {chars} ký tự, Zalo chỉ cho tối đa {MAX_TEXT_CHARS}"),
        );
    } else if chars > LONG_TEXT_CHARS {
        sink.warning(
            file,
            value.span(),
            Code::TextLong,
            format!("{what}: dài {chars} ký tự, nên giữ dưới {LONG_TEXT_CHARS} để dễ đọc trên điện thoại"),
        );
    }
}

/// Exactly one dialog has `main = true`.
fn check_main(sink: &mut Sink<'_>, dialogs: &[(usize, String, RawDialog)]) -> Option<String> {
    let mains: Vec<&(usize, String, RawDialog)> =
        dialogs.iter().filter(|(_, _, d)| d.main).collect();
    match mains.as_slice() {
        [(_, id, _)] => Some(id.clone()),
        [] => {
            if let Some((file, _, _)) = dialogs.first() {
                sink.error(
                    *file,
                    0..0,
                    Code::MainMenu,
                    "chưa có kịch bản nào đặt main = true (menu chính)".into(),
                );
            }
            None
        }
        [_, rest @ ..] => {
            for (file, id, _) in rest {
                sink.error(
                    *file,
                    0..0,
                    Code::MainMenu,
                    format!("kịch bản \"{id}\" cũng đặt main = true; chỉ một kịch bản được là menu chính"),
                );
            }
            None
        }
    }
}

/// Which node ids exist in which dialog, for resolving jumps before nodes are compiled.
pub(crate) struct NodeIndex {
    dialogs: FastMap<String, (String, FastSet<String>)>,
    main: Option<String>,
    unparsed: FastSet<String>,
}

impl NodeIndex {
    fn new(dialogs: &[(usize, String, RawDialog)], unparsed: FastSet<String>) -> NodeIndex {
        let main = dialogs.iter().find(|(_, _, d)| d.main).map(|(_, id, _)| id.clone());
        let dialogs = dialogs
            .iter()
            .map(|(_, id, raw)| {
                let start = raw.start.as_ref().map(|s| s.get_ref().clone()).unwrap_or_default();
                let nodes = raw.nodes.keys().map(|k| k.get_ref().clone()).collect();
                (id.clone(), (start, nodes))
            })
            .collect();
        NodeIndex { dialogs, main, unparsed }
    }

    /// True if `jump` names a dialog whose file had syntax errors (already reported).
    pub(crate) fn targets_unparsed(&self, jump: &str) -> bool {
        jump.split(':').next().is_some_and(|dialog| self.unparsed.contains(dialog))
    }

    /// Resolves `node`, `dialog:node`, `dialog` (its start) or `main`/`menu` (the main menu)
    /// from inside dialog `from`. The error is the message ending ("… không tồn tại (…?)").
    pub(crate) fn resolve(&self, from: &str, jump: &str) -> Result<Target, String> {
        let target =
            |dialog: &str, node: &str| Target { dialog: dialog.to_owned(), node: node.to_owned() };
        if let Some((dialog, node)) = jump.split_once(':') {
            let Some((_, nodes)) = self.dialogs.get(dialog) else {
                let suggestion = text::suggest(dialog, self.dialogs.keys().map(String::as_str));
                return Err(format!(
                    "kịch bản \"{dialog}\" không tồn tại{}",
                    did_you_mean(suggestion)
                ));
            };
            if nodes.contains(node) {
                return Ok(target(dialog, node));
            }
            let suggestion = text::suggest(node, nodes.iter().map(String::as_str))
                .map(|node| format!("{dialog}:{node}"));
            return Err(format!(
                "bước \"{node}\" không có trong kịch bản \"{dialog}\"{}",
                did_you_mean(suggestion.as_deref())
            ));
        }
        let own_nodes = self.dialogs.get(from).map(|(_, nodes)| nodes);
        if own_nodes.is_some_and(|nodes| nodes.contains(jump)) {
            return Ok(target(from, jump));
        }
        if let Some((start, _)) = self.dialogs.get(jump) {
            return Ok(target(jump, start));
        }
        if matches!(jump, "main" | "menu")
            && let Some(main) = &self.main
            && let Some((start, _)) = self.dialogs.get(main)
        {
            return Ok(target(main, start));
        }
        let candidates =
            own_nodes.into_iter().flatten().chain(self.dialogs.keys()).map(String::as_str);
        let suggestion = text::suggest(jump, candidates);
        Err(format!("\"{jump}\" không tồn tại{}", did_you_mean(suggestion)))
    }
}

/// Trigger keywords: folded, not empty, not a universal word, unique across the set.
fn check_keywords(
    sink: &mut Sink<'_>,
    dialogs: &[(usize, String, RawDialog)],
) -> Vec<(String, String)> {
    let mut seen: FastMap<String, String> = FastMap::default();
    let mut triggers = Vec::new();
    for (file, id, dialog) in dialogs {
        for keyword in &dialog.keywords {
            let folded = text::fold(keyword.get_ref());
            let problem = if folded.is_empty() {
                Some("từ khóa trống".to_owned())
            } else if folded.chars().all(|c| c.is_ascii_digit() || c == ' ') {
                Some(format!(
                    "từ khóa \"{}\" chỉ có số, sẽ lẫn với việc gõ số để chọn",
                    keyword.get_ref()
                ))
            } else if UNIVERSAL_WORDS.iter().any(|(word, _)| *word == folded) {
                Some(format!(
                    "từ khóa \"{}\" trùng với từ dùng chung (menu, quay lại, …)",
                    keyword.get_ref()
                ))
            } else {
                seen.get(&folded).map(|other| {
                    format!(
                        "từ khóa \"{}\" trùng với từ khóa của kịch bản \"{other}\" (so sánh không dấu, không phân biệt hoa thường)",
                        keyword.get_ref()
                    )
                })
            };
            match problem {
                Some(message) => {
                    let code = if seen.contains_key(&folded) {
                        Code::DuplicateKeyword
                    } else {
                        Code::BadValue
                    };
                    sink.error(*file, keyword.span(), code, message);
                }
                None => {
                    seen.insert(folded.clone(), id.clone());
                    triggers.push((folded, id.clone()));
                }
            }
        }
    }
    triggers
}

/// Examples and keywords of nodes (NFC, not empty, not repeated across nodes), dialog keywords
/// and button labels, as the phrases the free-text index is built from.
fn check_examples(
    sink: &mut Sink<'_>,
    raw: &[(usize, String, RawDialog)],
    dialogs: &BTreeMap<String, super::model::Dialog>,
    index: &NodeIndex,
    lexicon: &Lexicon,
) -> Vec<Phrase> {
    let mut phrases = Vec::new();
    // Normalized example → the node that has it, and where.
    let mut seen: FastMap<String, (Target, usize, usize)> = FastMap::default();
    for (file, id, dialog) in raw {
        for keyword in &dialog.keywords {
            if let Ok(target) = index.resolve(id, id) {
                phrases.push(Phrase {
                    target,
                    text: keyword.get_ref().clone(),
                    source: Source::Topic,
                    words: Vec::new(),
                });
            }
        }
        for (node_id, node) in &dialog.nodes {
            let target = Target { dialog: id.clone(), node: node_id.get_ref().clone() };
            let written = node
                .examples
                .iter()
                .map(|e| (e, Source::Example, "ví dụ"))
                .chain(node.keywords.iter().map(|k| (k, Source::Keyword, "từ khóa")));
            for (value, source, what) in written {
                check_text(sink, *file, value, what);
                let words = lexicon.normalize(value.get_ref());
                let normalized = words.join(" ");
                if normalized.is_empty() {
                    sink.error(
                        *file,
                        value.span(),
                        Code::BadValue,
                        format!("bước \"{}\": {what} trống (hoặc chỉ có từ bỏ qua)", target.node),
                    );
                    continue;
                }
                if let Some((other, other_file, offset)) = seen.get(&normalized) {
                    // The same phrase twice on one node (with and without diacritics): harmless.
                    if *other == target {
                        continue;
                    }
                    let (path, line) = (sink.path(*other_file), sink.line_of(*other_file, *offset));
                    let place = format!(
                        "trùng với bước \"{}:{}\" ({path}:{line})",
                        other.dialog, other.node
                    );
                    sink.warning(
                        *file,
                        value.span(),
                        Code::DuplicateExample,
                        format!("bước \"{}\": {what} \"{}\" {place}", target.node, value.get_ref()),
                    );
                    continue;
                }
                // Where it was seen; the line is worked out only for a duplicate.
                seen.insert(normalized, (target.clone(), *file, value.span().start));
                phrases.push(Phrase {
                    target: target.clone(),
                    text: value.get_ref().clone(),
                    source,
                    words,
                });
            }
        }
    }
    phrases.extend(label_phrases(dialogs));
    phrases
}

/// Button labels as weak phrases for the node they lead to. A label that leads to different
/// nodes from different places ("Tiếp theo", "Có") says nothing about either: skipped, as are
/// labels with placeholders and those leading to a dialog's start (its keywords do that).
fn label_phrases(dialogs: &BTreeMap<String, super::model::Dialog>) -> Vec<Phrase> {
    let mut by_label: BTreeMap<String, (String, BTreeSet<Target>)> = BTreeMap::new();
    for dialog in dialogs.values() {
        for node in dialog.nodes.values() {
            for choice in &node.choices {
                let starts_dialog = dialogs
                    .get(&choice.target.dialog)
                    .is_some_and(|d| d.start == choice.target.node);
                if choice.label.contains('{') || starts_dialog {
                    continue;
                }
                let entry = by_label
                    .entry(choice.folded.clone())
                    .or_insert_with(|| (choice.label.clone(), BTreeSet::new()));
                entry.1.insert(choice.target.clone());
            }
        }
    }
    by_label
        .into_values()
        .filter_map(|(label, targets)| {
            let mut targets = targets.into_iter();
            let target = targets.next()?;
            targets.next().is_none().then_some(Phrase {
                target,
                text: label,
                source: Source::Label,
                words: Vec::new(),
            })
        })
        .collect()
}

/// A short name per node for ask-back buttons: the dialog title for a start node, else the
/// first button label leading to it that names it alone, else the name of the node before
/// it with the step ("Nhận hàng, trả tiền (bước 2)"), else its first example.
///
/// A label that leads to several nodes of its dialog ("Bước tiếp", "Có", "Không") names
/// none of them: an ask-back of "[Bước tiếp] [Bước tiếp]" or "[Có]" asks nothing.
fn node_labels(dialogs: &BTreeMap<String, super::model::Dialog>) -> FastMap<Target, String> {
    // (name, step): step 1 is the name itself, step n is n - 1 generic buttons further on.
    let mut names: FastMap<Target, (String, u32)> = FastMap::default();
    for dialog in dialogs.values() {
        names.insert(
            Target { dialog: dialog.id.clone(), node: dialog.start.clone() },
            (dialog.title.clone(), 1),
        );
    }
    let mut ids: Vec<(&String, &super::model::Dialog)> = dialogs.iter().collect();
    ids.sort_by_key(|(id, _)| *id);
    // Every (node, choice) in a stable order, with whether its label names its target alone.
    let mut choices: Vec<(Target, &super::model::Choice, bool)> = Vec::new();
    for (_, dialog) in &ids {
        let mut targets_of: FastMap<&str, Vec<&Target>> = FastMap::default();
        for node in dialog.nodes.values() {
            for choice in &node.choices {
                let targets = targets_of.entry(choice.label.as_str()).or_default();
                if !targets.contains(&&choice.target) {
                    targets.push(&choice.target);
                }
            }
        }
        let mut nodes: Vec<(&String, &super::model::Node)> = dialog.nodes.iter().collect();
        nodes.sort_by_key(|(id, _)| *id);
        for (node_id, node) in nodes {
            let from = Target { dialog: dialog.id.clone(), node: node_id.clone() };
            for choice in &node.choices {
                let alone = targets_of.get(choice.label.as_str()).is_some_and(|t| t.len() == 1)
                    && !choice.label.contains('{');
                choices.push((from.clone(), choice, alone));
            }
        }
    }
    for (_, choice, alone) in &choices {
        if *alone {
            names.entry(choice.target.clone()).or_insert_with(|| (choice.label.clone(), 1));
        }
    }
    // Generic buttons: one more step after the node they are on, walked breadth first from
    // the nodes named so far (in a stable order), so each node gets its shortest step.
    let mut generic: FastMap<&Target, Vec<&Target>> = FastMap::default();
    for (from, choice, alone) in &choices {
        if !*alone {
            generic.entry(from).or_default().push(&choice.target);
        }
    }
    let mut queue: std::collections::VecDeque<Target> = {
        let mut named: Vec<Target> = names.keys().cloned().collect();
        named.sort();
        named.into()
    };
    while let Some(from) = queue.pop_front() {
        let Some((name, step)) = names.get(&from).cloned() else { continue };
        for target in generic.get(&from).into_iter().flatten() {
            if !names.contains_key(*target) {
                names.insert((*target).clone(), (name.clone(), step + 1));
                queue.push_back((*target).clone());
            }
        }
    }
    let mut labels: FastMap<Target, String> = names
        .into_iter()
        .map(|(target, (name, step))| {
            let label = if step == 1 { name } else { format!("{name} (bước {step})") };
            (target, label)
        })
        .collect();
    for (_, dialog) in &ids {
        for (node_id, node) in &dialog.nodes {
            if let Some(example) = node.examples.first() {
                labels
                    .entry(Target { dialog: dialog.id.clone(), node: node_id.clone() })
                    // Typed the way citizens type ("ok"): a capital like every other button.
                    .or_insert_with(|| crate::vntext::capitalise(example));
            }
        }
    }
    labels
}

/// `goto` chains send several messages in one step: at most 2, and never a cycle.
fn check_goto_chains(
    sink: &mut Sink<'_>,
    raw: &[(usize, String, RawDialog)],
    dialogs: &BTreeMap<String, super::model::Dialog>,
) {
    for (file, id, dialog) in raw {
        for (node_id, _) in dialog.nodes.iter().filter(|(_, node)| node.goto.is_some()) {
            let mut seen = vec![Target { dialog: id.clone(), node: node_id.get_ref().clone() }];
            let mut current = seen[0].clone();
            while let Some(next) = dialogs
                .get(&current.dialog)
                .and_then(|d| d.nodes.get(&current.node))
                .and_then(|n| n.goto.clone())
            {
                if seen.contains(&next) {
                    sink.error(
                        *file,
                        node_id.span(),
                        Code::GotoChain,
                        format!(
                            "bước \"{}\": các goto tạo thành vòng lặp (qua \"{}\")",
                            node_id.get_ref(),
                            next.node
                        ),
                    );
                    break;
                }
                seen.push(next.clone());
                current = next;
            }
            if seen.len() > MAX_STEP_MESSAGES {
                sink.error(
                    *file,
                    node_id.span(),
                    Code::GotoChain,
                    format!(
                        "bước \"{}\": chuỗi goto gửi {} tin liền nhau, tối đa là {MAX_STEP_MESSAGES}",
                        node_id.get_ref(),
                        seen.len()
                    ),
                );
            }
        }
    }
}

/// Every resting node (no `goto`) outside the main menu offers a way back as a button: a choice
/// to the main menu, or to a node of its own dialog closer to the dialog's start; `end` nodes
/// get the automatic "Menu chính" button. Otherwise the engine adds a "Quay lại" button
/// (`Node::auto_back`); a node whose 5 buttons leave no room for it is an error.
fn check_way_back(
    sink: &mut Sink<'_>,
    raw: &[(usize, String, RawDialog)],
    dialogs: &mut BTreeMap<String, super::model::Dialog>,
    main: Option<&str>,
) {
    for (file, id, raw_dialog) in raw {
        if Some(id.as_str()) == main {
            continue;
        }
        let Some(dialog) = dialogs.get_mut(id) else { continue };
        // Distance from the dialog's start over jumps that stay in the dialog.
        let mut depth: FastMap<String, usize> = FastMap::default();
        let mut queue = std::collections::VecDeque::from([(dialog.start.clone(), 0usize)]);
        while let Some((node_id, d)) = queue.pop_front() {
            if depth.contains_key(&node_id) {
                continue;
            }
            let Some(node) = dialog.nodes.get(&node_id) else { continue };
            depth.insert(node_id.clone(), d);
            let ask_targets = node.ask.iter().flat_map(|ask| {
                [&ask.next, &ask.yes, &ask.no, &ask.fallback].into_iter().flatten()
            });
            for next in node.choices.iter().map(|c| &c.target).chain(&node.goto).chain(ask_targets)
            {
                if next.dialog == *id && !depth.contains_key(&next.node) {
                    queue.push_back((next.node.clone(), d + 1));
                }
            }
        }
        for (node_id, node) in &mut dialog.nodes {
            if node.goto.is_some() {
                continue;
            }
            let own = depth.get(node_id).copied().unwrap_or(usize::MAX);
            let leads_back = |target: &Target| {
                Some(target.dialog.as_str()) == main
                    || (target.dialog == *id && depth.get(&target.node).is_some_and(|d| *d < own))
            };
            let answer_buttons = match &node.ask {
                Some(ask) if ask.kind == super::model::AskKind::YesNo => 2,
                _ => 0,
            };
            let buttons = node.choices.len() + node.links.len() + node.calls.len() + answer_buttons;
            let has_back = node.choices.iter().any(|c| leads_back(&c.target))
                || (node.end && buttons < MAX_BUTTONS);
            // More than 5 buttons is already reported (too_many_buttons).
            if has_back || buttons > MAX_BUTTONS {
                continue;
            }
            if buttons < MAX_BUTTONS {
                node.auto_back = true;
                continue;
            }
            let span = raw_dialog
                .nodes
                .keys()
                .find(|k| k.get_ref() == node_id)
                .map_or(0..0, Spanned::span);
            sink.error(
                *file,
                span,
                Code::NoWayBack,
                format!(
                    "bước \"{node_id}\": không có nút quay lại (về bước trước, về đầu mục hoặc về menu chính) và đã đủ {MAX_BUTTONS} nút nên không thêm nút \"Quay lại\" được; bớt một nút hoặc thay một nút bằng nút quay lại"
                ),
            );
        }
    }
}

/// A step (a node plus its `goto` chain) must stay short: at most [`MAX_STEP_MESSAGES`]
/// messages and [`MAX_STEP_CHARS`] characters as shown (facts filled in, step counter, as-of
/// line and the automatic "menu" hint counted; buttons not counted).
fn check_step_length(
    sink: &mut Sink<'_>,
    raw: &[(usize, String, RawDialog)],
    dialogs: &BTreeMap<String, super::model::Dialog>,
    facts: &BTreeMap<String, super::model::Fact>,
) {
    let shown_chars = |node: &super::model::Node| {
        let filled = text::fill(&node.say, |name| {
            Some(facts.get(name).map_or_else(|| "(chưa có)".to_owned(), |f| f.value.clone()))
        });
        let mut chars = filled.chars().count();
        if let Some((i, n)) = node.step {
            chars += format!("Bước {i}/{n}\n").chars().count();
        }
        if node.end && !text::contains_phrase(&text::fold(&node.say), "menu") {
            chars += "\n\nGõ \"menu\" để về menu chính.".chars().count();
        }
        chars
    };
    for (file, id, raw_dialog) in raw {
        for node_id in raw_dialog.nodes.keys() {
            let mut at = Target { dialog: id.clone(), node: node_id.get_ref().clone() };
            let mut chars = 0;
            let mut oldest: Option<super::date::Date> = None;
            for _ in 0..=MAX_STEP_MESSAGES {
                let Some(node) = dialogs.get(&at.dialog).and_then(|d| d.nodes.get(&at.node)) else {
                    break;
                };
                chars += shown_chars(node) + 2;
                oldest = match (oldest, node.verified) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                match &node.goto {
                    Some(next) => at = next.clone(),
                    None => break,
                }
            }
            if let Some(date) = oldest {
                chars += super::render::as_of_line(date).chars().count() + 2;
            }
            if chars > MAX_STEP_CHARS {
                sink.error(
                    *file,
                    node_id.span(),
                    Code::StepTooLong,
                    format!(
                        "bước \"{}\": người dân phải đọc khoảng {chars} ký tự trong một lượt (cả các bước goto nối tiếp), tối đa là {MAX_STEP_CHARS}; hãy rút gọn hoặc tách thành bước có nút \"Bước tiếp\"",
                        node_id.get_ref()
                    ),
                );
            }
        }
    }
}

/// Warns about nodes no user can reach from the main menu or a keyword.
fn check_reachability(
    sink: &mut Sink<'_>,
    raw: &[(usize, String, RawDialog)],
    dialogs: &BTreeMap<String, super::model::Dialog>,
    main: Option<&str>,
) {
    let mut roots: Vec<Target> = Vec::new();
    for (_, id, dialog) in raw {
        if (Some(id.as_str()) == main || !dialog.keywords.is_empty())
            && let Some(compiled) = dialogs.get(id)
        {
            roots.push(Target { dialog: id.clone(), node: compiled.start.clone() });
        }
        // Nodes with examples or keywords are reached by typing.
        for (node_id, node) in &dialog.nodes {
            if !node.examples.is_empty() || !node.keywords.is_empty() {
                roots.push(Target { dialog: id.clone(), node: node_id.get_ref().clone() });
            }
        }
    }
    let mut reached: FastSet<Target> = FastSet::default();
    while let Some(target) = roots.pop() {
        let Some(node) = dialogs.get(&target.dialog).and_then(|d| d.nodes.get(&target.node)) else {
            continue;
        };
        if !reached.insert(target) {
            continue;
        }
        roots.extend(node.choices.iter().map(|c| c.target.clone()));
        roots.extend(node.goto.iter().cloned());
        if let Some(ask) = &node.ask {
            roots.extend(
                [&ask.next, &ask.yes, &ask.no, &ask.fallback].into_iter().flatten().cloned(),
            );
        }
    }
    for (file, id, dialog) in raw {
        let unreached: Vec<&Spanned<String>> = dialog
            .nodes
            .keys()
            .filter(|node| {
                !reached.contains(&Target { dialog: id.clone(), node: node.get_ref().clone() })
            })
            .collect();
        if unreached.is_empty() {
            continue;
        }
        if unreached.len() == dialog.nodes.len() {
            sink.warning(
                *file,
                0..0,
                Code::Unreachable,
                format!("kịch bản \"{id}\" không có từ khóa, câu ví dụ hay bước nào dẫn tới, người dùng không vào được"),
            );
            continue;
        }
        for node in unreached {
            sink.warning(
                *file,
                node.span(),
                Code::Unreachable,
                format!("bước \"{}\" không có lựa chọn hay bước nào dẫn tới", node.get_ref()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MENU: &str = "title = \"Menu\"\nmain = true\nstart = \"a\"\n[nodes.a]\nsay = \"Chào\"\nchoices = [ { label = \"X\", goto = \"x\" } ]\n";
    const FACTS: &str = "[facts.hotline]\nvalue = \"156\"\nsource = \"https://a.gov.vn\"\nverified = \"2025-01-01\"\nreview_days = 30\n";

    fn load_with(x: &str) -> Loaded {
        let files =
            [("dialogs/menu.toml", MENU), ("dialogs/x.toml", x), ("dialogs/_facts.toml", FACTS)]
                .map(|(path, contents)| SourceFile {
                    path: path.into(),
                    contents: contents.into(),
                });
        load(&files, &LoadOptions::default())
    }

    fn codes(loaded: &Loaded) -> Vec<(Severity, Code)> {
        loaded.diagnostics.iter().map(|d| (d.severity, d.code)).collect()
    }

    use Code::*;
    use Severity::{Error as E, Warning as W};

    #[test]
    fn diagnostics_table() {
        let ok = "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"Gọi {hotline}\"\nend = true\n";
        let cases: &[(&str, &[(Severity, Code)])] = &[
            (ok, &[]),
            (
                "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsayy = \"x\"\nsaay = \"y\"\nend = true\n",
                &[(E, UnknownKey), (E, UnknownKey), (E, BadValue)],
            ),
            (
                "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\ngoto = \"bb\"\n",
                &[(E, DanglingJump)],
            ),
            ("title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\n", &[(E, NoWayForward)]),
            (
                "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\nend = true\n[nodes.c]\nsay = \"y\"\nend = true\n",
                &[(W, Unreachable)],
            ),
            (
                "title = \"X\"\nstart = \"c\"\n[nodes.b]\nsay = \"x\"\nend = true\n",
                &[(E, MissingStart), (W, Unreachable)],
            ),
            (
                "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"Chào {ten}\"\nend = true\n",
                &[(E, UnknownPlaceholder)],
            ),
            (
                "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"Vie\u{0302}\u{0323}t\"\nend = true\n",
                &[(E, NotNfc)],
            ),
            (
                "title = \"X\"\nkeywords = [\"menu\", \"Menu\"]\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\nend = true\n",
                &[(E, BadValue), (E, BadValue)],
            ),
            (
                "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\nchoices = [ { label = \"1\", goto = \"b\" }, { label = \"2\", goto = \"b\" }, { label = \"3\", goto = \"b\" }, { label = \"4\", goto = \"b\" } ]\nlinks = [ { label = \"l\", url = \"https://a.vn\" }, { label = \"m\", url = \"https://b.vn\" } ]\n",
                &[(E, TooManyButtons)],
            ),
            (
                "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\ngoto = \"c\"\n[nodes.c]\nsay = \"y\"\ngoto = \"b\"\n",
                &[(E, GotoChain), (E, GotoChain)],
            ),
            (
                "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\nask = { kind = \"numbr\", next = \"b\" }\n",
                &[(E, BadValue)],
            ),
            (
                "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\nask = { kind = \"text\" }\n",
                &[(E, NoWayForward)],
            ),
            (
                "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\nend = true\nsource = \"s\"\nverified = \"2020-01-01\"\n",
                &[],
            ),
            ("title = \"X\"\nstart = \"b\"\n[nodes.b\nsay = \"x\"\n", &[(E, Syntax)]),
            ("title = 3\nstart = \"b\"\n", &[(E, BadValue)]),
        ];
        for (x, expected) in cases {
            let loaded = load_with(x);
            let (mut got, mut expected) = (codes(&loaded), expected.to_vec());
            got.sort();
            expected.sort();
            assert_eq!(got, expected, "{x}\n{:#?}", loaded.diagnostics);
            assert_eq!(loaded.set.is_some(), !expected.iter().any(|(s, _)| *s == E), "{x}");
        }
    }

    #[test]
    fn dangling_jump_points_at_the_value_and_suggests() {
        let loaded = load_with(
            "title = \"X\"\nstart = \"buoc_3\"\n[nodes.buoc_3]\nsay = \"x\"\ngoto = \"buoc_4x\"\n[nodes.buoc_4]\nsay = \"y\"\nend = true\n",
        );
        let first = loaded.diagnostics.first().map(ToString::to_string).unwrap_or_default();
        assert_eq!(
            first,
            "dialogs/x.toml:5:8: lỗi: bước \"buoc_3\": goto tới \"buoc_4x\" không tồn tại (có phải ý bạn là \"buoc_4\"?)"
        );
    }

    #[test]
    fn duplicate_keywords_across_dialogs_and_stale_facts() {
        let files = [
            ("dialogs/menu.toml", MENU),
            ("dialogs/x.toml", "title = \"X\"\nkeywords = [\"Dịch vụ công\"]\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\nend = true\n"),
            ("dialogs/y.toml", "title = \"Y\"\nkeywords = [\"dich vu cong\"]\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\nend = true\n"),
            ("dialogs/_facts.toml", FACTS),
        ]
        .map(|(path, contents)| SourceFile { path: path.into(), contents: contents.into() });
        let options = LoadOptions { today: Date::new(2025, 6, 1), review_days: 180, strict: false };
        let loaded = load(&files, &options);
        assert_eq!(codes(&loaded), [(W, StaleFact), (E, DuplicateKeyword)]);
        let files = &files[..2].iter().chain(&files[3..]).cloned().collect::<Vec<_>>();
        let set = load(files, &options).set.expect("loads with a warning");
        assert_eq!(set.stale_facts().len(), 1);
        assert_eq!(set.stale_facts()[0].review_days, 30);
    }

    #[test]
    fn main_menu_must_be_exactly_one_and_version_is_a_content_hash() {
        let two_mains = [("dialogs/a.toml", MENU), ("dialogs/b.toml", MENU)]
            .map(|(path, contents)| SourceFile { path: path.into(), contents: contents.into() });
        let loaded = load(&two_mains, &LoadOptions::default());
        assert!(codes(&loaded).contains(&(E, MainMenu)));
        let empty = load(&[], &LoadOptions::default());
        assert_eq!(codes(&empty), [(E, NoDialogs)]);
        let a = load_with("title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\nend = true\n");
        let b = load_with("title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"y\"\nend = true\n");
        let (a, b) = (a.set.expect("a"), b.set.expect("b"));
        assert_ne!(a.version(), b.version());
        assert_eq!(a.version().len(), 12);
    }

    #[test]
    fn way_back_step_length_and_placeholders() {
        // A start page whose 5 buttons all lead deeper has no room for "Quay lại": an error.
        let ends: String =
            (1..=5).map(|n| format!("[nodes.c{n}]\nsay = \"y\"\nend = true\n")).collect();
        let full = format!(
            "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\nchoices = [ {} ]\n{ends}",
            (1..=5)
                .map(|n| format!("{{ label = \"{n}\", goto = \"c{n}\" }}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert_eq!(codes(&load_with(&full)), [(E, NoWayBack)]);

        // With room left, the engine adds "Quay lại" to a page that does not lead back.
        let room = "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\nchoices = [ { label = \"Tiếp\", goto = \"c\" } ]\n[nodes.c]\nsay = \"y\"\nchoices = [ { label = \"Tiếp\", goto = \"d\" } ]\n[nodes.d]\nsay = \"z\"\nend = true\n";
        let loaded = load_with(room);
        assert_eq!(codes(&loaded), []);
        let set = loaded.set.expect("loads");
        let auto = |node: &str| set.node("x", node).expect("node").auto_back;
        assert!(auto("b") && auto("c") && !auto("d"), "end nodes get the menu button");
        assert!(!set.node("menu", "a").expect("menu").auto_back, "not on the main menu");

        // A step (node + goto chain) longer than 600 characters, or 3 messages, is an error.
        let long = format!(
            "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"{}\"\nend = true\n",
            "a".repeat(601)
        );
        assert_eq!(codes(&load_with(&long)), [(E, StepTooLong), (W, TextLong)]);
        let chain = "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"x\"\ngoto = \"c\"\n[nodes.c]\nsay = \"y\"\ngoto = \"d\"\n[nodes.d]\nsay = \"z\"\nend = true\n";
        assert_eq!(codes(&load_with(chain)), [(E, GotoChain)]);

        // Local facts marked placeholder: listed; errors only with `strict`.
        let local = "[facts.ten_tinh]\nvalue = \"tỉnh của bạn\"\nplaceholder = true\n";
        let files = [
            ("dialogs/menu.toml", MENU),
            (
                "dialogs/x.toml",
                "title = \"X\"\nstart = \"b\"\n[nodes.b]\nsay = \"Ở {ten_tinh}\"\nend = true\n",
            ),
            ("dialogs/_local.toml", local),
            ("dialogs/_facts.toml", FACTS),
        ]
        .map(|(path, contents)| SourceFile { path: path.into(), contents: contents.into() });
        let loaded = load(&files, &LoadOptions::default());
        assert_eq!(codes(&loaded), []);
        let set = loaded.set.expect("loads");
        assert_eq!(set.placeholders(), ["ten_tinh (dialogs/_local.toml)"]);
        let strict = load(&files, &LoadOptions { strict: true, ..LoadOptions::default() });
        assert_eq!(codes(&strict), [(E, Placeholder)]);
        // A fact defined in both files is an error.
        let twice = files.clone().map(|mut f| {
            if f.path.ends_with("_facts.toml") {
                f.contents.push_str(local);
            }
            f
        });
        assert!(codes(&load(&twice, &LoadOptions::default())).contains(&(E, Conflict)));
    }

    #[test]
    fn ask_back_names_never_come_from_a_label_that_leads_to_several_nodes() {
        // b → c1 "Nhận hàng", c1 → c2 → c3 "Bước tiếp"; q → y "Có" and q → n "Xem mẹo", and
        // r → z "Có": "Có" leads to two nodes, so names neither; "Xem mẹo" names n alone.
        let x = "title = \"Mua sắm\"\nstart = \"b\"\n\
            [nodes.b]\nsay = \"x\"\nchoices = [ { label = \"Nhận hàng\", goto = \"c1\" }, { label = \"Hỏi nhanh\", goto = \"q\" }, { label = \"Hỏi lại\", goto = \"r\" } ]\n\
            [nodes.c1]\nsay = \"1\"\nchoices = [ { label = \"Bước tiếp\", goto = \"c2\" } ]\n\
            [nodes.c2]\nsay = \"2\"\nchoices = [ { label = \"Bước tiếp\", goto = \"c3\" } ]\n\
            [nodes.c3]\nsay = \"3\"\nend = true\n\
            [nodes.q]\nsay = \"?\"\nchoices = [ { label = \"Có\", goto = \"y\" }, { label = \"Xem mẹo\", goto = \"n\" } ]\n\
            [nodes.r]\nsay = \"?\"\nchoices = [ { label = \"Có\", goto = \"z\" } ]\n\
            [nodes.y]\nsay = \"y\"\nend = true\n\
            [nodes.n]\nsay = \"n\"\nend = true\n\
            [nodes.z]\nexamples = [\"có thật không\"]\nsay = \"z\"\nend = true\n\
            [nodes.w]\nexamples = [\"ừ được\"]\nsay = \"w\"\nend = true\n";
        let loaded = load_with(x);
        assert!(loaded.errors().next().is_none(), "{:?}", loaded.diagnostics);
        let set = loaded.set.expect("loads");
        let cases = [
            ("b", "Mua sắm"),
            ("c1", "Nhận hàng"),
            ("c2", "Nhận hàng (bước 2)"),
            ("c3", "Nhận hàng (bước 3)"),
            ("q", "Hỏi nhanh"),
            ("y", "Hỏi nhanh (bước 2)"),
            ("n", "Xem mẹo"),
            ("z", "Hỏi lại (bước 2)"),
            // No button leads to it: its first example, as a button title.
            ("w", "Ừ được"),
        ];
        for (node, want) in cases {
            let target = Target { dialog: "x".into(), node: node.into() };
            assert_eq!(set.label_of(&target), want, "{node}");
        }
    }
}
