//! Persistence of the hand-off (`crate::handoff`): one tree, `handoff`.
//!
//! | key                  | value                                        |
//! |----------------------|----------------------------------------------|
//! | `req/{id:016x}`      | `Request`                                    |
//! | `live/{id:016x}`     | empty: index of open and claimed requests    |
//! | `seq/req`            | last request number, u64 BE                  |
//! | `cit/{user}`         | `Citizen` (stage, remembered place)          |
//! | `pend/{user}`        | `PendingRelay` (a member's unconfirmed text) |
//! | `last/{user}`        | `LastEvent` (replay record of the last event)|
//!
//! A chat event's writes, its replay record and the messages it sends to *other* users
//! (the member told about a claim, the citizen given an answer) commit in one
//! transaction over this tree and the outbox, so a crash either replays the event or
//! has done all of it, and a replay never sends twice.

use crate::calendar::UnixMs;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::reports::{CommitError, LastEvent};
use super::{Store, StoreError, from_json, outbox, to_json};
use crate::handoff::model::{Citizen, PendingRelay, Request};

pub(super) const TREE: &str = "handoff";

fn req_key(id: u64) -> String {
    format!("req/{id:016x}")
}

fn live_key(id: u64) -> String {
    format!("live/{id:016x}")
}

/// One write of a hand-off event.
#[derive(Debug, Clone, PartialEq)]
pub enum HandoffWrite {
    /// Stores the request; `request.rev` must be one more than the stored revision
    /// (0 for a new request), else the event is retried against fresh state.
    PutRequest(Box<Request>),
    PutCitizen(String, Citizen),
    PutPending(String, PendingRelay),
    ClearPending(String),
}

/// Messages for another user, queued with the event.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub user_id: String,
    pub messages: Vec<super::RawJson>,
}

impl Store {
    fn handoff_get<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        self.handoff.get(key.as_bytes())?.map(|v| from_json(TREE, &v)).transpose()
    }

    pub fn handoff_request(&self, id: u64) -> Result<Option<Request>, StoreError> {
        self.handoff_get(&req_key(id))
    }

    /// Every request, oldest first.
    pub fn handoff_requests(&self) -> Result<Vec<Request>, StoreError> {
        self.handoff
            .scan_prefix(b"req/")
            .map(|item| {
                let (_, value) = item?;
                from_json(TREE, &value)
            })
            .collect()
    }

    /// Open and claimed requests, oldest first.
    pub fn handoff_live_requests(&self) -> Result<Vec<Request>, StoreError> {
        let mut out = Vec::new();
        for item in self.handoff.scan_prefix(b"live/") {
            let (key, _) = item?;
            let id = std::str::from_utf8(&key[5..])
                .ok()
                .and_then(|hex| u64::from_str_radix(hex, 16).ok());
            if let Some(request) = id.map(|id| self.handoff_request(id)).transpose()?.flatten() {
                out.push(request);
            }
        }
        Ok(out)
    }

    pub fn handoff_citizen(&self, user: &str) -> Result<Option<Citizen>, StoreError> {
        self.handoff_get(&format!("cit/{user}"))
    }

    pub fn handoff_pending(&self, user: &str) -> Result<Option<PendingRelay>, StoreError> {
        self.handoff_get(&format!("pend/{user}"))
    }

    pub fn handoff_last_event(&self, user: &str) -> Result<Option<LastEvent>, StoreError> {
        self.handoff_get(&format!("last/{user}"))
    }

    /// The next request number (1, 2, …). Numbers skipped by a retried event are lost.
    pub fn handoff_next_id(&self) -> Result<u64, StoreError> {
        let next = self.handoff.update_and_fetch(b"seq/req", |old| {
            let n = old.and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes);
            Some((n + 1).to_be_bytes().to_vec())
        })?;
        Ok(next.and_then(|b| b.as_ref().try_into().ok()).map_or(1, u64::from_be_bytes))
    }

    /// Applies `writes`, records `last` for `user` (when given) and queues `outgoing`,
    /// atomically. Not flushed: marked, so the sender flushes before it sends anything.
    pub fn commit_handoff(
        &self,
        user: Option<&str>,
        last: Option<&LastEvent>,
        writes: &[HandoffWrite],
        outgoing: &[Outgoing],
        UnixMs(now_ms): UnixMs,
    ) -> Result<(), CommitError> {
        let mut entries = Vec::new();
        for o in outgoing {
            entries.extend(self.new_outbox_entries(&o.user_id, &o.messages, now_ms)?);
        }
        let result =
            (&self.handoff, &self.outbox, &self.outbox_queue).transaction(|(tree, out, queue)| {
                let abort = |why| ConflictableTransactionError::Abort(CommitError::Conflict(why));
                for write in writes {
                    match write {
                        HandoffWrite::PutRequest(r) => {
                            let key = req_key(r.id);
                            let stored_rev = match tree.get(key.as_bytes())? {
                                Some(bytes) => serde_json::from_slice::<Request>(&bytes)
                                    .map_err(|_| abort("request record unreadable"))?
                                    .rev
                                    .checked_add(1),
                                None => Some(0),
                            };
                            if stored_rev != Some(r.rev) {
                                return Err(abort("request changed meanwhile"));
                            }
                            tree.insert(key.as_bytes(), to_json(r))?;
                            if r.status.is_live() {
                                tree.insert(live_key(r.id).as_bytes(), &[])?;
                            } else {
                                tree.remove(live_key(r.id).as_bytes())?;
                            }
                        }
                        HandoffWrite::PutCitizen(user, c) => {
                            tree.insert(format!("cit/{user}").as_bytes(), to_json(c))?;
                        }
                        HandoffWrite::PutPending(user, p) => {
                            tree.insert(format!("pend/{user}").as_bytes(), to_json(p))?;
                        }
                        HandoffWrite::ClearPending(user) => {
                            tree.remove(format!("pend/{user}").as_bytes())?;
                        }
                    }
                }
                if let (Some(user), Some(last)) = (user, last) {
                    tree.insert(format!("last/{user}").as_bytes(), to_json(last))?;
                }
                outbox::insert_new(out, queue, &entries)?;
                Ok(())
            });
        match result {
            Ok(()) => {
                self.note_unflushed_write();
                self.settle_queued_steps()?;
                Ok(self.resync_due(entries.iter().map(|e| (e.user_id.as_str(), e.id)))?)
            }
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e).into()),
        }
    }

    /// Forgets a citizen who withdrew consent (Zalo `user_withdraw`): their stage and
    /// replay record go, and their requests keep only the figures (no texts, no id).
    pub fn forget_handoff_user(&self, user: &str) -> Result<usize, StoreError> {
        let mut purged = 0;
        for mut r in self.handoff_requests()? {
            if r.citizen == user {
                crate::handoff::model::purge(&mut r);
                self.handoff.insert(req_key(r.id).as_bytes(), to_json(&r))?;
                self.handoff.remove(live_key(r.id).as_bytes())?;
                purged += 1;
            }
        }
        for prefix in ["cit", "pend", "last"] {
            self.handoff.remove(format!("{prefix}/{user}").as_bytes())?;
        }
        Ok(purged)
    }

    /// Overwrites a request without a revision check (the scheduler's purge and
    /// escalation use `commit_handoff`; this is for retention of old records).
    pub fn handoff_put_request_unchecked(&self, r: &Request) -> Result<(), StoreError> {
        self.handoff.insert(req_key(r.id).as_bytes(), to_json(r))?;
        if !r.status.is_live() {
            self.handoff.remove(live_key(r.id).as_bytes())?;
        }
        Ok(())
    }
}

