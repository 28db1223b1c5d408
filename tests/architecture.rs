//! Tidy test: the layering written in `ARCHITECTURE.md` and the invariants that can be
//! read off the source, checked on every `cargo test` (the pattern of rust-analyzer's
//! `xtask/src/tidy.rs`).
//!
//! It walks `src/`, lexes each file (comments and string contents are not code), collects
//! every `use` tree and every inline `crate::`/`super::`/`self::` path, resolves them to a
//! top-level module (`src/<name>.rs` or `src/<name>/`), and checks:
//!
//! - `layering`: every import between top-level modules is allowed by the "## Layering"
//!   table in `ARCHITECTURE.md` (the table itself must name every module and be acyclic);
//! - `cycle`: the import graph between top-level modules has no cycle;
//! - `pure-core`: modules marked pure in the table import none of tokio, axum, reqwest,
//!   sled, rand, fastrand, getrandom, `std::fs`, `std::env`, `std::thread`, `SystemTime`;
//! - `sled-outside-store`: only `src/store/` names sled;
//! - `clap-outside-cli`: only `src/cli/` and `src/main.rs` name clap (library modules take
//!   plain values);
//! - `zalo-json`: only `src/zalo/` builds or parses Zalo JSON (heuristic: string literals
//!   containing a Zalo field or header name);
//! - `into-response`: only `src/error.rs` implements `IntoResponse`;
//! - `code-map`: the "## Code map" table names only paths that exist and every module.
//!
//! A failure prints `file:line: rule: explanation`. Violations that predate this test are
//! listed in `KNOWN_VIOLATIONS` / `KNOWN_CYCLES` below; anything new fails, and so does an
//! entry that is no longer needed (the list only shrinks).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

/// Violations present when this test was written (issue #9). Each is (file, rule, detail,
/// reason); `detail` is the imported module for `layering`, the forbidden item for
/// `pure-core`, the matched text for `zalo-json`. Remove an entry when its fix lands.
const KNOWN_VIOLATIONS: &[Known] = &[
    // None left: `say` asks `zalo::fake` for the signed webhook request and for what a
    // reply shows.
];

/// Cycles present when this test was written: a cycle whose modules are all in one entry
/// is tolerated; a cycle through any other module fails. Shrink as edges are removed.
const KNOWN_CYCLES: &[(&[&str], &str)] = &[
    // None left: the webhook adapter hands events to an `EventSink` it defines, and
    // `settings.rs` owns `ReportSettings`.
];

#[test]
fn architecture_is_tidy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    collect_sources(root, &root.join("src"), &mut sources);
    sources.sort_by(|a, b| a.path.cmp(&b.path));
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let exists = |path: &str| root.join(path.trim_end_matches('/')).exists();
    let (violations, edges) = analyse(&sources, &doc, &exists);

    if std::env::var_os("ARCHITECTURE_SHOW_ALL").is_some() {
        // `ARCHITECTURE_SHOW_ALL=1 cargo test --test architecture -- --nocapture` lists
        // every violation, allowlisted or not.
        for violation in &violations {
            println!("{violation}");
        }
        let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (from, to) in edges.keys() {
            graph.entry(from).or_default().push(to);
        }
        for (from, tos) in graph {
            println!("{from} → {}", tos.join(", "));
        }
    }
    let (new, stale) = triage(&violations, KNOWN_VIOLATIONS, KNOWN_CYCLES);
    let mut report = String::new();
    for violation in &new {
        report.push_str(&format!("{violation}\n"));
    }
    for entry in &stale {
        report.push_str(&format!(
            "tests/architecture.rs: stale allowlist entry: {entry} no longer occurs; remove it\n"
        ));
    }
    assert!(report.is_empty(), "architecture check failed:\n{report}");
}

fn collect_sources(root: &Path, dir: &Path, out: &mut Vec<Source>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect_sources(root, &path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let rel = path.strip_prefix(root).expect("under root").to_string_lossy();
            let text = std::fs::read_to_string(&path).expect("read source");
            out.push(Source { path: rel.replace('\\', "/"), text });
        }
    }
}

// ---------------------------------------------------------------------------------------
// The checker: a pure function of (sources, ARCHITECTURE.md, "does this path exist").

struct Source {
    /// Relative to the crate root, `/`-separated: `src/zalo/webhook.rs`.
    path: String,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    file: String,
    line: usize,
    rule: &'static str,
    /// What the allowlist matches on besides file and rule.
    detail: String,
    message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.file, self.line, self.rule, self.message)
    }
}

struct Known {
    file: &'static str,
    rule: &'static str,
    detail: &'static str,
    #[allow(dead_code)] // documentation for the reader of the list
    reason: &'static str,
}

impl fmt::Display for Known {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {}, {})", self.file, self.rule, self.detail)
    }
}

const fn known(
    file: &'static str,
    rule: &'static str,
    detail: &'static str,
    reason: &'static str,
) -> Known {
    Known { file, rule, detail, reason }
}

