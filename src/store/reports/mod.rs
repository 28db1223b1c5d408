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
//! | `rep/{type}/{period}/{team:016x}/{v:08x}`   | `ReportVersion` (never deleted)|
//! | `byteam/{team:016x}/{type}/{period}/{v:08x}`| empty (index for one team)     |
//! | `cur/{type}/{period}/{team/32:016x}`        | current reports' numbers (see `current`) |
//! | `rollup/version`                            | layout version of `cur/`, u32 BE |
//! | `form/{user}`                               | `FormState`                    |
//! | `last/{user}`                               | `LastEvent`                    |
//!
//! Report keys sort by type, period, team, version: a period's reports are one prefix
//! scan (the admin queries), and all versions of one team's report are adjacent.

use crate::calendar::UnixSecs;
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::{Store, StoreError, from_json, to_json};
use crate::reply::Reply;
use crate::reports::form::FormState;
use crate::reports::model::{Invite, Member, ReportVersion, Team, Unit};
use crate::reports::view::VersionView;

mod current;
mod numbers;

pub use numbers::ReportNumbers;

pub(super) const TREE: &str = "reports";

/// The last chat event handled for a user and what was answered. If the same event is
/// processed again (crash before the reply was queued), the stored answer is returned
/// and nothing is written twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastEvent {
    pub event_key: String,
    pub replies: Vec<Reply>,
}

/// Stored report versions kept as the bytes sled handed out, to be read in place
/// (`views`): an export borrows its strings from them instead of parsing 100,000
/// versions into owned records and dropping them again.
pub struct StoredVersions {
    /// Each version's bytes in key order, with the number of its run of versions of one
    /// (type, period, team).
    records: Vec<(u32, sled::IVec)>,
    /// Keep only the current version of each run (the latest not withdrawn).
    current_only: bool,
}

impl StoredVersions {
    /// The versions, read in place; only the current ones if so asked.
    pub fn views(&self) -> Result<Vec<VersionView<'_>>, StoreError> {
        let mut out = Vec::with_capacity(self.records.len());
        let mut run = None;
        let mut best = None;
        for (at, bytes) in &self.records {
            let view: VersionView<'_> = serde_json::from_slice(bytes)
                .map_err(|source| StoreError::Corrupt { tree: TREE, source })?;
            if !self.current_only {
                out.push(view);
                continue;
            }
            if run != Some(*at) {
                out.extend(best.take());
                run = Some(*at);
            }
            if view.withdrawn_at.is_none() {
                best = Some(view);
            }
        }
        out.extend(best);
        Ok(out)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// One write of a chat command (decided by `reports::chat`), applied atomically with the
/// replay record.
pub use crate::reports::chat::Write as ReportWrite;

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
    format!("rep/{report}/{period}/{team:016x}/")
}

fn report_key(v: &ReportVersion) -> String {
    format!("{}{:08x}", report_prefix(v.team, &v.report, &v.period.key()), v.version)
}

fn team_index_key(v: &ReportVersion) -> String {
    format!("byteam/{:016x}/{}/{}/{:08x}", v.team, v.report, v.period.key(), v.version)
}

impl Store {
    fn reports_tree(&self) -> &sled::Tree {
        &self.reports
    }

    fn scan<T: serde::de::DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>, StoreError> {
        self.reports_tree()
            .scan_prefix(prefix.as_bytes())
            .map(|item| {
                let (_, value) = item?;
                from_json(TREE, &value)
            })
            .collect()
    }

