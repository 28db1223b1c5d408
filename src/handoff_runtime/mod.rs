//! Citizen → team hand-off, I/O edge: connects the pure core (`crate::handoff`) to the
//! store (`store::handoff`, members and units of `store::reports`), the clock and the
//! outbox.
//!
//! - `chat`: `Handoff::handle_chat` (asked first by the conversation worker for each
//!   text) and `Handoff::start` (a dialog node with `action = "handoff"`);
//! - `scheduler`: escalations, the Zalo-window warning and retention, sent once;
//! - `query`: requests and contributions for the admin API, the console and the export;
//! - `export`: the "Đóng góp" sheet (CSV/XLSX) of the contributions.
//!
//! Invariant: an event's hand-off writes, its replay record and the messages it sends
//! to other users commit in one transaction (`Store::commit_handoff`); a replayed
//! event returns the recorded replies and writes nothing.

mod chat;
pub mod export;
pub mod query;
pub mod scheduler;

use crate::calendar::UnixSecs;
use std::sync::{Arc, Mutex, PoisonError};

use crate::clock::Clock;
use crate::handoff::HandoffConfig;
use crate::handoff::route::Directory;
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
    /// The routing directory and the store's directory generation it was built at:
    /// rebuilt only after units, teams or members changed (a rebuild reads and parses
    /// every member: ≈ 75 ms at 5,000 teams, against ≈ 10 µs to route).
    directory: Arc<Mutex<Option<CachedDirectory>>>,
    /// The report definitions as the reports runtime has them now (it reloads them), so
    /// a leader's overview says where the team stands with the period it is asked for.
    report_defs: Option<ReportDefs>,
}

/// A directory and the store's directory generation it was built at.
type CachedDirectory = (u64, Arc<Directory>);

/// Reads the current report definitions (`Handoff::with_report_definitions`).
pub type ReportDefs = Arc<dyn Fn() -> Arc<crate::reports::definition::Definitions> + Send + Sync>;

impl Handoff {
    pub fn new(store: Store, settings: HandoffSettings, clock: Clock) -> Handoff {
        let config = Arc::new(settings.config());
        Handoff {
            store,
            settings: Arc::new(settings),
            config,
            clock,
            directory: Arc::default(),
            report_defs: None,
        }
    }

    /// The same, with the report definitions for the leader's overview.
    pub fn with_report_definitions(self, defs: ReportDefs) -> Handoff {
        Handoff { report_defs: Some(defs), ..self }
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
    pub(crate) fn reachable(&self, user: &str, now: UnixSecs) -> bool {
        let last = self.store.last_reachable_interaction(user).ok().flatten();
        crate::reports::reminders::within_window(last, self.config.window_days, now)
    }

    /// Units, teams and members as the router needs them (cached, see the field).
    pub fn directory(&self) -> anyhow::Result<Arc<Directory>> {
        // Read the generation first: a write racing with the rebuild leaves the cache
        // marked older than the store, so the next call rebuilds again.
        let generation = self.store.directory_generation();
        if let Some((built_at, dir)) =
            self.directory.lock().unwrap_or_else(PoisonError::into_inner).as_ref()
            && *built_at == generation
        {
            return Ok(dir.clone());
        }
        let units = self.store.report_units()?;
        let teams = self.store.report_teams()?;
        let members = self.store.report_members()?;
        let dir = Arc::new(Directory::new(&units, &teams, &members));
        *self.directory.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((generation, dir.clone()));
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::UnixSecs;
    use crate::reports::model::{Member, Role};
    use crate::store::reports::{LastEvent, ReportWrite};

    #[test]
    fn the_cached_directory_follows_member_and_team_changes() {
        let store = Store::temporary().unwrap();
        let handoff = Handoff::new(store.clone(), HandoffSettings::default(), Clock::system());
        let team = store.insert_team("V1", "Tổ V1", None, UnixSecs(0)).unwrap();
        assert!(handoff.directory().unwrap().team_members(team.id).is_empty());
        let first = handoff.directory().unwrap();
        assert!(Arc::ptr_eq(&first, &handoff.directory().unwrap()), "unchanged: reused");

        let member = Member {
            user_id: "u1".into(),
            team: Some(team.id),
            unit: None,
            role: Role::Member,
            display_name: None,
            joined_at: UnixSecs(0),
        };
        let last = LastEvent { event_key: "e1".into(), replies: vec![] };
        store.commit_report_writes("u1", &last, &[ReportWrite::PutMember(member)]).unwrap();
        assert_eq!(handoff.directory().unwrap().team_members(team.id).len(), 1);

        store.set_member_display_name("u1", "Nguyễn Văn A").unwrap();
        assert_eq!(handoff.directory().unwrap().display_name("u1"), "Nguyễn Văn A");
        store.set_report_member_name("u1", Some("Trần Thị B")).unwrap();
        assert_eq!(handoff.directory().unwrap().display_name("u1"), "Trần Thị B");

        store.forget_report_user("u1").unwrap();
        assert!(handoff.directory().unwrap().team_members(team.id).is_empty());
        let other = store.insert_team("V2", "Tổ V2", None, UnixSecs(0)).unwrap();
        assert!(handoff.directory().unwrap().team(other.id).is_some());
    }
}
