//! Persistence of the reports feature: units, teams, members, invites, report versions,
//! form sessions and the per-user replay record.
//!
//! Everything lives in one tree, `reports`, under key prefixes, so a chat command's
//! writes and its replay record commit in one single-tree transaction:
//!
//! | key                                         | value                          |
//! |---------------------------------------------|--------------------------------|
//! | `unit/{code}`                               | `Unit`                         |
//! | `team/{id:016x}`                            | `Team`                         |
//! | `seq/team`                                  | last team id, u64 BE           |
//! | `member/{user}`                             | `Member`                       |
//! | `invite/{CODE}`                             | `Invite`                       |
//! | `rep/{team:016x}/{type}/{period}/{v:08x}`   | `ReportVersion` (never deleted)|
//! | `form/{user}`                               | `FormState`                    |
//! | `last/{user}`                               | `LastEvent`                    |
//!
//! Report keys sort by team, type, period, version, so "current version" is a prefix
//! scan and all versions of one report are adjacent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::{Store, StoreError, from_json, to_json};
use crate::reply::Reply;
use crate::reports::form::FormState;
use crate::reports::model::{Invite, Member, ReportVersion, Team, Unit};

const TREE: &str = "reports";

/// The last chat event handled for a user and what was answered. If the same event is
/// processed again (crash before the reply was queued), the stored answer is returned
/// and nothing is written twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastEvent {
    pub event_key: String,
    pub replies: Vec<Reply>,
}

