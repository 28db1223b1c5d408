//! Reload triggers: a debounced file watcher on the dialogs folder, and SIGHUP.
//!
//! Editors save in several writes (temp file, rename, chmod), hence the debouncer; every
//! trigger calls the same `Registry::reload`, which is idempotent (same content → unchanged).

use std::time::Duration;

use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use super::registry::Registry;

/// Quiet time after the last file event before reloading.
pub const DEBOUNCE: Duration = Duration::from_millis(500);

/// Keeps the watcher and the SIGHUP listener alive; dropping it stops both.
pub struct WatcherGuard {
    _debouncer: Debouncer<notify_debouncer_full::notify::RecommendedWatcher, RecommendedCache>,
    signal_task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for WatcherGuard {
    fn drop(&mut self) {
        if let Some(task) = self.signal_task.take() {
            task.abort();
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("watching dialogs folder {dir}")]
    Watch {
        dir: String,
        #[source]
        source: notify_debouncer_full::notify::Error,
    },
}

/// Creation, modification, renaming and removal change what a reload would read; opening,
/// reading and closing a file do not.
fn changes_content(kind: &EventKind) -> bool {
    !matches!(kind, EventKind::Access(_))
}

impl Registry {
    /// Starts the file watcher and, inside a tokio runtime on unix, the SIGHUP listener.
    pub fn spawn_watcher(&self) -> Result<WatcherGuard, WatchError> {
        let dir = self.dir().to_owned();
        let watch_error = |source| WatchError::Watch { dir: dir.display().to_string(), source };
        let registry = self.clone();
        let mut debouncer =
            new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| match result {
                // Reading the files (as every reload does) raises open/access events;
                // reacting to those would reload in a loop, twice a second, for ever.
                Ok(events) if events.iter().any(|e| changes_content(&e.event.kind)) => {
                    let outcome = registry.reload();
                    tracing::debug!(?outcome, "dialogs folder changed");
                }
                Ok(_) => {}
                Err(errors) => tracing::warn!(?errors, "dialogs watcher error"),
            })
            .map_err(watch_error)?;
        debouncer.watch(&dir, RecursiveMode::Recursive).map_err(watch_error)?;
        Ok(WatcherGuard { _debouncer: debouncer, signal_task: self.spawn_sighup() })
    }

    #[cfg(unix)]
    fn spawn_sighup(&self) -> Option<tokio::task::JoinHandle<()>> {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let listening = {
            let _context = runtime.enter();
            signal(SignalKind::hangup())
        };
        let mut hangups = match listening {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGHUP; use the admin reload instead");
                return None;
            }
        };
        let registry = self.clone();
        Some(runtime.spawn(async move {
            while hangups.recv().await.is_some() {
                let registry = registry.clone();
                match tokio::task::spawn_blocking(move || registry.reload()).await {
                    Ok(outcome) => tracing::info!(?outcome, "SIGHUP: dialogs reloaded"),
                    Err(error) => tracing::error!(%error, "SIGHUP reload task failed"),
                }
            }
        }))
    }

    #[cfg(not(unix))]
    fn spawn_sighup(&self) -> Option<tokio::task::JoinHandle<()>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_debouncer_full::notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};

    #[test]
    fn only_changes_trigger_a_reload() {
        let cases = [
            (EventKind::Access(AccessKind::Open(AccessMode::Read)), false),
            (EventKind::Access(AccessKind::Close(AccessMode::Read)), false),
            (EventKind::Access(AccessKind::Close(AccessMode::Write)), false),
            (EventKind::Create(CreateKind::File), true),
            (EventKind::Modify(ModifyKind::Any), true),
            (EventKind::Remove(notify_debouncer_full::notify::event::RemoveKind::File), true),
        ];
        for (kind, expected) in cases {
            assert_eq!(changes_content(&kind), expected, "{kind:?}");
        }
    }
}
