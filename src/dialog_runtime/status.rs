//! JSON shapes of the admin dialog API (`GET /admin/api/dialogs`, reload, rollback).
//!
//! The pure core's types are not `Serialize`; these views are the boundary format.

use std::path::Path;

use serde::Serialize;

use super::registry::State;
use crate::calendar::UnixSecs;
use crate::dialog::{Diagnostic, Severity, StaleFact};

/// `GET /admin/api/dialogs`.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryStatus {
    pub dir: String,
    /// Current version (content hash), `None` if no valid set ever loaded.
    pub version: Option<String>,
    /// Unix seconds when the current version was loaded.
    pub loaded_at: Option<UnixSecs>,
    pub dialogs: Vec<DialogView>,
    pub nodes: usize,
    /// The version `rollback` would return to.
    pub previous_version: Option<String>,
    /// Older versions kept for sessions still pinned to them.
    pub pinned_versions: Vec<String>,
    /// Warnings of the current version.
    pub warnings: Vec<DiagnosticView>,
    pub stale_facts: Vec<StaleFactView>,
    /// Local facts still holding the shipped example value (`placeholder = true` in
    /// `dialogs/_local.toml`): citizens see them until the locality fills them in.
    pub placeholders: Vec<String>,
    pub last_reload: Option<AttemptView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DialogView {
    pub id: String,
    pub title: String,
}

/// The last reload attempt: accepted or not, and what was wrong.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptView {
    pub at: UnixSecs,
    pub accepted: bool,
    pub errors: Vec<DiagnosticView>,
    pub warnings: Vec<DiagnosticView>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DiagnosticView {
    /// `error` or `warning`.
    pub severity: &'static str,
    pub code: &'static str,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The whole line as `check` prints it.
    pub text: String,
}

impl From<&Diagnostic> for DiagnosticView {
    fn from(d: &Diagnostic) -> DiagnosticView {
        DiagnosticView {
            severity: match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            code: d.code.as_str(),
            file: d.file.clone(),
            line: d.line,
            column: d.column,
            message: d.message.clone(),
            text: d.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StaleFactView {
    pub what: String,
    pub file: String,
    /// `YYYY-MM-DD`.
    pub verified: String,
    pub review_days: u32,
    pub source: Option<String>,
}

impl From<&StaleFact> for StaleFactView {
    fn from(f: &StaleFact) -> StaleFactView {
        StaleFactView {
            what: f.what.clone(),
            file: f.file.clone(),
            verified: format!(
                "{:04}-{:02}-{:02}",
                f.verified.year, f.verified.month, f.verified.day
            ),
            review_days: f.review_days,
            source: f.source.clone(),
        }
    }
}

/// `POST /admin/api/dialogs/reload`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReloadOutcome {
    /// A new version is live.
    Loaded { version: String, warnings: usize },
    /// The files did not change.
    Unchanged { version: String },
    /// The files have errors; the running version stays live.
    Rejected { errors: Vec<DiagnosticView> },
}

impl RegistryStatus {
    pub(crate) fn from_state(dir: &Path, state: &State) -> RegistryStatus {
        let current = state.current.as_ref();
        RegistryStatus {
            dir: dir.display().to_string(),
            version: current.map(|v| v.set.version().to_owned()),
            loaded_at: current.map(|v| v.loaded_at),
            dialogs: current
                .map(|v| {
                    v.set
                        .dialogs()
                        .map(|(id, title)| DialogView {
                            id: id.to_owned(),
                            title: title.to_owned(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            nodes: current.map_or(0, |v| v.set.node_count()),
            previous_version: state.previous.as_ref().map(|v| v.set.version().to_owned()),
            pinned_versions: state.pinned.iter().map(|v| v.set.version().to_owned()).collect(),
            warnings: current
                .map(|v| v.warnings.iter().map(Into::into).collect())
                .unwrap_or_default(),
            stale_facts: current
                .map(|v| v.set.stale_facts().iter().map(Into::into).collect())
                .unwrap_or_default(),
            placeholders: current.map(|v| v.set.placeholders().to_vec()).unwrap_or_default(),
            last_reload: state.last_attempt.as_ref().map(|a| AttemptView {
                at: a.at,
                accepted: a.accepted,
                errors: a.errors.iter().map(Into::into).collect(),
                warnings: a.warnings.iter().map(Into::into).collect(),
            }),
        }
    }
}
