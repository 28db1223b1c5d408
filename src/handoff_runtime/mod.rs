//! Citizen → team hand-off, I/O edge: connects the pure core (`crate::handoff`) to the
//! store (`store::handoff`, members and units of `store::reports`), the clock and the
//! outbox.
//!
//! - `chat`: `Handoff::handle_chat` (asked first by the conversation worker for each
//!   text) and `Handoff::start` (a dialog node with `action = "handoff"`);
//! - `scheduler`: escalations, the Zalo-window warning and retention, sent once;
//! - `query`: requests and contributions for the admin API and the export.
//!
//! Invariant: an event's hand-off writes, its replay record and the messages it sends
//! to other users commit in one transaction (`Store::commit_handoff`); a replayed
//! event returns the recorded replies and writes nothing.

mod chat;
pub mod query;
pub mod scheduler;

use std::sync::Arc;

use crate::clock::Clock;
use crate::handoff::HandoffConfig;
use crate::store::Store;

pub use crate::settings::HandoffSettings;

impl HandoffSettings {
    pub fn config(&self) -> HandoffConfig {
        HandoffConfig {
            hour_start: self.hour_start,
            hour_end: self.hour_end,
            escalate_after_secs: self.escalate_after_minutes * 60,
            window_warn_days: self.window_warn_days,
            window_days: self.reply_window_days,
            retention_days: self.retention_days,
            show_member_name: self.show_member_name,
        }
    }
}

/// Handle to the hand-off feature; cheap to clone.
#[derive(Clone)]
pub struct Handoff {
    store: Store,
    settings: Arc<HandoffSettings>,
    config: Arc<HandoffConfig>,
    clock: Clock,
}

impl Handoff {
    pub fn new(store: Store, settings: HandoffSettings, clock: Clock) -> Handoff {
        let config = Arc::new(settings.config());
        Handoff { store, settings: Arc::new(settings), config, clock }
    }

    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &HandoffConfig {
        &self.config
    }

    /// Forgets a citizen who withdrew consent; returns how many requests were emptied.
    pub fn forget_user(&self, user: &str) -> anyhow::Result<usize> {
        Ok(self.store.forget_handoff_user(user)?)
    }

    /// Whether the OA may message `user` at `now` (followed, within Zalo's window): the
    /// same test as the report reminders, so `/tinhhinh` and the reminders agree.
    pub(crate) fn reachable(&self, user: &str, now: i64) -> bool {
        let last = self.store.last_reachable_interaction(user).ok().flatten();
        crate::reports::reminders::within_window(last, self.config.window_days, now)
    }

    /// Units, teams and members as the router needs them.
    pub(crate) fn directory(&self) -> anyhow::Result<crate::handoff::route::Directory> {
        let units = self.store.report_units()?;
        let teams = self.store.report_teams()?;
        let members = self.store.report_members()?;
        Ok(crate::handoff::route::Directory::new(&units, &teams, &members))
    }
}
