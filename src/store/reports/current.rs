//! The per-period roll-up of current reports that completeness and totals read.
//!
//! `cur/{type}/{period}/{chunk:016x}` holds, for the teams `32 × chunk .. 32 × chunk + 31`
//! that have a current (latest not withdrawn) version of that report for that period,
//! each version's number, whether it was on time, and its numbers (integers as they are,
//! yes/no as 1/0; text is left out). It is written in the same transaction as the report
//! version it follows (`apply` in `mod.rs`), so it can never disagree with the versions;
//! `rebuild` makes it again from every stored version (at open when the marker
//! `rollup/version` is missing or older than [`ROLLUP_VERSION`]).
//!
//! Teams are grouped by 32 because sled costs a few microseconds per item scanned: a
//! period of 5,000 teams is 157 items rather than 5,000, and a submission rewrites about
//! 10 KB. Chunk layout: entries sorted by team, each `team: u64 LE`, `length: u32 LE`,
//! then the team's record: `on_time: u8`, `version: u32 LE`, then per number
//! `code length: u16 LE`, code bytes, `value: i64 LE`. Completeness reads the first byte
//! of each record only; totals pick the asked codes out of the pairs.

use std::sync::Arc;

use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::{CommitError, ReportNumbers, report_prefix};
use crate::reports::model::ReportVersion;
use crate::reports::value::Value;
use crate::store::{Store, StoreError};

/// Bump when the layout or the meaning of `cur/` records changes: the next open rebuilds.
pub(super) const ROLLUP_VERSION: u32 = 2;

/// Teams per `cur/` item.
const CHUNK_TEAMS: u64 = 32;

const MARKER: &[u8] = b"rollup/version";

pub(super) fn current_prefix(report: &str, period: &str) -> String {
    format!("cur/{report}/{period}/")
}

fn chunk_key(report: &str, period: &str, team: u64) -> String {
    format!("{}{:016x}", current_prefix(report, period), team / CHUNK_TEAMS)
}

/// The (team, record) entries of a chunk; `None` if it is damaged.
pub(super) fn entries(chunk: &[u8]) -> Option<Vec<(u64, &[u8])>> {
    let mut out = Vec::with_capacity(CHUNK_TEAMS as usize);
    let mut rest = chunk;
    while !rest.is_empty() {
        let team = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
        let len = u32::from_le_bytes(rest.get(8..12)?.try_into().ok()?) as usize;
        out.push((team, rest.get(12..12 + len)?));
        rest = &rest[12 + len..];
    }
    Some(out)
}

fn encode_chunk<'r>(entries: impl IntoIterator<Item = (u64, &'r [u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    for (team, record) in entries {
        out.extend_from_slice(&team.to_le_bytes());
        out.extend_from_slice(&(record.len() as u32).to_le_bytes());
        out.extend_from_slice(record);
    }
    out
}

/// The `cur/` record of `v` (assumed current).
pub(super) fn encode(v: &ReportVersion) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + v.values.len() * 20);
    out.push(u8::from(v.on_time));
    out.extend_from_slice(&v.version.to_le_bytes());
    for (code, value) in &v.values {
        let n = match value {
            Value::Int(n) => *n,
            Value::Bool(b) => i64::from(*b),
            _ => continue,
        };
        let Ok(len) = u16::try_from(code.len()) else { continue };
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(code.as_bytes());
        out.extend_from_slice(&n.to_le_bytes());
    }
    out
}

/// The version number a `cur/` record stands for.
fn version_of(record: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(record.get(1..5)?.try_into().ok()?))
}

/// The asked codes sorted, each with its place in the asked order (for `decode`).
pub(super) fn sorted_codes<'c>(codes: &[&'c str]) -> Vec<(&'c [u8], usize)> {
    let mut sorted: Vec<(&[u8], usize)> =
        codes.iter().enumerate().map(|(k, c)| (c.as_bytes(), k)).collect();
    sorted.sort();
    sorted
}

/// The numbers of a `cur/` record aligned with the asked codes (`sorted` from
/// `sorted_codes`, `width` of them; missing: 0); `None` if the record is damaged.
pub(super) fn decode(
    team: u64,
    period: &Arc<str>,
    record: &[u8],
    sorted: &[(&[u8], usize)],
) -> Option<ReportNumbers> {
    let on_time = *record.first()? != 0;
    let mut numbers = vec![0i64; sorted.len()];
    if !sorted.is_empty() {
        let mut rest = record.get(5..)?;
        // A record's codes ascend (`encode` writes a `BTreeMap` in order), like `sorted`:
        // one walk over both, usually one comparison a code.
        let mut j = 0;
        while !rest.is_empty() && j < sorted.len() {
            let len = usize::from(u16::from_le_bytes(rest.get(..2)?.try_into().ok()?));
            let code = rest.get(2..2 + len)?;
            let value = i64::from_le_bytes(rest.get(2 + len..10 + len)?.try_into().ok()?);
            rest = &rest[10 + len..];
            while j < sorted.len() {
                match sorted[j].0.cmp(code) {
                    std::cmp::Ordering::Less => j += 1,
                    std::cmp::Ordering::Equal => {
                        numbers[sorted[j].1] = value;
                        j += 1;
                    }
                    std::cmp::Ordering::Greater => break,
                }
            }
        }
    }
    Some(ReportNumbers { team, period: period.clone(), on_time, numbers })
}