/// Splits violations into new ones and reports allowlist entries that matched nothing.
fn triage(
    violations: &[Violation],
    known: &[Known],
    known_cycles: &[(&[&str], &str)],
) -> (Vec<Violation>, Vec<String>) {
    let mut used = vec![false; known.len()];
    let mut used_cycles = vec![false; known_cycles.len()];
    let mut new = Vec::new();
    for violation in violations {
        if violation.rule == "cycle" {
            let members: BTreeSet<&str> = violation.detail.split(',').collect();
            let hit = known_cycles
                .iter()
                .position(|(allowed, _)| members.iter().all(|m| allowed.contains(m)));
            match hit {
                Some(i) => used_cycles[i] = true,
                None => new.push(violation.clone()),
            }
            continue;
        }
        let hit = known.iter().position(|k| {
            k.file == violation.file && k.rule == violation.rule && k.detail == violation.detail
        });
        match hit {
            Some(i) => used[i] = true,
            None => new.push(violation.clone()),
        }
    }
    let mut stale: Vec<String> =
        known.iter().zip(&used).filter(|(_, used)| !**used).map(|(k, _)| k.to_string()).collect();
    for ((members, _), used) in known_cycles.iter().zip(&used_cycles) {
        if !used {
            stale.push(format!("cycle among {{{}}}", members.join(", ")));
        }
    }
    (new, stale)
}

/// Crates and `std` modules a pure core must not name (first segments, or `std::x`).
const IMPURE_CRATES: &[&str] =
    &["tokio", "axum", "reqwest", "sled", "rand", "fastrand", "getrandom"];
const IMPURE_STD: &[&str] = &["fs", "env", "thread"];
/// String literals that mean "this code builds or reads Zalo's JSON or headers".
const ZALO_JSON_MARKERS: &[&str] = &["attachment", "event_name", "recipient", "x-zevent-signature"];

fn check(sources: &[Source], architecture: &str, exists: &dyn Fn(&str) -> bool) -> Vec<Violation> {
    analyse(sources, architecture, exists).0
}

/// Where an import between two top-level modules is first made: (from, to) → (file, line).
type Edges = BTreeMap<(String, String), (String, usize)>;

/// The violations, and the import graph between top-level modules.
fn analyse(
    sources: &[Source],
    architecture: &str,
    exists: &dyn Fn(&str) -> bool,
) -> (Vec<Violation>, Edges) {
    let mut out = Vec::new();
    let modules: BTreeSet<String> = sources.iter().filter_map(|s| top_module(&s.path)).collect();
    let table = parse_layering(architecture, &modules, &mut out);
    check_code_map(architecture, &modules, exists, &mut out);

    // Edges between top-level modules, with the first place each is made.
    let mut edges = Edges::new();
    for source in sources {
        let Some(from) = top_module(&source.path) else { continue };
        let lexed = lex(&source.text);
        let paths = paths(&lexed.tokens, &file_module(&source.path));
        let pure = table.as_ref().is_some_and(|t| t.pure.contains(&from));

        for path in &paths {
            if let Some(to) = path.resolved.as_ref().and_then(|r| r.first())
                && *to != from
                && modules.contains(to)
            {
                edges.entry((from.clone(), to.clone())).or_insert((source.path.clone(), path.line));
                if let Some(table) = &table
                    && let Some(allowed) = table.may_import.get(&from)
                    && !allowed.contains(to)
                {
                    out.push(Violation {
                        file: source.path.clone(),
                        line: path.line,
                        rule: "layering",
                        detail: to.clone(),
                        message: format!(
                            "`{from}` may not import `{to}` (ARCHITECTURE.md ## Layering allows {})",
                            list_or_nothing(allowed)
                        ),
                    });
                }
            }
            let first = path.raw.first().map(String::as_str).unwrap_or("");
            if pure {
                let second = path.raw.get(1).map(String::as_str).unwrap_or("");
                let item = if IMPURE_CRATES.contains(&first) {
                    Some(first.to_string())
                } else if first == "std" && IMPURE_STD.contains(&second) {
                    Some(format!("std::{second}"))
                } else {
                    None
                };
                if let Some(item) = item {
                    out.push(Violation {
                        file: source.path.clone(),
                        line: path.line,
                        rule: "pure-core",
                        message: format!("`{from}` is a pure core and may not use `{item}` (I/O at the edges; `now` is a parameter)"),
                        detail: item,
                    });
                }
            }
            if first == "clap"
                && !source.path.starts_with("src/cli/")
                && source.path != "src/main.rs"
            {
                out.push(Violation {
                    file: source.path.clone(),
                    line: path.line,
                    rule: "clap-outside-cli",
                    detail: "clap".into(),
                    message: "only src/cli/ and src/main.rs may name clap; put the arguments in src/cli/ and pass plain values".into(),
                });
            }
            if first == "sled" && !source.path.starts_with("src/store/") {
                out.push(Violation {
                    file: source.path.clone(),
                    line: path.line,
                    rule: "sled-outside-store",
                    detail: "sled".into(),
                    message: "only src/store/ may name sled; add a Store method instead".into(),
                });
            }
        }
        if pure {
            for token in &lexed.tokens {
                if matches!(&token.kind, Tok::Ident(name) if name == "SystemTime") {
                    out.push(Violation {
                        file: source.path.clone(),
                        line: token.line,
                        rule: "pure-core",
                        detail: "std::time::SystemTime".into(),
                        message: format!("`{from}` is a pure core and may not read the clock (`SystemTime`); take `now` as a parameter"),
                    });
                }
            }
        }
        if !source.path.starts_with("src/zalo/") {
            for (line, text) in &lexed.strings {
                for marker in ZALO_JSON_MARKERS.iter().filter(|m| mentions_zalo_field(text, m)) {
                    out.push(Violation {
                        file: source.path.clone(),
                        line: *line,
                        rule: "zalo-json",
                        detail: marker.to_string(),
                        message: format!("only src/zalo/ builds or parses Zalo JSON and headers (string mentions `{marker}`)"),
                    });
                }
            }
        }
        if source.path != "src/error.rs" {
            for line in into_response_impls(&lexed.tokens) {
                out.push(Violation {
                    file: source.path.clone(),
                    line,
                    rule: "into-response",
                    detail: "IntoResponse".into(),
                    message: "only src/error.rs implements IntoResponse; return ApiError".into(),
                });
            }
        }
    }
    check_cycles(&modules, &edges, &mut out);
    out.sort();
    out.dedup();
    (out, edges)
}