/// One write of a chat command, applied atomically with the replay record.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportWrite {
    PutMember(Member),
    RemoveMember(String),
    PutInvite(Invite),
    /// Marks the invite used by `user`; fails with `Conflict` if someone else used it.
    ConsumeInvite {
        code: String,
        user: String,
        at: i64,
    },
    /// A new version; fails with `Conflict` if that version number already exists
    /// (another member of the team submitted at the same moment).
    AddReport(ReportVersion),
    /// Overwrites an existing version (withdrawal).
    UpdateReport(ReportVersion),
    PutForm(String, FormState),
    ClearForm(String),
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("conflicting concurrent write: {0}")]
    Conflict(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn team_key(id: u64) -> String {
    format!("team/{id:016x}")
}

fn report_prefix(team: u64, report: &str, period: &str) -> String {
    format!("rep/{team:016x}/{report}/{period}/")
}

fn report_key(v: &ReportVersion) -> String {
    format!("{}{:08x}", report_prefix(v.team, &v.report, &v.period), v.version)
}

impl Store {
    fn reports_tree(&self) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(TREE)?)
    }

    fn scan<T: serde::de::DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>, StoreError> {
        self.reports_tree()?
            .scan_prefix(prefix.as_bytes())
            .map(|item| {
                let (_, value) = item?;
                from_json(TREE, &value)
            })
            .collect()
    }

    fn get_one<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.reports_tree()?.get(key.as_bytes())?.map(|v| from_json(TREE, &v)).transpose()
    }

    // ----- units and teams -----------------------------------------------------

    pub fn report_units(&self) -> Result<Vec<Unit>, StoreError> {
        self.scan("unit/")
    }

    pub fn report_unit(&self, code: &str) -> Result<Option<Unit>, StoreError> {
        self.get_one(&format!("unit/{code}"))
    }

    /// Inserts or replaces units, all or nothing, durably.
    pub fn put_report_units(&self, units: &[Unit]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for unit in units {
            batch.insert(format!("unit/{}", unit.code).as_bytes(), to_json(unit));
        }
        self.reports_tree()?.apply_batch(batch)?;
        self.flush_blocking()
    }

    /// Creates a team with the next small id, durably.
    pub fn create_team(&self, unit: &str, name: &str, now: i64) -> Result<Team, StoreError> {
        let tree = self.reports_tree()?;
        let next = tree.update_and_fetch(b"seq/team", |old| {
            let n = old.and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes);
            Some((n + 1).to_be_bytes().to_vec())
        })?;
        let id = next.and_then(|b| b.as_ref().try_into().ok()).map_or(1, u64::from_be_bytes);
        let team = Team { id, unit: unit.to_owned(), name: name.to_owned(), created_at: now };
        tree.insert(team_key(id).as_bytes(), to_json(&team))?;
        self.flush_blocking()?;
        Ok(team)
    }

    pub fn report_teams(&self) -> Result<Vec<Team>, StoreError> {
        self.scan("team/")
    }

    pub fn report_team(&self, id: u64) -> Result<Option<Team>, StoreError> {
        self.get_one(&team_key(id))
    }

    // ----- members and invites -------------------------------------------------

    pub fn report_member(&self, user_id: &str) -> Result<Option<Member>, StoreError> {
        self.get_one(&format!("member/{user_id}"))
    }

    pub fn report_members(&self) -> Result<Vec<Member>, StoreError> {
        self.scan("member/")
    }

    pub fn report_invite(&self, code: &str) -> Result<Option<Invite>, StoreError> {
        self.get_one(&format!("invite/{code}"))
    }

    /// Stores a new invite unless its code exists; returns whether it was stored.
    pub fn add_report_invite(&self, invite: &Invite) -> Result<bool, StoreError> {
        let key = format!("invite/{}", invite.code);
        let swapped = self.reports_tree()?.compare_and_swap(
            key.as_bytes(),
            None::<&[u8]>,
            Some(to_json(invite)),
        )?;
        if swapped.is_ok() {
            self.flush_blocking()?;
        }
        Ok(swapped.is_ok())
    }

    // ----- reports -------------------------------------------------------------

    /// Every stored version, in key order (team, type, period, version).
    pub fn report_versions(&self) -> Result<Vec<ReportVersion>, StoreError> {
        self.scan("rep/")
    }

    /// All versions of one team's report for one period, oldest first.
    pub fn report_history(
        &self,
        team: u64,
        report: &str,
        period: &str,
    ) -> Result<Vec<ReportVersion>, StoreError> {
        self.scan(&report_prefix(team, report, period))
    }

    /// All versions of one team, in key order.
    pub fn team_report_versions(&self, team: u64) -> Result<Vec<ReportVersion>, StoreError> {
        self.scan(&format!("rep/{team:016x}/"))
    }

    /// The current version of each (team, type, period): the latest not withdrawn.
    pub fn current_reports(&self) -> Result<Vec<ReportVersion>, StoreError> {
        let mut current: BTreeMap<(u64, String, String), ReportVersion> = BTreeMap::new();
        for v in self.report_versions()? {
            if v.withdrawn_at.is_none() {
                current.insert((v.team, v.report.clone(), v.period.clone()), v);
            }
        }
        Ok(current.into_values().collect())
    }

    // ----- chat state ----------------------------------------------------------

    pub fn report_form(&self, user_id: &str) -> Result<Option<FormState>, StoreError> {
        self.get_one(&format!("form/{user_id}"))
    }

    pub fn report_last_event(&self, user_id: &str) -> Result<Option<LastEvent>, StoreError> {
        self.get_one(&format!("last/{user_id}"))
    }

    /// Applies `writes` and records `last` for `user_id`, atomically. Not durable until
    /// a flush (`durable = true` flushes before returning).
    pub fn commit_report_writes(
        &self,
        user_id: &str,
        last: &LastEvent,
        writes: &[ReportWrite],
        durable: bool,
    ) -> Result<(), CommitError> {
        let tree = self.reports_tree()?;
        let result = tree.transaction(|tx| {
            for write in writes {
                apply(tx, write)?;
            }
            tx.insert(format!("last/{user_id}").as_bytes(), to_json(last))?;
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(TransactionError::Abort(e)) => return Err(e),
            Err(TransactionError::Storage(e)) => return Err(StoreError::Sled(e).into()),
        }
        if durable {
            self.flush_blocking()?;
        }
        Ok(())
    }
}

