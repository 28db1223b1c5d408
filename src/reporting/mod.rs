//! Team reports, I/O edge: connects the pure core (`crate::reports`) to the store, the
//! clock, randomness (invite codes) and the outbox.
//!
//! - `chat`: `Reporting::handle_chat`, called by the conversation worker for each text
//!   message before the dialog engine;
//! - `query`: completeness, totals, report lists and exports for the admin API and CLI;
//! - `reminders`: the scheduler task;
//! - `cli`: `units import`, `teams import`, `export`.
//!
//! Invariant: a report is confirmed to the member only after it is on disk — the reply is
//! queued after the report commit and the sender flushes the store before sending — and
//! a replayed webhook event never writes twice (see `store::reports::LastEvent`).

mod admin_chat;
mod chat;
pub mod cli;
pub mod guess;
pub mod query;
pub mod reminders;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use serde::Deserialize;

use crate::reports::definition::Definitions;
use crate::reports::reminders::ReminderConfig;
use crate::store::Store;

/// `[reports]` settings. Every key has a default, so the section is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ReportSettings {
    /// The report definition file.
    pub definitions: PathBuf,
    /// How long after submitting a member may withdraw with `/huy`.
    pub withdraw_minutes: i64,
    /// Lifetime of invite codes.
    pub invite_days: i64,
    /// Run the reminder scheduler.
    pub reminders: bool,
    /// Days before the deadline to remind teams that have not reported.
    pub reminder_before_days: Vec<u32>,
    /// Days after the deadline to remind them again (and send digests).
    pub reminder_after_days: Vec<u32>,
    /// Local (Vietnam) hours [start, end) for reminders; never outside 06–22 (Zalo -234).
    pub reminder_hour_start: u32,
    pub reminder_hour_end: u32,
    /// How often the scheduler looks, in seconds.
    pub reminder_interval_secs: u64,
    /// Zalo's customer-service window in days: users silent longer are not messaged.
    /// Not a `[reports]` key: `app::build` copies `zalo.reply_window_days` here, so the
    /// sender and the reminders agree on one window.
    #[serde(skip)]
    pub reply_window_days: i64,
    /// Base of links sent in chat (`/quantri`, `/xuat`); copied from `server.public_url`
    /// (or `http://{server.bind}`) by `app::build`, like `reply_window_days`.
    #[serde(skip)]
    pub public_url: String,
}

impl Default for ReportSettings {
    fn default() -> ReportSettings {
        // The reminder defaults live in one place: the pure core's `ReminderConfig`.
        let reminders = ReminderConfig::default();
        ReportSettings {
            definitions: PathBuf::from("config/reports.toml"),
            withdraw_minutes: 60,
            invite_days: 14,
            reminders: true,
            reminder_before_days: reminders.before_days,
            reminder_after_days: reminders.after_days,
            reminder_hour_start: reminders.hour_start,
            reminder_hour_end: reminders.hour_end,
            reminder_interval_secs: 300,
            reply_window_days: reminders.window_days,
            public_url: String::new(),
        }
    }
}

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