/// A JSON key (`"attachment"` in `json!` or in JSON text), a JSON pointer segment
/// (`/attachment/payload`), or the signature header in any case. Prose such as
/// `attachment; filename=…` (Content-Disposition) does not count.
fn mentions_zalo_field(text: &str, marker: &str) -> bool {
    if marker.starts_with("x-") {
        return text.to_lowercase().contains(marker);
    }
    text == marker
        || text.contains(&format!("\"{marker}\""))
        || text.contains(&format!("/{marker}"))
}

fn list_or_nothing(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "nothing".to_string()
    } else {
        set.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
    }
}

/// `src/zalo/webhook.rs` → `zalo`; `src/app.rs` → `app`; `src/lib.rs` → none.
fn top_module(path: &str) -> Option<String> {
    let rest = path.strip_prefix("src/")?;
    let first = rest.split('/').next()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_string())
}

/// The module path a file defines: `src/store/reports/mod.rs` → `[store, reports]`.
fn file_module(path: &str) -> Vec<String> {
    let rest = path.strip_prefix("src/").unwrap_or(path).trim_end_matches(".rs");
    let mut parts: Vec<String> = rest.split('/').map(str::to_string).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

// ---------------------------------------------------------------------------------------
// Lexing: just enough Rust to tell code from comments, strings and lifetimes.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

struct Token {
    kind: Tok,
    line: usize,
}

struct Lexed {
    tokens: Vec<Token>,
    /// String literal contents with the line they start on.
    strings: Vec<(usize, String)>,
}

fn lex(text: &str) -> Lexed {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut strings = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if c == '"' {
            let start = line;
            let (content, next) = quoted(&chars, i + 1, &mut line);
            strings.push((start, content));
            i = next;
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a, 'static).
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let begin = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[begin..i].iter().collect();
            // Raw and byte strings: r"..", r#".."#, b"..", br#".."#.
            if (word == "r" || word == "br") && (at(i) == '"' || at(i) == '#') {
                let mut hashes = 0;
                while at(i + hashes) == '#' {
                    hashes += 1;
                }
                if at(i + hashes) == '"' {
                    let start = line;
                    let mut j = i + hashes + 1;
                    let mut content = String::new();
                    while j < chars.len() {
                        if chars[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                            j += hashes + 1;
                            break;
                        }
                        line += usize::from(chars[j] == '\n');
                        content.push(chars[j]);
                        j += 1;
                    }
                    strings.push((start, content));
                    i = j;
                    continue;
                }
            }
            if word == "b" && at(i) == '"' {
                let start = line;
                let (content, next) = quoted(&chars, i + 1, &mut line);
                strings.push((start, content));
                i = next;
                continue;
            }
            tokens.push(Token { kind: Tok::Ident(word), line });
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c == ':' && at(i + 1) == ':' {
            tokens.push(Token { kind: Tok::PathSep, line });
            i += 2;
        } else {
            tokens.push(Token { kind: Tok::Punct(c), line });
            i += 1;
        }
    }
    Lexed { tokens, strings }
}

/// Reads a `"`-quoted literal body starting after the quote; returns (content, next index).
fn quoted(chars: &[char], mut i: usize, line: &mut usize) -> (String, usize) {
    let mut content = String::new();
    while i < chars.len() && chars[i] != '"' {
        if chars[i] == '\\' && i + 1 < chars.len() {
            *line += usize::from(chars[i + 1] == '\n');
            content.push(chars[i + 1]);
            i += 2;
        } else {
            *line += usize::from(chars[i] == '\n');
            content.push(chars[i]);
            i += 1;
        }
    }
    (content, i + 1)
}

// ---------------------------------------------------------------------------------------
// Paths: `use` trees (grouped, nested, renamed) and inline `a::b::c` paths.

struct FoundPath {
    /// As written, `use` groups expanded: `["super", "store", "Store"]`.
    raw: Vec<String>,
    /// From the crate root, if it is a path into this crate: `["store", "Store"]`.
    resolved: Option<Vec<String>>,
    line: usize,
}

fn paths(tokens: &[Token], file_module: &[String]) -> Vec<FoundPath> {
    let scopes = inline_module_scopes(tokens);
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let ident = |k: usize| match tokens.get(k).map(|t| &t.kind) {
            Some(Tok::Ident(name)) => Some(name.as_str()),
            _ => None,
        };
        let after_sep = i > 0 && tokens[i - 1].kind == Tok::PathSep;
        let mut module: Vec<String> = file_module.to_vec();
        module.extend(scopes[i].iter().cloned());
        if ident(i) == Some("use") && !after_sep {
            let mut trees = Vec::new();
            let end = use_tree(tokens, i + 1, Vec::new(), &mut trees);
            for (raw, line) in trees {
                found.push(FoundPath { resolved: resolve(&raw, &module), raw, line });
            }
            i = end;
            continue;
        }
        if ident(i).is_some()
            && !after_sep
            && tokens.get(i + 1).map(|t| &t.kind) == Some(&Tok::PathSep)
        {
            let mut raw = Vec::new();
            let mut j = i;
            let mut line = tokens[i].line;
            while let Some(name) = ident(j) {
                raw.push(name.to_string());
                line = tokens[j].line;
                if tokens.get(j + 1).map(|t| &t.kind) == Some(&Tok::PathSep) {
                    j += 2;
                } else {
                    j += 1;
                    break;
                }
            }
            found.push(FoundPath { resolved: resolve(&raw, &module), raw, line });
            i = j;
            continue;
        }
        i += 1;
    }
    found
}

