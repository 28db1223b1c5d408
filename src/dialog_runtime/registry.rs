//! The live dialog set, swapped atomically on reload, with rollback and pinned old versions.
//!
//! `Registry` is a cheap handle (`Arc` inside) shared by the conversation loop, the admin API,
//! the file watcher and the SIGHUP listener. A std `RwLock` is enough: it is held only to
//! clone an `Arc`, never across `.await` or while the engine runs. Reloads are serialised by a
//! separate mutex so two triggers cannot interleave their "read files → swap" sequences.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::calendar::UnixSecs;
use crate::dialog::{
    self, Code, Diagnostic, DialogSet, EngineOptions, Input, LoadOptions, Session, Severity, Step,
};
use crate::reply::Reply;

use super::status::{RegistryStatus, ReloadOutcome};
use super::today;

/// Sent when no valid dialog set has ever loaded: never leave the user without an answer.
pub const NO_DIALOGS_REPLY: &str = "Xin lỗi, phần hướng dẫn đang được cập nhật. Bạn vui lòng thử lại sau ít phút; khi đó gõ \"menu\" để bắt đầu.";

pub use crate::dialog::DEFAULT_UNMATCHED_RETENTION_DAYS;

/// Settings for the registry (from the service configuration).
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Sessions idle longer than this start over (default 7 days, Zalo's reply window).
    pub idle_timeout_secs: i64,
    /// Review interval for facts without their own `review_days`.
    pub review_days: u32,
    /// How many replaced versions are kept for sessions still pinned to them.
    pub max_pinned_versions: usize,
    /// "Today" for fact review dates and version retirement.
    pub clock: crate::clock::Clock,
    /// How long a message that was not understood stays in the review list (0 = not kept).
    pub unmatched_retention_days: u32,
}

impl Default for RegistryOptions {
    fn default() -> RegistryOptions {
        RegistryOptions {
            idle_timeout_secs: dialog::DEFAULT_IDLE_TIMEOUT_SECS,
            review_days: dialog::DEFAULT_REVIEW_DAYS,
            max_pinned_versions: 8,
            clock: crate::clock::Clock::system(),
            unmatched_retention_days: DEFAULT_UNMATCHED_RETENTION_DAYS,
        }
    }
}

/// One loaded version of the dialogs.
#[derive(Debug)]
pub(crate) struct Version {
    pub(crate) set: Arc<DialogSet>,
    pub(crate) loaded_at: UnixSecs,
    pub(crate) warnings: Vec<Diagnostic>,
    /// When it stopped being current (old versions are dropped after the idle timeout).
    pub(crate) retired_at: Option<UnixSecs>,
}

/// The result of the last reload attempt, kept for `GET /admin/api/dialogs`.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub(crate) at: UnixSecs,
    pub(crate) accepted: bool,
    pub(crate) errors: Vec<Diagnostic>,
    pub(crate) warnings: Vec<Diagnostic>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) current: Option<Arc<Version>>,
    pub(crate) previous: Option<Arc<Version>>,
    /// Versions older than `previous`, newest first.
    pub(crate) pinned: Vec<Arc<Version>>,
    pub(crate) last_attempt: Option<Attempt>,
}

struct Inner {
    dir: PathBuf,
    options: RegistryOptions,
    state: RwLock<State>,
    reloading: Mutex<()>,
}

/// The running dialogs; clone freely.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

/// Why a rollback did nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RollbackError {
    #[error("no previous dialog version to roll back to")]
    NoPrevious,
}

