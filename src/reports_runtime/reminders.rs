//! The reminder scheduler task: every few minutes, plan reminders (pure, in
//! `reports::reminders`) and queue each one with `Store::enqueue_once`, whose once-key
//! record is the scheduler's state: it lives in the store, survives restarts, and makes
//! a second send of the same reminder impossible.

use crate::calendar::UnixSecs;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::reports::aggregate::Hierarchy;
use crate::reports::reminders::{World, candidate_periods, plan};
use crate::zalo::message;

use super::Reporting;

impl Reporting {
    /// Starts the scheduler unless `reports.reminders` is off. `sender_wake` wakes the
    /// outbox sender after reminders were queued.
    pub fn spawn_reminders(&self, sender_wake: Arc<Notify>) -> Option<JoinHandle<()>> {
        if !self.settings.reminders {
            return None;
        }
        let this = self.clone();
        let every = Duration::from_secs(self.settings.reminder_interval_secs.max(10));
        Some(crate::shutdown::spawn_periodic("report reminders", every, sender_wake, move || {
            this.remind_once(this.clock().now_secs())
        }))
    }

    /// One scheduler pass at `now`. Returns how many messages were newly queued.
    pub fn remind_once(&self, now: UnixSecs) -> anyhow::Result<usize> {
        let units = self.store.report_units()?;
        let hierarchy = Hierarchy::new(&units);
        let teams = self.store.report_teams()?;
        let members = self.store.report_members()?;
        let defs = self.defs();
        // Only the periods reminders can be about are read, and no values.
        let mut reported: HashSet<(u64, String, String)> = HashSet::new();
        for report in &defs.reports {
            let periods: Vec<String> =
                candidate_periods(report, now).iter().map(|p| p.key()).collect();
            for r in self.store.current_report_numbers(&report.key, &periods, &[])? {
                reported.insert((r.team, report.key.clone(), r.period.to_string()));
            }
        }
        // Users who unfollowed (or whom Zalo refused) count as never seen: unreachable.
        let mut last_interaction: HashMap<String, UnixSecs> = HashMap::new();
        for m in &members {
            if let Some(at) = self.store.last_reachable_interaction(&m.user_id)? {
                last_interaction.insert(m.user_id.clone(), at);
            }
        }
        let world = World {
            defs: &defs,
            hierarchy: &hierarchy,
            teams: &teams,
            members: &members,
            reported: &reported,
            last_interaction: &last_interaction,
        };
        let planned = plan(&world, &self.settings.reminder_config(), now);
        let mut queued = 0;
        for p in &planned {
            let messages = message::to_messages(&p.reply);
            if self.store.enqueue_once(&p.once_key, &p.user_id, &messages, now.to_ms())? {
                queued += 1;
                metrics::counter!("cnscd_reminders_sent_total").increment(1);
            }
        }
        // No flush: `enqueue_once` is atomic and marks the store, which the sender
        // flushes before sending.
        Ok(queued)
    }
}
