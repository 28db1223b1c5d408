//! Team reports, I/O edge: connects the pure core (`crate::reports`) to the store, the
//! clock, randomness (invite codes) and the outbox.
//!
//! - `chat`: `Reporting::handle_chat`, called by the conversation worker for each text
//!   message before the dialog engine;
//! - `query`: completeness, totals, report lists and exports for the admin API and CLI;
//! - `reminders`: the scheduler task.
//!
//! Invariant: a report is confirmed to the member only after it is on disk — the reply is
//! queued after the report commit, which marks the store unflushed, and the sender
//! flushes a marked store before sending — and
//! a replayed webhook event never writes twice (see `store::reports::LastEvent`).

mod admin_chat;
mod chat;
pub mod guess;
pub mod query;
pub mod reminders;
#[cfg(test)]
mod tests;

use std::sync::{Arc, RwLock};

use anyhow::Context;

use crate::reports::definition::Definitions;
use crate::reports::reminders::ReminderConfig;
use crate::store::Store;

pub use crate::settings::ReportSettings;

impl ReportSettings {
    pub fn reminder_config(&self) -> ReminderConfig {
        ReminderConfig {
            before_days: self.reminder_before_days.clone(),
            after_days: self.reminder_after_days.clone(),
            hour_start: self.reminder_hour_start,
            hour_end: self.reminder_hour_end,
            window_days: self.reply_window_days,
        }
    }
}

/// Handle to the reports feature; cheap to clone (store handle and two `Arc`s).
#[derive(Clone)]
pub struct Reporting {
    store: Store,
    /// The loaded definition file. Swapped whole by `reload_definitions`; readers take
    /// an `Arc` snapshot (std lock, held only to clone the `Arc`, never across I/O).
    defs: Arc<RwLock<Arc<Definitions>>>,
    settings: Arc<ReportSettings>,
    /// Read by the reminder scheduler (tests run it on a chosen date).
    clock: crate::clock::Clock,
    /// Wrong invite codes, per user and overall.
    guesses: Arc<guess::GuessLimiter>,
}

impl Reporting {
    pub fn new(store: Store, defs: Definitions, settings: ReportSettings) -> Reporting {
        Reporting {
            store,
            defs: Arc::new(RwLock::new(Arc::new(defs))),
            settings: Arc::new(settings),
            clock: crate::clock::Clock::system(),
            guesses: Arc::default(),
        }
    }

    /// The same, reading `clock` for the reminder scheduler.
    pub fn with_clock(self, clock: crate::clock::Clock) -> Reporting {
        Reporting { clock, ..self }
    }

    pub fn clock(&self) -> &crate::clock::Clock {
        &self.clock
    }

    /// Reads and checks the definition file named in `settings`.
    pub fn load(store: Store, settings: ReportSettings) -> anyhow::Result<Reporting> {
        let defs = load_definitions(&settings.definitions)?;
        tracing::info!(
            file = %settings.definitions.display(),
            version = %defs.version,
            reports = defs.reports.len(),
            "report definitions loaded"
        );
        Ok(Reporting::new(store, defs, settings))
    }

    /// The current definitions (a snapshot: a reload does not change it).
    pub fn defs(&self) -> Arc<Definitions> {
        match self.defs.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the definition file; on any problem keeps the old definitions and
    /// returns the problems. Forms in progress continue with the new file (answers are
    /// keyed by indicator code); stored reports keep the version they were made with.
    pub fn reload_definitions(&self) -> anyhow::Result<Arc<Definitions>> {
        let fresh = Arc::new(load_definitions(&self.settings.definitions)?);
        match self.defs.write() {
            Ok(mut guard) => *guard = fresh.clone(),
            Err(poisoned) => *poisoned.into_inner() = fresh.clone(),
        }
        tracing::info!(version = %fresh.version, "report definitions reloaded");
        Ok(fresh)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &ReportSettings {
        &self.settings
    }
}

impl Reporting {
    /// Forgets what reporting keeps about a user who withdrew consent (Zalo
    /// `user_withdraw`): membership, open form, last answer.
    pub fn forget_user(&self, user_id: &str) -> anyhow::Result<()> {
        Ok(self.store.forget_report_user(user_id)?)
    }
}

/// The shipped definitions, used when the configured file does not exist (e.g. the
/// binary runs outside the repository), so the service still starts.
pub const SHIPPED_DEFINITIONS: &str = include_str!("../../config/reports.toml");

pub fn load_definitions(path: &std::path::Path) -> anyhow::Result<Definitions> {
    if !path.exists() {
        tracing::warn!(
            file = %path.display(),
            "report definitions file not found; using the shipped monthly report"
        );
        return Definitions::parse(SHIPPED_DEFINITIONS)
            .context("in the shipped config/reports.toml");
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading report definitions {}", path.display()))?;
    Definitions::parse(&text).with_context(|| format!("in {}", path.display()))
}
