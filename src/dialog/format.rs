//! The dialog file format exactly as admins write it (`dialogs/*.toml`, `dialogs/_facts.toml`).
//!
//! These structs mirror the files one to one and reject unknown keys, so a typo such as
//! `sayy = "…"` is an error and never silently ignored. Values that diagnostics point at are
//! `Spanned`, which gives their byte range (turned into line:col by `load`). Nothing here is
//! checked beyond TOML types: `load` compiles these into a validated `DialogSet`.
//! See `dialogs/README.md` for the admin documentation of every key.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// One `dialogs/<id>.toml` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDialog {
    pub title: Spanned<String>,
    #[serde(default)]
    pub keywords: Vec<Spanned<String>>,
    #[serde(default)]
    pub main: bool,
    /// Danger intents (a scam in progress): its nodes win over every ordinary topic.
    #[serde(default)]
    pub urgent: bool,
    /// Entry node; optional only for list dialogs (default `danh_sach`).
    pub start: Option<Spanned<String>>,
    #[serde(default)]
    pub sequences: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    #[serde(default)]
    pub nodes: BTreeMap<Spanned<String>, RawNode>,
    /// List dialogs: the text above the generated list.
    pub intro: Option<Spanned<String>>,
    #[serde(default)]
    pub items: Vec<RawItem>,
}

/// `[nodes.<id>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    pub say: Option<Spanned<String>>,
    pub image: Option<Spanned<String>>,
    #[serde(default)]
    pub choices: Vec<RawChoice>,
    #[serde(default)]
    pub links: Vec<RawLink>,
    #[serde(default)]
    pub calls: Vec<RawCall>,
    pub goto: Option<Spanned<String>>,
    #[serde(default)]
    pub end: bool,
    pub ask: Option<RawAsk>,
    /// Fact metadata (not shown to users): where the fact comes from and when it was checked.
    pub source: Option<Spanned<String>>,
    /// `"2026-11-01"` or an unquoted TOML date.
    pub verified: Option<Spanned<toml::Value>>,
    pub review_days: Option<Spanned<i64>>,
    /// How citizens might ask for this node in their own words (free-text matching).
    #[serde(default)]
    pub examples: Vec<Spanned<String>>,
    /// Short phrases that point at this node (free-text matching).
    #[serde(default)]
    pub keywords: Vec<Spanned<String>>,
    /// Something the service does when the node is shown (`"handoff"`: connect the
    /// citizen with a person of their local team). Checked by `load`.
    pub action: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChoice {
    pub label: Spanned<String>,
    pub goto: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    pub label: Spanned<String>,
    pub url: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCall {
    pub label: Spanned<String>,
    pub phone: Spanned<String>,
}

/// `ask = { kind = "number", save = "so_nguoi", next = "…", … }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAsk {
    pub kind: Spanned<String>,
    pub save: Option<Spanned<String>>,
    pub next: Option<Spanned<String>>,
    pub yes: Option<Spanned<String>>,
    pub no: Option<Spanned<String>>,
    pub retry: Option<Spanned<String>>,
    pub tries: Option<Spanned<i64>>,
    pub fallback: Option<Spanned<String>>,
    pub min: Option<Spanned<f64>>,
    pub max: Option<Spanned<f64>>,
}

/// `[[items]]` of a list dialog.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawItem {
    pub name: Spanned<String>,
    pub purpose: Option<Spanned<String>>,
    pub url: Option<Spanned<String>>,
    pub phone: Option<Spanned<String>>,
    pub how: Option<Spanned<String>>,
    /// Fact metadata (not shown to users): where the fact comes from and when it was checked.
    pub source: Option<Spanned<String>>,
    /// `"2026-11-01"` or an unquoted TOML date.
    pub verified: Option<Spanned<toml::Value>>,
    pub review_days: Option<Spanned<i64>>,
    /// As on a node: phrasings and keywords that lead to this item's page.
    #[serde(default)]
    pub examples: Vec<Spanned<String>>,
    #[serde(default)]
    pub keywords: Vec<Spanned<String>>,
}

/// `dialogs/_facts.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFacts {
    #[serde(default)]
    pub facts: BTreeMap<Spanned<String>, RawFact>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFact {
    pub value: Spanned<String>,
    pub label: Option<Spanned<String>>,
    /// Fact metadata (not shown to users): where the fact comes from and when it was checked.
    pub source: Option<Spanned<String>>,
    /// `"2026-11-01"` or an unquoted TOML date.
    pub verified: Option<Spanned<toml::Value>>,
    pub review_days: Option<Spanned<i64>>,
    /// `true` while the value is a shipped example the locality must replace (`check --strict`
    /// fails, `serve` warns).
    #[serde(default)]
    pub placeholder: bool,
}

/// `dialogs/_lexicon.toml`: Zalo shorthand and common misspellings, applied after folding.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLexicon {
    /// One typed word → what it means (`ko = "không"`, `ck = "chuyển khoản"`).
    #[serde(default)]
    pub words: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Words that carry no meaning for matching (particles, pronouns): dropped.
    #[serde(default)]
    pub ignore: Vec<Spanned<String>>,
    /// A word whose meaning depends on its neighbours (`mk` near "quên" → "mật khẩu").
    #[serde(default)]
    pub context: Vec<RawContextRule>,
}

/// `[[context]]` of the lexicon.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContextRule {
    pub word: Spanned<String>,
    /// Any of these within three words of `word` selects `means`.
    pub near: Vec<Spanned<String>>,
    pub means: Spanned<String>,
    /// The meaning otherwise; absent = the word is dropped.
    pub otherwise: Option<Spanned<String>>,
}