/// Parses one use tree at `i` (after `use` or inside `{`), pushing every leaf path with
/// the line of its last segment. Returns the index after the tree.
fn use_tree(
    tokens: &[Token],
    mut i: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, usize)>,
) -> usize {
    let mut line = tokens.get(i).map_or(0, |t| t.line);
    loop {
        match tokens.get(i).map(|t| &t.kind) {
            Some(Tok::PathSep) => i += 1,
            Some(Tok::Ident(name)) if name == "as" => i += 2, // `as alias`
            Some(Tok::Ident(name)) => {
                prefix.push(name.clone());
                line = tokens[i].line;
                i += 1;
            }
            Some(Tok::Punct('*')) => {
                prefix.push("*".into());
                line = tokens[i].line;
                i += 1;
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    match tokens.get(i).map(|t| &t.kind) {
                        Some(Tok::Punct('}')) => return i + 1,
                        Some(Tok::Punct(',')) => i += 1,
                        None => return i,
                        Some(_) => i = use_tree(tokens, i, prefix.clone(), out),
                    }
                }
            }
            _ => {
                // `self` in a group means the prefix itself: `use a::{self, b}`.
                if prefix.last().is_some_and(|s| s == "self") && prefix.len() > 1 {
                    prefix.pop();
                }
                if !prefix.is_empty() {
                    out.push((prefix, line));
                }
                return i;
            }
        }
    }
}