    fn get_one<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.reports_tree().get(key.as_bytes())?.map(|v| from_json(TREE, &v)).transpose()
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
        self.reports_tree().apply_batch(batch)?;
        self.directory_changed();
        self.flush_blocking()
    }

    /// Creates a team with the next small id, durably.
    pub fn create_team(
        &self,
        unit: &str,
        name: &str,
        expected_from: Option<UnixSecs>,
        now: UnixSecs,
    ) -> Result<Team, StoreError> {
        let team = self.insert_team(unit, name, expected_from, now)?;
        self.flush_blocking()?;
        Ok(team)
    }

    /// Creates a team with the next small id; not flushed (imports flush once at the end).
    pub fn insert_team(
        &self,
        unit: &str,
        name: &str,
        expected_from: Option<UnixSecs>,
        now: UnixSecs,
    ) -> Result<Team, StoreError> {
        let tree = self.reports_tree();
        let next = tree.update_and_fetch(b"seq/team", |old| {
            let n = old.and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes);
            Some((n + 1).to_be_bytes().to_vec())
        })?;
        let id = next.and_then(|b| b.as_ref().try_into().ok()).map_or(1, u64::from_be_bytes);
        let team = Team {
            id,
            unit: unit.to_owned(),
            name: name.to_owned(),
            created_at: now,
            expected_from,
        };
        tree.insert(team_key(id).as_bytes(), to_json(&team))?;
        self.directory_changed();
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

    /// Sets (or, with `None`, clears) a member's display name, atomically against
    /// concurrent chat writes; `false` if there is no such member. Flushed.
    pub fn set_report_member_name(
        &self,
        user_id: &str,
        name: Option<&str>,
    ) -> Result<bool, StoreError> {
        let key = format!("member/{user_id}");
        let tree = self.reports_tree();
        loop {
            let Some(old) = tree.get(key.as_bytes())? else { return Ok(false) };
            let mut member: Member = from_json(TREE, &old)?;
            member.display_name = name.map(str::to_owned);
            let swapped =
                tree.compare_and_swap(key.as_bytes(), Some(&old), Some(to_json(&member)))?;
            if swapped.is_ok() {
                self.directory_changed();
                self.flush_blocking()?;
                return Ok(true);
            }
        }
    }

    pub fn report_invite(&self, code: &str) -> Result<Option<Invite>, StoreError> {
        self.get_one(&format!("invite/{code}"))
    }

    /// Stores a new invite unless its code exists; returns whether it was stored.
    pub fn add_report_invite(&self, invite: &Invite) -> Result<bool, StoreError> {
        let key = format!("invite/{}", invite.code);
        let swapped = self.reports_tree().compare_and_swap(
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

    /// All versions of one team, ordered by type, period, version.
    pub fn team_report_versions(&self, team: u64) -> Result<Vec<ReportVersion>, StoreError> {
        let tree = self.reports_tree();
        let mut out = Vec::new();
        for item in tree.scan_prefix(format!("byteam/{team:016x}/").as_bytes()) {
            let (key, _) = item?;
            let key = String::from_utf8_lossy(&key).into_owned();
            let mut parts = key.split('/').skip(2);
            let (Some(report), Some(period), Some(version)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let primary = format!("{}{version}", report_prefix(team, report, period));
            if let Some(value) = tree.get(primary.as_bytes())? {
                out.push(from_json(TREE, &value)?);
            }
        }
        Ok(out)
    }

    /// Every stored version as bytes, to read in place (`StoredVersions::views`).
    pub fn report_version_bytes(&self) -> Result<StoredVersions, StoreError> {
        let mut records = Vec::new();
        for (at, item) in self.reports_tree().scan_prefix(b"rep/").enumerate() {
            // Each version is its own run: all of them are kept.
            records.push((at as u32, item?.1));
        }
        Ok(StoredVersions { records, current_only: false })
    }

    /// Like `current_reports_of`, as bytes to read in place (`StoredVersions::views`).
    pub fn current_report_bytes(
        &self,
        report: &str,
        periods: Option<&[String]>,
    ) -> Result<StoredVersions, StoreError> {
        let prefixes: Vec<String> = match periods {
            None => vec![format!("rep/{report}/")],
            Some(periods) => periods.iter().map(|p| format!("rep/{report}/{p}/")).collect(),
        };
        let mut records = Vec::new();
        let mut run = 0u32;
        let mut stem: Vec<u8> = Vec::new();
        for prefix in prefixes {
            for item in self.reports_tree().scan_prefix(prefix.as_bytes()) {
                let (key, value) = item?;
                // As in `current_in_prefix_with`: the versions of one report differ only in
                // the last 8 hex digits of the key.
                let key_stem = &key[..key.len().saturating_sub(8)];
                if key_stem != stem.as_slice() {
                    run = run.wrapping_add(1);
                    stem.clear();
                    stem.extend_from_slice(key_stem);
                }
                records.push((run, value));
            }
        }
        Ok(StoredVersions { records, current_only: true })
    }

    /// The current version of each (team, type, period): the latest not withdrawn.
    pub fn current_reports(&self) -> Result<Vec<ReportVersion>, StoreError> {
        self.current_in_prefix("rep/")
    }

    /// Current versions of report type `report` in `periods` (all periods if `None`).
    /// Each period is one prefix scan, so a one-period query reads one period.
    pub fn current_reports_of(
        &self,
        report: &str,
        periods: Option<&[String]>,
    ) -> Result<Vec<ReportVersion>, StoreError> {
        match periods {
            None => self.current_in_prefix(&format!("rep/{report}/")),
            Some(periods) => {
                let mut out = Vec::new();
                for period in periods {
                    out.extend(self.current_in_prefix(&format!("rep/{report}/{period}/"))?);
                }
                Ok(out)
            }
        }
    }

    fn current_in_prefix(&self, prefix: &str) -> Result<Vec<ReportVersion>, StoreError> {
        self.current_in_prefix_with(prefix, |bytes| {
            let v: ReportVersion = from_json(TREE, bytes)?;
            let withdrawn = v.withdrawn_at.is_some();
            Ok((v, withdrawn))
        })
    }

    /// The numbers of the current reports of `report` in `periods`, aligned with
    /// `codes` (integers as they are, yes/no as 1/0, missing or text as 0). For the
    /// roll-ups: reads the `cur/` records kept with every report write (see `current`),
    /// one prefix scan per period, no JSON; with no `codes` only the on-time flag.
    pub fn current_report_numbers(
        &self,
        report: &str,
        periods: &[String],
        codes: &[&str],
    ) -> Result<Vec<ReportNumbers>, StoreError> {
        let sorted = current::sorted_codes(codes);
        let mut out = Vec::new();
        for period in periods {
            let shared: std::sync::Arc<str> = period.as_str().into();
            let start = out.len();
            for item in self.reports_tree().scan_prefix(current::current_prefix(report, period)) {
                let (key, chunk) = item?;
                let decoded: Option<Vec<ReportNumbers>> = current::entries(&chunk).and_then(|e| {
                    e.into_iter()
                        .map(|(team, record)| current::decode(team, &shared, record, &sorted))
                        .collect()
                });
                let Some(numbers) = decoded else {
                    // Never written so; rather than count wrong, read the period the slow way.
                    let key = String::from_utf8_lossy(&key);
                    tracing::warn!(%key, "damaged roll-up record: period read from the versions");
                    out.truncate(start);
                    let versions = self.current_in_prefix(&format!("rep/{report}/{period}/"))?;
                    out.extend(versions.iter().map(|v| ReportNumbers::from_version(v, codes)));
                    break;
                };
                out.extend(numbers);
            }
        }
        Ok(out)
    }

    /// Scans `prefix` and keeps the current version of each report. The versions of
    /// one (type, period, team) are adjacent and ascending, and their keys differ only
    /// in the last 8 hex digits: the current one is the last one not withdrawn in each
    /// run of equal key stems. `parse` returns the value and whether it is withdrawn.
    fn current_in_prefix_with<T>(
        &self,
        prefix: &str,
        parse: impl Fn(&[u8]) -> Result<(T, bool), StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut current = Vec::new();
        let mut stem: Vec<u8> = Vec::new();
        let mut best: Option<T> = None;
        for item in self.reports_tree().scan_prefix(prefix.as_bytes()) {
            let (key, value) = item?;
            let key_stem = &key[..key.len().saturating_sub(8)];
            if key_stem != stem.as_slice() {
                current.extend(best.take());
                stem = key_stem.to_vec();
            }
            let (parsed, withdrawn) = parse(&value)?;
            if !withdrawn {
                best = Some(parsed);
            }
        }
        current.extend(best);
        Ok(current)
    }

    // ----- chat state ----------------------------------------------------------

    /// Deletes the user's membership, open form and replay record (Zalo
    /// `user_withdraw`). Stored reports keep their `submitted_by` id as history.
    pub fn forget_report_user(&self, user_id: &str) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for prefix in ["member", "form", "last"] {
            batch.remove(format!("{prefix}/{user_id}").as_bytes());
        }
        self.reports_tree().apply_batch(batch)?;
        self.directory_changed();
        Ok(())
    }

    pub fn report_form(&self, user_id: &str) -> Result<Option<FormState>, StoreError> {
        self.get_one(&format!("form/{user_id}"))
    }

    pub fn report_last_event(&self, user_id: &str) -> Result<Option<LastEvent>, StoreError> {
        self.get_one(&format!("last/{user_id}"))
    }

    /// Applies `writes` and records `last` for `user_id`, atomically. Not flushed here:
    /// the reply that confirms them is queued after this commit, and the commit marks
    /// the store so that the sender flushes it before it sends anything (see
    /// `Store::note_unflushed_write`).
    pub fn commit_report_writes(
        &self,
        user_id: &str,
        last: &LastEvent,
        writes: &[ReportWrite],
    ) -> Result<(), CommitError> {
        let tree = self.reports_tree();
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
        self.note_unflushed_write();
        if writes
            .iter()
            .any(|w| matches!(w, ReportWrite::PutMember(_) | ReportWrite::RemoveMember(_)))
        {
            self.directory_changed();
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
            tx.insert(team_index_key(v).as_bytes(), &[])?;
            current::follow(tx, v)?;
        }
        ReportWrite::UpdateReport(v) => {
            tx.insert(report_key(v).as_bytes(), to_json(v))?;
            current::follow(tx, v)?;
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
mod tests;
