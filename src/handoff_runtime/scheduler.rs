//! The hand-off scheduler: every `handoff.interval_secs`, plan escalations, Zalo-window
//! warnings and retention (pure, `handoff::escalate`) and carry them out. Each message
//! is queued with `Store::enqueue_once` under a key naming the request and the step, so
//! it is sent once, across restarts; level changes are revision-checked writes.

use crate::calendar::UnixSecs;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::handoff::escalate::{Planned, plan};
use crate::handoff::model::{Request, purge};
use crate::handoff::render;
use crate::reports::model::Role;
use crate::store::handoff::{HandoffWrite, Outgoing};
use crate::zalo::message;

use super::Handoff;
use super::chat::reopen;

impl Handoff {
    /// Starts the scheduler (unless the hand-off is off).
    pub fn spawn_scheduler(&self, sender_wake: Arc<Notify>) -> Option<JoinHandle<()>> {
        if !self.enabled() {
            return None;
        }
        let this = self.clone();
        let every = Duration::from_secs(self.settings.interval_secs.max(1));
        Some(crate::shutdown::spawn_periodic("hand-off scheduler", every, sender_wake, move || {
            this.run_once(this.clock.now_secs())
        }))
    }

    /// One pass at `now`; returns how many messages were queued or records changed.
    pub fn run_once(&self, now: UnixSecs) -> anyhow::Result<usize> {
        let dir = self.directory()?;
        let reachable = |u: &str| self.reachable(u, now);
        let mut changes = 0;
        // A claimer who left the team (or whose membership ended) gives the request back.
        for r in self.store.handoff_live_requests()? {
            let Some(claimer) = r.claimed_by.clone() else { continue };
            let still = match self.store.report_member(&claimer)? {
                Some(m) => m.role == Role::Admin || (m.team.is_some() && m.team == r.claimer_team),
                None => false,
            };
            if still {
                continue;
            }
            let (r, tell) = reopen(r, &dir, &reachable, now);
            let place = dir.place_label(&r.unit);
            let mut outgoing: Vec<Outgoing> = tell
                .iter()
                .map(|u| Outgoing {
                    user_id: u.clone(),
                    messages: message::to_messages(&render::new_request(
                        r.id,
                        &place,
                        &r.question,
                        false,
                    )),
                })
                .collect();
            if !r.citizen.is_empty() {
                outgoing.push(Outgoing {
                    user_id: r.citizen.clone(),
                    messages: message::to_messages(&render::returned_for_citizen(r.id)),
                });
            }
            if self
                .store
                .commit_handoff(
                    None,
                    None,
                    &[HandoffWrite::PutRequest(Box::new(r))],
                    &outgoing,
                    now.to_ms(),
                )
                .is_ok()
            {
                changes += 1;
            }
        }
        let mut requests = self.store.handoff_live_requests()?;
        requests.extend(
            self.store.handoff_requests()?.into_iter().filter(|r| !r.status.is_live() && !r.purged),
        );
        for p in plan(&requests, &dir, &reachable, &self.config, now) {
            match p {
                Planned::Send { once_key, user, reply } => {
                    if user.is_empty() {
                        continue;
                    }
                    let messages = message::to_messages(&reply);
                    if self.store.enqueue_once(&once_key, &user, &messages, now.to_ms())? {
                        changes += 1;
                    }
                }
                Planned::Escalate { id, level, notified } => {
                    changes += usize::from(self.update(id, now, |r| {
                        r.level = level;
                        r.notified = notified.clone();
                    })?);
                }
                Planned::Purge { id } => {
                    changes += usize::from(self.update(id, now, purge)?);
                }
            }
        }
        Ok(changes)
    }

    /// Re-reads request `id`, applies `change` and writes it (revision-checked); a
    /// conflict leaves it to the next pass.
    fn update(
        &self,
        id: u64,
        now: UnixSecs,
        change: impl Fn(&mut Request),
    ) -> anyhow::Result<bool> {
        let Some(mut r) = self.store.handoff_request(id)? else { return Ok(false) };
        change(&mut r);
        r.rev += 1;
        Ok(self
            .store
            .commit_handoff(None, None, &[HandoffWrite::PutRequest(Box::new(r))], &[], now.to_ms())
            .is_ok())
    }
}