/// For each token, the names of the inline `mod name { .. }` blocks it sits in.
fn inline_module_scopes(tokens: &[Token]) -> Vec<Vec<String>> {
    let mut scopes = Vec::with_capacity(tokens.len());
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut pending: Option<String> = None;
    for (i, token) in tokens.iter().enumerate() {
        match &token.kind {
            Tok::Ident(name) if name == "mod" => {
                if let Some(Token { kind: Tok::Ident(inner), .. }) = tokens.get(i + 1)
                    && tokens.get(i + 2).map(|t| &t.kind) == Some(&Tok::Punct('{'))
                {
                    pending = Some(inner.clone());
                }
            }
            Tok::Punct('{') => {
                depth += 1;
                if let Some(name) = pending.take() {
                    stack.push((name, depth));
                }
            }
            Tok::Punct('}') => {
                if stack.last().is_some_and(|(_, d)| *d == depth) {
                    stack.pop();
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        scopes.push(stack.iter().map(|(name, _)| name.clone()).collect());
    }
    scopes
}

/// Resolves `crate::`, `cnscd_bot::` (in `main.rs`), `self::` and `super::` paths to a path
/// from the crate root; other paths (std, external crates, local names) give `None`.
fn resolve(raw: &[String], module: &[String]) -> Option<Vec<String>> {
    let first = raw.first()?.as_str();
    let in_main = module.first().is_some_and(|m| m == "main");
    match first {
        "cnscd_bot" => Some(raw[1..].to_vec()),
        "crate" if !in_main => Some(raw[1..].to_vec()),
        "self" if !in_main => Some(module.iter().chain(&raw[1..]).cloned().collect()),
        "super" if !in_main => {
            let mut base = module.to_vec();
            let mut rest = raw;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            Some(base)
        }
        _ => None,
    }
}

/// Lines of `impl … IntoResponse for …`.
fn into_response_impls(tokens: &[Token]) -> Vec<usize> {
    let mut lines = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if token.kind == Tok::Ident("IntoResponse".into())
            && tokens.get(i + 1).map(|t| &t.kind) == Some(&Tok::Ident("for".into()))
        {
            // Walk back over the path (`axum::response::`) and generics to `impl`.
            let is_impl = tokens[..i]
                .iter()
                .rev()
                .take_while(|t| !matches!(t.kind, Tok::Punct(';' | '{' | '}')))
                .any(|t| t.kind == Tok::Ident("impl".into()));
            if is_impl {
                lines.push(token.line);
            }
        }
    }
    lines
}

// ---------------------------------------------------------------------------------------
// ARCHITECTURE.md: the "## Layering" and "## Code map" tables.

struct Layering {
    may_import: BTreeMap<String, BTreeSet<String>>,
    pure: BTreeSet<String>,
}

/// Rows of the first table under `## {title}`: (line number, cells).
fn table_rows(doc: &str, title: &str) -> Option<Vec<(usize, Vec<String>)>> {
    let mut lines = doc.lines().enumerate().skip_while(|(_, l)| l.trim() != format!("## {title}"));
    lines.next()?;
    let rows: Vec<(usize, Vec<String>)> = lines
        .take_while(|(_, l)| !l.starts_with("## "))
        .skip_while(|(_, l)| !l.trim_start().starts_with('|'))
        .take_while(|(_, l)| l.trim_start().starts_with('|'))
        .map(|(n, l)| {
            let cells = l.trim().trim_matches('|').split('|').map(|c| c.trim().to_string());
            (n + 1, cells.collect())
        })
        .collect();
    // Header and `|---|` separator.
    Some(rows.into_iter().skip(2).collect())
}

fn backticked(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

fn doc_violation(line: usize, rule: &'static str, detail: &str, message: String) -> Violation {
    Violation { file: "ARCHITECTURE.md".into(), line, rule, detail: detail.into(), message }
}

/// Reads the layering table (`| Module | Layer | May import |`) and checks it names every
/// module, only modules, and allows no cycle.
fn parse_layering(
    doc: &str,
    modules: &BTreeSet<String>,
    out: &mut Vec<Violation>,
) -> Option<Layering> {
    let Some(rows) = table_rows(doc, "Layering") else {
        out.push(doc_violation(1, "layering-table", "missing", "no `## Layering` table".into()));
        return None;
    };
    let mut layering = Layering { may_import: BTreeMap::new(), pure: BTreeSet::new() };
    let mut lines = BTreeMap::new();
    for (line, cells) in &rows {
        let [module_cell, layer, allowed, ..] = cells.as_slice() else {
            out.push(doc_violation(
                *line,
                "layering-table",
                "row",
                "row needs Module | Layer | May import".into(),
            ));
            continue;
        };
        for module in backticked(module_cell) {
            if !modules.contains(&module) {
                out.push(doc_violation(
                    *line,
                    "layering-table",
                    &module,
                    format!("`{module}` is not a top-level module of src/"),
                ));
            }
            if layer.to_lowercase().contains("pure") {
                layering.pure.insert(module.clone());
            }
            lines.insert(module.clone(), *line);
            let targets: BTreeSet<String> = backticked(allowed).into_iter().collect();
            for target in &targets {
                if !modules.contains(target) {
                    out.push(doc_violation(
                        *line,
                        "layering-table",
                        target,
                        format!(
                            "`{module}` may import `{target}`, which is not a top-level module"
                        ),
                    ));
                }
            }
            layering.may_import.insert(module, targets);
        }
    }
    for module in modules {
        if !layering.may_import.contains_key(module) {
            out.push(doc_violation(
                rows.first().map_or(1, |r| r.0),
                "layering-table",
                module,
                format!("`{module}` is missing from the ## Layering table"),
            ));
        }
    }
    // The table must itself be a DAG, or obeying it would not rule out cycles.
    let allowed: Edges = layering
        .may_import
        .iter()
        .flat_map(|(from, tos)| {
            let line = lines[from];
            tos.iter()
                .map(move |to| ((from.clone(), to.clone()), ("ARCHITECTURE.md".to_string(), line)))
        })
        .collect();
    let mut table_cycles = Vec::new();
    check_cycles(modules, &allowed, &mut table_cycles);
    for mut cycle in table_cycles {
        cycle.rule = "layering-table";
        cycle.message = format!("the table allows a {}", cycle.message);
        out.push(cycle);
    }
    Some(layering)
}

const ROOT_DIRS: &[&str] = &["src/", "config/", "dialogs/", "tests/", "benches/", "docs/"];

fn check_code_map(
    doc: &str,
    modules: &BTreeSet<String>,
    exists: &dyn Fn(&str) -> bool,
    out: &mut Vec<Violation>,
) {
    let Some(rows) = table_rows(doc, "Code map") else {
        out.push(doc_violation(1, "code-map", "missing", "no `## Code map` table".into()));
        return;
    };
    let mut named = BTreeSet::new();
    for (line, cells) in &rows {
        let Some(path_cell) = cells.first() else { continue };
        for path in backticked(path_cell) {
            if !exists(&path) {
                out.push(doc_violation(
                    *line,
                    "code-map",
                    &path,
                    format!("`{path}` does not exist"),
                ));
            }
            // Paths in the second column are relative to the row's path.
            let base = match path.strip_suffix('/') {
                Some(dir) => format!("{dir}/"),
                None => path.rsplit_once('/').map_or(String::new(), |(dir, _)| format!("{dir}/")),
            };
            for mention in cells.iter().skip(1).flat_map(|c| backticked(c)) {
                let looks_like_path = mention.ends_with('/')
                    || [".rs", ".toml", ".csv", ".md"].iter().any(|ext| mention.ends_with(ext));
                if !looks_like_path || mention.contains(' ') {
                    continue;
                }
                let full = if ROOT_DIRS.iter().any(|d| mention.starts_with(d)) {
                    mention.clone()
                } else {
                    format!("{base}{mention}")
                };
                if !exists(&full) {
                    out.push(doc_violation(
                        *line,
                        "code-map",
                        &full,
                        format!("`{mention}` (`{full}`) does not exist"),
                    ));
                }
            }
            named.insert(path);
        }
    }
    for module in modules {
        let file = format!("src/{module}.rs");
        let dir = format!("src/{module}/");
        if !named.contains(&file) && !named.contains(&dir) {
            out.push(doc_violation(
                rows.first().map_or(1, |r| r.0),
                "code-map",
                module,
                format!(
                    "top-level module `{module}` ({file} or {dir}) is missing from the code map"
                ),
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cycles.

/// One violation per strongly connected component of more than one module, showing a
/// shortest cycle through its first module and where each of its imports is made.
fn check_cycles(modules: &BTreeSet<String>, edges: &Edges, out: &mut Vec<Violation>) {
    let succ = |m: &str| -> Vec<&str> {
        edges.keys().filter(|(from, _)| from == m).map(|(_, to)| to.as_str()).collect()
    };
    let reach = |start: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start.to_string()];
        while let Some(m) = todo.pop() {
            for next in succ(&m) {
                if seen.insert(next.to_string()) {
                    todo.push(next.to_string());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&str, BTreeSet<String>> =
        modules.iter().map(|m| (m.as_str(), reach(m))).collect();
    let mut done = BTreeSet::new();
    for m in modules {
        if done.contains(m) || !reachable[m.as_str()].contains(m) {
            continue;
        }
        let component: BTreeSet<String> = modules
            .iter()
            .filter(|o| {
                *o == m || (reachable[m.as_str()].contains(*o) && reachable[o.as_str()].contains(m))
            })
            .cloned()
            .collect();
        done.extend(component.iter().cloned());
        // Breadth-first from m back to m inside the component.
        let mut parent: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([m.clone()]);
        let mut last = None;
        while let Some(cur) = queue.pop_front() {
            for next in succ(&cur) {
                if next == m {
                    last = Some(cur.clone());
                    break;
                }
                if component.contains(next) && !parent.contains_key(next) {
                    parent.insert(next.to_string(), cur.clone());
                    queue.push_back(next.to_string());
                }
            }
            if last.is_some() {
                break;
            }
        }
        // Walk back from the module that closes the cycle: m → … → last → m.
        let mut back = Vec::new();
        let mut cur = last.expect("a module in a component reaches itself");
        while cur != *m {
            back.push(cur.clone());
            cur = parent[&cur].clone();
        }
        back.reverse();
        let cycle: Vec<String> =
            std::iter::once(m.clone()).chain(back).chain(std::iter::once(m.clone())).collect();
        let sites: Vec<String> = cycle
            .windows(2)
            .map(|w| {
                let (file, line) = &edges[&(w[0].clone(), w[1].clone())];
                format!("{}→{} at {file}:{line}", w[0], w[1])
            })
            .collect();
        let (file, line) = edges[&(cycle[0].clone(), cycle[1].clone())].clone();
        out.push(Violation {
            file,
            line,
            rule: "cycle",
            detail: component.iter().cloned().collect::<Vec<_>>().join(","),
            message: format!(
                "cycle between top-level modules: {} ({}); all of {{{}}} reach each other",
                cycle.join(" → "),
                sites.join(", "),
                component.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        });
    }
}

// ---------------------------------------------------------------------------------------
// Tests of the checker itself, on small in-memory fixtures.

#[cfg(test)]
mod checker {
    use super::*;

    const DOC: &str = "\
# Architecture

## Code map

| Path | Owns |
|---|---|
| `src/app.rs` | wiring |
| `src/store/` | sled (`mod.rs`) |
| `src/dialog/` | pure core |
| `src/reply.rs` | replies |

## Layering

| Module | Layer | May import |
|---|---|---|
| `app` | wiring | `store`, `dialog`, `reply` |
| `store` | store | `dialog`, `reply` |
| `dialog` | pure core | `reply` |
| `reply` | shared | — |
";

    fn source(path: &str, text: &str) -> Source {
        Source { path: path.into(), text: text.into() }
    }

    fn fixture(extra: &[(&str, &str)]) -> Vec<Source> {
        let mut sources = vec![
            source("src/lib.rs", "pub mod app; pub mod dialog; pub mod reply; pub mod store;"),
            source(
                "src/app.rs",
                "use crate::{store::Store, dialog::{self, engine}};\nuse crate::reply::Reply;\n",
            ),
            source("src/store/mod.rs", "use sled::Db;\nuse crate::dialog::Session;\n"),
            source("src/dialog/mod.rs", "pub mod engine;\nuse crate::reply::Reply;\n"),
            source("src/dialog/engine.rs", "use super::Session;\n"),
            source("src/reply.rs", "pub struct Reply;\n"),
        ];
        for (path, text) in extra {
            sources.retain(|s| s.path != *path);
            sources.push(source(path, text));
        }
        sources
    }

    fn run(extra: &[(&str, &str)]) -> Vec<Violation> {
        let files: BTreeSet<String> = fixture(extra).iter().map(|s| s.path.clone()).collect();
        let exists = move |p: &str| {
            files.iter().any(|f| f == p || f.starts_with(&format!("{}/", p.trim_end_matches('/'))))
        };
        check(&fixture(extra), DOC, &exists)
    }

    fn shown(violations: &[Violation]) -> Vec<String> {
        violations.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_clean_fixture_passes() {
        assert_eq!(shown(&run(&[])), Vec::<String>::new());
    }

    #[test]
    fn grouped_nested_and_renamed_imports_parse() {
        let lexed = lex(
            "use crate::{a, b::{c, d as e}, f::*};\nuse super::super::g;\nuse std::{fs, time::{Duration, SystemTime}};",
        );
        let found = paths(&lexed.tokens, &["x".into(), "y".into()]);
        let raw: Vec<String> = found.iter().map(|p| p.raw.join("::")).collect();
        assert_eq!(
            raw,
            [
                "crate::a",
                "crate::b::c",
                "crate::b::d",
                "crate::f::*",
                "super::super::g",
                "std::fs",
                "std::time::Duration",
                "std::time::SystemTime"
            ]
        );
        assert_eq!(found[4].resolved, Some(vec!["g".to_string()]));
        assert_eq!(found[1].resolved, Some(vec!["b".to_string(), "c".to_string()]));
    }

    #[test]
    fn super_resolves_from_the_file_and_inline_modules() {
        let text = "use super::Session;\nmod tests {\n    use super::super::store::Store;\n}\nfn f() { super::other::g(); }";
        let lexed = lex(text);
        let found = paths(&lexed.tokens, &["dialog".into(), "engine".into()]);
        let resolved: Vec<(String, usize)> =
            found.iter().map(|p| (p.resolved.clone().unwrap().join("::"), p.line)).collect();
        assert_eq!(
            resolved,
            [
                ("dialog::Session".into(), 1),
                ("dialog::store::Store".into(), 3),
                ("dialog::other::g".into(), 5)
            ]
        );
        // From a top-level file, `super::` is the crate root.
        let found = paths(&lex("use super::store::Store;").tokens, &["app".into()]);
        assert_eq!(found[0].resolved, Some(vec!["store".to_string(), "Store".to_string()]));
    }

    #[test]
    fn comments_strings_and_lifetimes_are_not_code() {
        let lexed = lex(
            "// use crate::app;\n/* crate::app /* nested */ */ let s = \"crate::app\";\nfn f<'a>(c: char) -> bool { c == '\\'' || c == '{' }\nlet r = r#\"use crate::app\"#;\nuse crate::store;",
        );
        let found = paths(&lexed.tokens, &["dialog".into()]);
        let raw: Vec<String> =
            found.iter().map(|p| format!("{}@{}", p.raw.join("::"), p.line)).collect();
        assert_eq!(raw, ["crate::store@5"]);
        assert_eq!(
            lexed.strings,
            [(2, "crate::app".to_string()), (4, "use crate::app".to_string())]
        );
    }

    #[test]
    fn a_forbidden_import_in_a_pure_core_fails_with_its_line() {
        let got = shown(&run(&[(
            "src/dialog/engine.rs",
            "use super::Session;\nuse std::{fs, time::SystemTime};\nfn f() { tokio::spawn(async {}); }\n",
        )]));
        assert_eq!(
            got,
            [
                "src/dialog/engine.rs:2: pure-core: `dialog` is a pure core and may not use `std::fs` (I/O at the edges; `now` is a parameter)",
                "src/dialog/engine.rs:2: pure-core: `dialog` is a pure core and may not read the clock (`SystemTime`); take `now` as a parameter",
                "src/dialog/engine.rs:3: pure-core: `dialog` is a pure core and may not use `tokio` (I/O at the edges; `now` is a parameter)",
            ]
        );
    }

    #[test]
    fn an_import_the_table_does_not_allow_fails() {
        let got = shown(&run(&[(
            "src/dialog/mod.rs",
            "pub mod engine;\nuse crate::reply::Reply;\n\nuse crate::store::Store;\n",
        )]));
        assert!(
            got.contains(&"src/dialog/mod.rs:4: layering: `dialog` may not import `store` (ARCHITECTURE.md ## Layering allows `reply`)".to_string()),
            "{got:#?}"
        );
    }

    #[test]
    fn a_cycle_is_found_and_shown() {
        let got =
            run(&[("src/reply.rs", "pub struct Reply;\nfn f() -> crate::app::App { todo!() }\n")]);
        let cycle: Vec<&Violation> = got.iter().filter(|v| v.rule == "cycle").collect();
        assert_eq!(cycle.len(), 1, "{got:#?}");
        assert_eq!(cycle[0].detail, "app,dialog,reply,store");
        assert_eq!(
            cycle[0].to_string(),
            "src/app.rs:2: cycle: cycle between top-level modules: app → reply → app (app→reply at src/app.rs:2, reply→app at src/reply.rs:2); all of {app, dialog, reply, store} reach each other"
        );
        // The import that closes it also breaks the table.
        assert!(got.iter().any(|v| v.to_string() == "src/reply.rs:2: layering: `reply` may not import `app` (ARCHITECTURE.md ## Layering allows nothing)"));
        // Allowlisted as a known cycle it is tolerated; a known cycle among fewer modules
        // does not cover it.
        let all: &[&str] = &["app", "dialog", "reply", "store"];
        let (new, stale) = triage(&got, &[], &[(all, "fixture")]);
        assert!(new.iter().all(|v| v.rule != "cycle") && stale.is_empty());
        let (new, _) = triage(&got, &[], &[(&["app", "reply"], "fixture")]);
        assert!(new.iter().any(|v| v.rule == "cycle"));
    }

    #[test]
    fn store_alone_names_sled_and_zalo_json_stays_in_zalo() {
        let got = shown(&run(&[(
            "src/app.rs",
            "use crate::{store::Store, dialog::{self, engine}};\nuse crate::reply::Reply;\nfn f(db: sled::Db) { let _ = \"X-ZEvent-Signature\"; let _ = \"attachment; filename=x\"; }\nimpl axum::response::IntoResponse for Reply {}\n",
        )]));
        assert_eq!(
            got,
            [
                "src/app.rs:3: sled-outside-store: only src/store/ may name sled; add a Store method instead",
                "src/app.rs:3: zalo-json: only src/zalo/ builds or parses Zalo JSON and headers (string mentions `x-zevent-signature`)",
                "src/app.rs:4: into-response: only src/error.rs implements IntoResponse; return ApiError",
            ]
        );
    }

    #[test]
    fn clap_stays_in_the_cli() {
        let args = "#[derive(Debug, clap::Args)]\npub struct Args { x: u32 }\n";
        let got = shown(&run(&[("src/dialog/engine.rs", args), ("src/cli/check.rs", args)]));
        // (`cli` is not in the fixture's tables; only the clap rule matters here.)
        let got: Vec<&String> = got.iter().filter(|v| v.contains("clap")).collect();
        assert_eq!(
            got,
            [
                "src/dialog/engine.rs:1: clap-outside-cli: only src/cli/ and src/main.rs may name clap; put the arguments in src/cli/ and pass plain values"
            ]
        );
    }

    #[test]
    fn the_tables_must_match_the_tree() {
        let got = shown(&run(&[("src/clock.rs", "pub struct Clock;\n")]));
        assert_eq!(
            got,
            [
                "ARCHITECTURE.md:7: code-map: top-level module `clock` (src/clock.rs or src/clock/) is missing from the code map",
                "ARCHITECTURE.md:16: layering-table: `clock` is missing from the ## Layering table",
            ]
        );
        let doc = DOC
            .replace("| `src/reply.rs` | replies |", "| `src/reply.rs` | replies, see `gone.rs` |");
        let got = check(&fixture(&[]), &doc, &|p: &str| p != "src/gone.rs");
        assert_eq!(
            shown(&got),
            ["ARCHITECTURE.md:10: code-map: `gone.rs` (`src/gone.rs`) does not exist"]
        );
        let doc = DOC.replace("| `reply` | shared | — |", "| `reply` | shared | `app` |");
        let got = check(&fixture(&[]), &doc, &|_: &str| true);
        assert!(
            shown(&got).iter().any(|v| v.starts_with("ARCHITECTURE.md:16: layering-table: the table allows a cycle between top-level modules: app → reply → app")),
            "{got:#?}"
        );
    }

    #[test]
    fn known_violations_hide_only_themselves_and_stale_entries_are_reported() {
        let got = run(&[(
            "src/dialog/mod.rs",
            "pub mod engine;\nuse crate::reply::Reply;\nuse crate::store::Store;\nuse crate::app::App;\n",
        )]);
        let allow = [
            known("src/dialog/mod.rs", "layering", "store", "fixture"),
            known("src/x.rs", "layering", "y", "gone"),
        ];
        let (new, stale) = triage(&got, &allow, &[(&["app", "dialog", "store"], "fixture")]);
        assert_eq!(
            shown(&new),
            [
                "src/dialog/mod.rs:4: layering: `dialog` may not import `app` (ARCHITECTURE.md ## Layering allows `reply`)"
            ]
        );
        assert_eq!(stale, ["(src/x.rs, layering, y)"]);
    }
}