fn unreadable() -> ConflictableTransactionError<CommitError> {
    ConflictableTransactionError::Abort(CommitError::Conflict("report record unreadable"))
}

/// Keeps the roll-up entry of `v`'s (type, period, team) right after `v` was written in
/// `tx`: the latest version not withdrawn is current.
pub(super) fn follow(
    tx: &TransactionalTree,
    v: &ReportVersion,
) -> Result<(), ConflictableTransactionError<CommitError>> {
    let key = chunk_key(&v.report, &v.period.key(), v.team);
    let chunk = tx.get(key.as_bytes())?;
    let mut teams = match &chunk {
        Some(bytes) => entries(bytes).ok_or_else(unreadable)?,
        None => Vec::new(),
    };
    let at = teams.binary_search_by_key(&v.team, |(team, _)| *team);
    let current = at.ok().and_then(|i| version_of(teams[i].1));
    let record = if v.withdrawn_at.is_none() {
        if current.is_some_and(|c| c > v.version) {
            return Ok(());
        }
        Some(encode(v))
    } else if current.is_some_and(|c| c != v.version) {
        // Another version is current (a newer one, or an older one when `v` was not).
        return Ok(());
    } else {
        // `v` was current (or nothing was): the newest earlier version not withdrawn
        // takes over.
        let prefix = report_prefix(v.team, &v.report, &v.period.key());
        let mut found = None;
        for older in (1..v.version).rev() {
            let Some(bytes) = tx.get(format!("{prefix}{older:08x}").as_bytes())? else {
                continue;
            };
            let older: ReportVersion = serde_json::from_slice(&bytes).map_err(|_| unreadable())?;
            if older.withdrawn_at.is_none() {
                found = Some(encode(&older));
                break;
            }
        }
        found
    };
    match (at, &record) {
        (Ok(i), Some(record)) => teams[i].1 = record,
        (Ok(i), None) => {
            teams.remove(i);
        }
        (Err(i), Some(record)) => teams.insert(i, (v.team, record)),
        (Err(_), None) => return Ok(()),
    }
    if teams.is_empty() {
        tx.remove(key.as_bytes())?;
    } else {
        tx.insert(key.as_bytes(), encode_chunk(teams))?;
    }
    Ok(())
}

impl Store {
    /// Rebuilds the `cur/` records from the stored versions unless they are up to date.
    /// Returns how many were written (0 when nothing had to be done).
    pub(crate) fn ensure_report_rollups(&self) -> Result<usize, StoreError> {
        let tree = self.reports_tree();
        let marker = tree.get(MARKER)?;
        if marker.as_deref() == Some(&ROLLUP_VERSION.to_be_bytes()[..]) {
            return Ok(0);
        }
        self.rebuild_report_rollups()
    }

    /// Drops every `cur/` record and writes them again from the stored versions, then sets
    /// the marker. Run at open, before anything else writes reports.
    pub(crate) fn rebuild_report_rollups(&self) -> Result<usize, StoreError> {
        let tree = self.reports_tree();
        let mut batch = sled::Batch::default();
        for item in tree.scan_prefix(b"cur/") {
            batch.remove(item?.0);
        }
        let current = self.current_reports()?;
        // Versions come in key order (type, period, team): each chunk's teams are adjacent
        // and ascending.
        let mut records: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut chunk: Option<String> = None;
        fn flush(batch: &mut sled::Batch, key: Option<String>, records: &mut Vec<(u64, Vec<u8>)>) {
            if let Some(key) = key {
                batch.insert(
                    key.as_bytes(),
                    encode_chunk(records.iter().map(|(t, r)| (*t, &r[..]))),
                );
            }
            records.clear();
        }
        for v in &current {
            let key = chunk_key(&v.report, &v.period.key(), v.team);
            if chunk.as_ref() != Some(&key) {
                flush(&mut batch, chunk.replace(key), &mut records);
            }
            records.push((v.team, encode(v)));
        }
        flush(&mut batch, chunk, &mut records);
        batch.insert(MARKER, &ROLLUP_VERSION.to_be_bytes());
        tree.apply_batch(batch)?;
        Ok(current.len())
    }

    /// Every roll-up entry as (key of its chunk, team, record), for the consistency tests.
    #[cfg(test)]
    pub(crate) fn report_rollup_records(&self) -> Result<Vec<(String, u64, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for item in self.reports_tree().scan_prefix(b"cur/") {
            let (key, chunk) = item?;
            let key = String::from_utf8_lossy(&key).into_owned();
            for (team, record) in entries(&chunk).expect("readable chunk") {
                out.push((key.clone(), team, record.to_vec()));
            }
        }
        Ok(out)
    }
}