impl Store {
    /// Sets the display name of a registered member (`/ten`); returns false if the user
    /// is not a member. The name lives in the member record of the reports tree.
    pub fn set_member_display_name(&self, user: &str, name: &str) -> Result<bool, StoreError> {
        let key = format!("member/{user}");
        let Some(bytes) = self.reports.get(key.as_bytes())? else { return Ok(false) };
        let mut member: crate::reports::model::Member = from_json(super::reports::TREE, &bytes)?;
        member.display_name = Some(name.to_owned());
        self.reports.insert(key.as_bytes(), to_json(&member))?;
        self.directory_changed();
        Ok(true)
    }
}

impl Store {
    /// Every invite (for the contribution figures: invites used).
    pub fn report_invites(&self) -> Result<Vec<crate::reports::model::Invite>, StoreError> {
        self.reports
            .scan_prefix(b"invite/")
            .map(|item| {
                let (_, value) = item?;
                from_json(super::reports::TREE, &value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::UnixSecs;
    use crate::handoff::model::Status;

    fn request(id: u64, rev: u64) -> Request {
        Request { rev, ..Request::open(id, "c", "v", "q".into(), UnixSecs(0)) }
    }

    #[test]
    fn revisions_guard_concurrent_writes_and_live_index_follows_status() {
        let store = Store::temporary().unwrap();
        let put = |r: Request| {
            store.commit_handoff(
                None,
                None,
                &[HandoffWrite::PutRequest(Box::new(r))],
                &[],
                UnixMs(0),
            )
        };
        put(request(1, 0)).unwrap();
        assert!(matches!(put(request(1, 0)), Err(CommitError::Conflict(_))));
        assert_eq!(store.handoff_live_requests().unwrap().len(), 1);
        let mut closed = request(1, 1);
        closed.status = Status::Closed;
        put(closed).unwrap();
        assert!(store.handoff_live_requests().unwrap().is_empty());
        assert_eq!(store.handoff_requests().unwrap()[0].status, Status::Closed);
        assert_eq!(store.handoff_next_id().unwrap(), 1);
        assert_eq!(store.handoff_next_id().unwrap(), 2);
    }

    #[test]
    fn outgoing_messages_are_queued_with_the_writes() {
        let store = Store::temporary().unwrap();
        let out = Outgoing {
            user_id: "m".into(),
            messages: vec![crate::store::RawJson::new(&serde_json::json!({"text": "x"}))],
        };
        store
            .commit_handoff(
                Some("c"),
                None,
                &[HandoffWrite::PutRequest(Box::new(request(1, 0)))],
                &[out],
                UnixMs(5),
            )
            .unwrap();
        assert_eq!(store.outbox_due(UnixMs(10), 10).unwrap().len(), 1);
        assert_eq!(store.forget_handoff_user("c").unwrap(), 1);
        let r = store.handoff_request(1).unwrap().unwrap();
        assert!(r.purged && r.citizen.is_empty() && r.question.is_empty());
    }
}