fn apply(
    tx: &TransactionalTree,
    write: &ReportWrite,
) -> Result<(), ConflictableTransactionError<CommitError>> {
    let abort = |why| ConflictableTransactionError::Abort(CommitError::Conflict(why));
    match write {
        ReportWrite::PutMember(m) => {
            tx.insert(format!("member/{}", m.user_id).as_bytes(), to_json(m))?;
        }
        ReportWrite::RemoveMember(user) => {
            tx.remove(format!("member/{user}").as_bytes())?;
        }
        ReportWrite::PutInvite(i) => {
            let key = format!("invite/{}", i.code);
            if tx.get(key.as_bytes())?.is_some() {
                return Err(abort("invite code exists"));
            }
            tx.insert(key.as_bytes(), to_json(i))?;
        }
        ReportWrite::ConsumeInvite { code, user, at } => {
            let key = format!("invite/{code}");
            let Some(bytes) = tx.get(key.as_bytes())? else { return Err(abort("invite vanished")) };
            let mut invite: Invite =
                serde_json::from_slice(&bytes).map_err(|_| abort("invite record unreadable"))?;
            match &invite.used_by {
                Some(other) if other != user => return Err(abort("invite already used")),
                _ => {}
            }
            invite.used_by = Some(user.clone());
            invite.used_at = Some(*at);
            tx.insert(key.as_bytes(), to_json(&invite))?;
        }
        ReportWrite::AddReport(v) => {
            let key = report_key(v);
            if tx.get(key.as_bytes())?.is_some() {
                return Err(abort("report version exists"));
            }
            tx.insert(key.as_bytes(), to_json(v))?;
        }
        ReportWrite::UpdateReport(v) => {
            tx.insert(report_key(v).as_bytes(), to_json(v))?;
        }
        ReportWrite::PutForm(user, form) => {
            tx.insert(format!("form/{user}").as_bytes(), to_json(form))?;
        }
        ReportWrite::ClearForm(user) => {
            tx.remove(format!("form/{user}").as_bytes())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::model::{Role, UnitKind};

    fn version(team: u64, v: u32, event: &str) -> ReportVersion {
        ReportVersion {
            team,
            report: "thang".into(),
            period: "2026-10".into(),
            version: v,
            definition: "d".into(),
            values: BTreeMap::new(),
            submitted_by: "u".into(),
            submitted_at: 1,
            on_time: true,
            source_event: event.into(),
            withdrawn_at: None,
        }
    }

    fn last(key: &str) -> LastEvent {
        LastEvent { event_key: key.into(), replies: vec![Reply::text("ok")] }
    }

    #[test]
    fn teams_get_small_sequential_ids() {
        let store = Store::temporary().unwrap();
        let unit = Unit {
            code: "1".into(),
            name: "X".into(),
            kind: UnitKind::Tinh,
            parent: None,
            aliases: vec![],
            valid_from: None,
            valid_to: None,
            replaced_by: None,
        };
        store.put_report_units(&[unit]).unwrap();
        assert_eq!(store.create_team("1", "A", 0).unwrap().id, 1);
        assert_eq!(store.create_team("1", "B", 0).unwrap().id, 2);
        assert_eq!(store.report_teams().unwrap().len(), 2);
        assert_eq!(store.report_units().unwrap().len(), 1);
    }

    #[test]
    fn versions_never_collide_and_current_skips_withdrawn() {
        let store = Store::temporary().unwrap();
        store
            .commit_report_writes(
                "u",
                &last("e1"),
                &[ReportWrite::AddReport(version(1, 1, "e1"))],
                true,
            )
            .unwrap();
        let again = store.commit_report_writes(
            "u",
            &last("e2"),
            &[ReportWrite::AddReport(version(1, 1, "e2"))],
            true,
        );
        assert!(matches!(again, Err(CommitError::Conflict(_))));
        // The failed commit wrote nothing, not even the replay record.
        assert_eq!(store.report_last_event("u").unwrap().unwrap().event_key, "e1");
        store
            .commit_report_writes(
                "u",
                &last("e3"),
                &[ReportWrite::AddReport(version(1, 2, "e3"))],
                true,
            )
            .unwrap();
        assert_eq!(store.current_reports().unwrap()[0].version, 2);
        let mut withdrawn = version(1, 2, "e3");
        withdrawn.withdrawn_at = Some(5);
        store
            .commit_report_writes("u", &last("e4"), &[ReportWrite::UpdateReport(withdrawn)], true)
            .unwrap();
        assert_eq!(store.current_reports().unwrap()[0].version, 1);
        assert_eq!(store.report_history(1, "thang", "2026-10").unwrap().len(), 2);
    }

    #[test]
    fn an_invite_is_used_once() {
        let store = Store::temporary().unwrap();
        let invite = Invite {
            code: "ABC234".into(),
            team: Some(1),
            unit: None,
            role: Role::Member,
            created_at: 0,
            expires_at: 10,
            created_by: "admin-api".into(),
            used_by: None,
            used_at: None,
        };
        assert!(store.add_report_invite(&invite).unwrap());
        assert!(!store.add_report_invite(&invite).unwrap());
        let consume = |user: &str| ReportWrite::ConsumeInvite {
            code: "ABC234".into(),
            user: user.into(),
            at: 1,
        };
        store.commit_report_writes("a", &last("1"), &[consume("a")], false).unwrap();
        // The same user again (a replay) is fine; someone else is refused.
        store.commit_report_writes("a", &last("2"), &[consume("a")], false).unwrap();
        assert!(matches!(
            store.commit_report_writes("b", &last("3"), &[consume("b")], false),
            Err(CommitError::Conflict("invite already used"))
        ));
    }
}