impl Registry {
    /// Loads `dir`. Never fails: a broken folder gives a registry with no set and the errors
    /// in `status()`; a later `reload()` can fix it.
    pub fn load(dir: &Path, options: RegistryOptions) -> Registry {
        let registry = Registry {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                options,
                state: RwLock::new(State::default()),
                reloading: Mutex::new(()),
            }),
        };
        registry.reload();
        registry
    }

    /// How long unmatched messages are kept, in milliseconds.
    pub fn unmatched_retention_ms(&self) -> i64 {
        i64::from(self.inner.options.unmatched_retention_days) * 86_400_000
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Runs one engine step on the version the session is pinned to (or the current one).
    pub fn step(&self, session: Option<Session>, input: &Input, now: UnixSecs) -> Step {
        let version = self.version_for(session.as_ref(), input);
        let Some(version) = version else {
            return Step {
                session,
                replies: vec![Reply::text(NO_DIALOGS_REPLY)],
                action: None,
                understood: dialog::Understood::Yes,
            };
        };
        let options = EngineOptions { idle_timeout_secs: self.inner.options.idle_timeout_secs };
        dialog::step_with(&version.set, session, input, now, &options)
    }

    /// The scam warning `text` gets from the current dialogs (`dialog::warning`), or `None`.
    /// Asked by the hand-off, which takes a citizen's messages away from the dialogs while
    /// a team member is helping them, so that a scam in progress is still warned first.
    pub fn warning(&self, text: &str, now: UnixSecs) -> Option<Step> {
        let current = self.read().current.clone()?;
        dialog::warning(&current.set, text, now)
    }

    /// The version the session is pinned to, if still kept and the conversation is in the
    /// middle of something; at the main menu (or on a follow) it moves to the current one.
    fn version_for(&self, session: Option<&Session>, input: &Input) -> Option<Arc<Version>> {
        let state = self.read();
        let session = session.filter(|_| !matches!(input, Input::Follow));
        let pinned = session.and_then(|session| {
            let wanted = session.version.as_str();
            state
                .current
                .iter()
                .chain(state.previous.iter())
                .chain(state.pinned.iter())
                .find(|v| v.set.version() == wanted)
                .filter(|v| !v.set.is_main_menu(&session.dialog, &session.node))
                .cloned()
        });
        pinned.or_else(|| state.current.clone())
    }

    /// Re-reads the folder; swaps the set in only if it has no errors.
    pub fn reload(&self) -> ReloadOutcome {
        let _serial = self.inner.reloading.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.inner.options.clock.now_secs();
        let loaded = match super::read_dialog_dir(&self.inner.dir) {
            Ok(files) => {
                let options = LoadOptions {
                    today: Some(today(&self.inner.options.clock)),
                    review_days: self.inner.options.review_days,
                    strict: false,
                };
                dialog::load(&files, &options)
            }
            Err(error) => dialog::Loaded {
                set: None,
                diagnostics: vec![Diagnostic {
                    severity: Severity::Error,
                    code: Code::Io,
                    file: self.inner.dir.display().to_string(),
                    line: 1,
                    column: 1,
                    message: format!("không đọc được thư mục kịch bản: {error}"),
                }],
            },
        };
        let errors: Vec<Diagnostic> = loaded.errors().cloned().collect();
        let warnings: Vec<Diagnostic> = loaded.warnings().cloned().collect();
        let mut state = self.write();
        state.last_attempt = Some(Attempt {
            at: now,
            accepted: loaded.set.is_some(),
            errors: errors.clone(),
            warnings: warnings.clone(),
        });
        let result = if loaded.set.is_some() { "accepted" } else { "rejected" };
        metrics::counter!("cnscd_dialog_reloads_total", "result" => result).increment(1);
        let Some(set) = loaded.set else {
            tracing::warn!(dir = %self.inner.dir.display(), errors = errors.len(), "dialogs rejected, keeping the running version");
            for error in &errors {
                tracing::warn!("{error}");
            }
            return ReloadOutcome::Rejected { errors: errors.iter().map(Into::into).collect() };
        };
        let version = set.version().to_owned();
        if let Some(current) = state.current.as_ref().filter(|c| c.set.version() == version) {
            // Same files, but "today" may have moved: refresh warnings and stale facts.
            let refreshed = Version {
                set: Arc::new(set),
                loaded_at: current.loaded_at,
                warnings,
                retired_at: None,
            };
            state.current = Some(Arc::new(refreshed));
            return ReloadOutcome::Unchanged { version };
        }
        let fresh =
            Arc::new(Version { set: Arc::new(set), loaded_at: now, warnings, retired_at: None });
        let replaced = state.current.replace(fresh);
        if let Some(replaced) = replaced
            && let Some(older) = state.previous.replace(retired(&replaced, Some(now)))
        {
            state.pinned.insert(0, older);
        }
        self.prune(&mut state, now);
        tracing::info!(version = %version, warnings = warnings_count(&state), "dialogs loaded");
        ReloadOutcome::Loaded { version, warnings: warnings_count(&state) }
    }

    /// Makes the previous good version current again (and the current one previous).
    pub fn rollback(&self) -> Result<String, RollbackError> {
        let _serial = self.inner.reloading.lock().unwrap_or_else(PoisonError::into_inner);
        let mut state = self.write();
        let previous = state.previous.take().ok_or(RollbackError::NoPrevious)?;
        let version = previous.set.version().to_owned();
        // The version rolled away from is retired now, so pruning can age it out once
        // no session can still be on it; the restored one is current again.
        let now = self.inner.options.clock.now_secs();
        let demoted = state.current.replace(retired(&previous, None));
        state.previous = demoted.map(|v| retired(&v, Some(now)));
        tracing::info!(version = %version, "dialogs rolled back");
        Ok(version)
    }

    /// What admins see at `GET /admin/api/dialogs`.
    pub fn status(&self) -> RegistryStatus {
        RegistryStatus::from_state(&self.inner.dir, &self.read())
    }

    /// Drops replaced versions no session can still be on (idle timeout) or beyond the cap.
    fn prune(&self, state: &mut State, now: UnixSecs) {
        let keep_for = self.inner.options.idle_timeout_secs;
        state.pinned.retain(|v| v.retired_at.is_none_or(|at| now.saturating_since(at) <= keep_for));
        state.pinned.truncate(self.inner.options.max_pinned_versions);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

fn warnings_count(state: &State) -> usize {
    state.current.as_ref().map_or(0, |v| v.warnings.len())
}

/// `version` with its retirement time set (`None`: it is current).
fn retired(version: &Version, at: Option<UnixSecs>) -> Arc<Version> {
    Arc::new(Version {
        set: Arc::clone(&version.set),
        loaded_at: version.loaded_at,
        warnings: version.warnings.clone(),
        retired_at: at,
    })
}
