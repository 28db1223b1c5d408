//! Store tests for the reports trees.

use std::collections::BTreeMap;

use super::*;
use crate::calendar::UnixSecs;
use crate::reports::model::{Role, UnitKind};
use crate::reports::value::Value;

fn version(team: u64, v: u32, event: &str) -> ReportVersion {
    ReportVersion {
        team,
        report: "thang".into(),
        period: crate::reports::period::Period::from_key("2026-10").unwrap(),
        version: v,
        definition: "d".into(),
        values: BTreeMap::new(),
        submitted_by: "u".into(),
        submitted_at: UnixSecs(1),
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
    assert_eq!(store.create_team("1", "A", None, UnixSecs(0)).unwrap().id, 1);
    assert_eq!(store.create_team("1", "B", None, UnixSecs(0)).unwrap().id, 2);
    assert_eq!(store.report_teams().unwrap().len(), 2);
    assert_eq!(store.report_units().unwrap().len(), 1);
}

#[test]
fn versions_never_collide_and_current_skips_withdrawn() {
    let store = Store::temporary().unwrap();
    store
        .commit_report_writes("u", &last("e1"), &[ReportWrite::AddReport(version(1, 1, "e1"))])
        .unwrap();
    let again = store.commit_report_writes(
        "u",
        &last("e2"),
        &[ReportWrite::AddReport(version(1, 1, "e2"))],
    );
    assert!(matches!(again, Err(CommitError::Conflict(_))));
    // The failed commit wrote nothing, not even the replay record.
    assert_eq!(store.report_last_event("u").unwrap().unwrap().event_key, "e1");
    store
        .commit_report_writes("u", &last("e3"), &[ReportWrite::AddReport(version(1, 2, "e3"))])
        .unwrap();
    assert_eq!(store.current_reports().unwrap()[0].version, 2);
    let mut withdrawn = version(1, 2, "e3");
    withdrawn.withdrawn_at = Some(UnixSecs(5));
    store.commit_report_writes("u", &last("e4"), &[ReportWrite::UpdateReport(withdrawn)]).unwrap();
    assert_eq!(store.current_reports().unwrap()[0].version, 1);
    assert_eq!(store.report_history(1, "thang", "2026-10").unwrap().len(), 2);
    assert_eq!(store.team_report_versions(1).unwrap().len(), 2);
    assert!(store.team_report_versions(2).unwrap().is_empty());
    let october = ["2026-10".to_owned()];
    assert_eq!(store.current_reports_of("thang", Some(&october)).unwrap()[0].version, 1);
    assert!(store.current_reports_of("thang", Some(&["2026-11".to_owned()])).unwrap().is_empty());
}

#[test]
fn an_invite_is_used_once() {
    let store = Store::temporary().unwrap();
    let invite = Invite {
        code: "ABC234".into(),
        team: Some(1),
        unit: None,
        role: Role::Member,
        created_at: UnixSecs(0),
        expires_at: UnixSecs(10),
        created_by: "admin-api".into(),
        used_by: None,
        used_at: None,
    };
    assert!(store.add_report_invite(&invite).unwrap());
    assert!(!store.add_report_invite(&invite).unwrap());
    let consume = |user: &str| ReportWrite::ConsumeInvite {
        code: "ABC234".into(),
        user: user.into(),
        at: UnixSecs(1),
    };
    store.commit_report_writes("a", &last("1"), &[consume("a")]).unwrap();
    // The same user again (a replay) is fine; someone else is refused.
    store.commit_report_writes("a", &last("2"), &[consume("a")]).unwrap();
    assert!(matches!(
        store.commit_report_writes("b", &last("3"), &[consume("b")]),
        Err(CommitError::Conflict("invite already used"))
    ));
    store.forget_report_user("a").unwrap();
    assert!(store.report_last_event("a").unwrap().is_none());
}

/// The `cur/` records, decoded with `codes`, sorted like `current_reports` recomputed.
fn rollups(store: &Store, codes: &[&str]) -> Vec<ReportNumbers> {
    let mut out = Vec::new();
    for (key, team, record) in store.report_rollup_records().unwrap() {
        let period = key.split('/').nth(2).unwrap().into();
        let sorted = current::sorted_codes(codes);
        out.push(current::decode(team, &period, &record, &sorted).unwrap());
    }
    out.sort_by(|a, b| (&a.period, a.team).cmp(&(&b.period, b.team)));
    out
}

fn recomputed(store: &Store, codes: &[&str]) -> Vec<ReportNumbers> {
    let mut out: Vec<ReportNumbers> = store
        .current_reports()
        .unwrap()
        .iter()
        .map(|v| ReportNumbers::from_version(v, codes))
        .collect();
    out.sort_by(|a, b| (&a.period, a.team).cmp(&(&b.period, b.team)));
    out
}

#[test]
fn rollups_equal_a_recompute_after_random_submits_amendments_and_withdrawals() {
    let codes = ["A", "B", "C"];
    for seed in 0..40 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let store = Store::temporary().unwrap();
        // Every version written so far, by (team, period).
        let mut written: BTreeMap<(u64, &str), Vec<ReportVersion>> = BTreeMap::new();
        for step in 0..60 {
            let mut writes = Vec::new();
            for _ in 0..rng.usize(1..=3) {
                // Teams on both sides of a roll-up chunk's edge (32 teams a chunk).
                let team = [1, 2, 31, 32, 33, 70][rng.usize(0..6)];
                let period = ["2026-10", "2026-11"][rng.usize(0..2)];
                let versions = written.entry((team, period)).or_default();
                let mut values = BTreeMap::new();
                values.insert("A".to_owned(), Value::Int(rng.i64(0..100)));
                if rng.bool() {
                    values.insert("B".to_owned(), Value::Bool(rng.bool()));
                }
                values.insert("T".to_owned(), Value::Text("ghi chú".into()));
                match rng.u8(0..10) {
                    // Withdraw any version still counting (usually the latest).
                    0..=2 if !versions.is_empty() => {
                        let i = rng.usize(0..versions.len());
                        if versions[i].withdrawn_at.is_none() {
                            versions[i].withdrawn_at = Some(UnixSecs(step));
                            writes.push(ReportWrite::UpdateReport(versions[i].clone()));
                        }
                    }
                    // An in-place correction of an existing version.
                    3 if !versions.is_empty() => {
                        let i = rng.usize(0..versions.len());
                        versions[i].values = values;
                        versions[i].on_time = rng.bool();
                        writes.push(ReportWrite::UpdateReport(versions[i].clone()));
                    }
                    // A submission or a resubmission (amendment).
                    _ => {
                        let mut v = version(team, versions.len() as u32 + 1, "e");
                        v.period =
                            crate::reports::period::Period::from_key(period).expect("period key");
                        v.values = values;
                        v.on_time = rng.bool();
                        versions.push(v.clone());
                        writes.push(ReportWrite::AddReport(v));
                    }
                }
            }
            store.commit_report_writes("u", &last(&step.to_string()), &writes).unwrap();
            assert_eq!(
                rollups(&store, &codes),
                recomputed(&store, &codes),
                "seed {seed} step {step}"
            );
        }
        // The rebuild path gives the same records.
        let before = store.report_rollup_records().unwrap();
        assert_eq!(store.rebuild_report_rollups().unwrap(), recomputed(&store, &codes).len());
        assert_eq!(store.report_rollup_records().unwrap(), before, "seed {seed}");
    }
}

#[test]
fn rollups_are_rebuilt_at_open_when_missing_or_outdated() {
    let store = Store::temporary().unwrap();
    let mut v = version(1, 1, "e1");
    v.values.insert("A".into(), Value::Int(7));
    store.commit_report_writes("u", &last("e1"), &[ReportWrite::AddReport(v)]).unwrap();
    // Up to date: nothing to do.
    assert_eq!(store.ensure_report_rollups().unwrap(), 0);
    // As a store written before the roll-ups existed (no records, no marker), plus a stray
    // entry for team 9 in a period nobody reported for.
    let tree = store.reports_tree();
    tree.remove(b"rollup/version").unwrap();
    for (key, _, _) in store.report_rollup_records().unwrap() {
        tree.remove(key.as_bytes()).unwrap();
    }
    let stray = [&9u64.to_le_bytes()[..], &5u32.to_le_bytes(), &[1, 1, 0, 0, 0]].concat();
    tree.insert(b"cur/thang/2026-09/0000000000000000", stray).unwrap();
    // What `Store::open` runs.
    assert_eq!(store.ensure_report_rollups().unwrap(), 1);
    let numbers = store.current_report_numbers("thang", &["2026-10".into()], &["A"]).unwrap();
    let expected =
        ReportNumbers { team: 1, period: "2026-10".into(), on_time: true, numbers: vec![7] };
    assert_eq!(numbers, [expected]);
    assert!(store.current_report_numbers("thang", &["2026-09".into()], &[]).unwrap().is_empty());
    assert_eq!(store.ensure_report_rollups().unwrap(), 0, "the marker is set again");
    // A damaged record: the period is read from the versions instead.
    tree.insert(b"cur/thang/2026-10/0000000000000000", vec![1, 2, 3]).unwrap();
    let numbers = store.current_report_numbers("thang", &["2026-10".into()], &["A"]).unwrap();
    assert_eq!(numbers[0].numbers, [7]);
}

/// The versions an export reads in place are the owned ones, field for field: current
/// ones (latest not withdrawn, per team and period) and, for history, every version.
#[test]
fn versions_read_in_place_equal_the_owned_ones() {
    let store = Store::temporary().unwrap();
    let mut writes = Vec::new();
    for team in 1..=4 {
        for v in 1..=team as u32 {
            let mut version = version(team, v, &format!("e{team}-{v}"));
            version.values.insert("CHUNG_01".into(), Value::Int(i64::from(v)));
            // A text with JSON escapes in it is read as an owned string.
            version.values.insert("TO_05".into(), Value::Text(format!("\"dòng\"\n{team}")));
            // Team 3's newest version and team 4's oldest are withdrawn.
            if (team == 3 && v == 3) || (team == 4 && v == 1) {
                version.withdrawn_at = Some(UnixSecs(9));
            }
            writes.push(ReportWrite::AddReport(version));
        }
    }
    store.commit_report_writes("u", &last("e"), &writes).unwrap();
    let owned_views = |owned: &[ReportVersion]| -> Vec<String> {
        owned.iter().map(|v| format!("{:?}", v.view())).collect()
    };
    let read_views = |stored: &StoredVersions| -> Vec<String> {
        let views = stored.views().unwrap();
        // Compared as the owned view would print: the values as a map.
        views
            .iter()
            .map(|v| {
                let values: BTreeMap<String, Value> = match &v.values {
                    crate::reports::view::ViewValues::Read(pairs) => pairs
                        .iter()
                        .map(|(code, value)| {
                            let value = match value {
                                crate::reports::view::ValueRef::Int(n) => Value::Int(*n),
                                crate::reports::view::ValueRef::Bool(b) => Value::Bool(*b),
                                crate::reports::view::ValueRef::Text(t) => {
                                    Value::Text(t.to_string())
                                }
                            };
                            (code.to_string(), value)
                        })
                        .collect(),
                    crate::reports::view::ViewValues::Map(map) => (*map).clone(),
                };
                let mut view = v.clone();
                view.values = crate::reports::view::ViewValues::Map(&values);
                format!("{view:?}")
            })
            .collect()
    };
    let october = ["2026-10".to_owned()];
    let current = store.current_reports_of("thang", Some(&october)).unwrap();
    assert_eq!(current.len(), 4);
    let stored = store.current_report_bytes("thang", Some(&october)).unwrap();
    assert_eq!(read_views(&stored), owned_views(&current));
    let all = store.current_reports_of("thang", None).unwrap();
    let stored = store.current_report_bytes("thang", None).unwrap();
    assert_eq!(read_views(&stored), owned_views(&all));
    let history = store.report_versions().unwrap();
    assert_eq!(history.len(), 10);
    let stored = store.report_version_bytes().unwrap();
    assert_eq!(read_views(&stored), owned_views(&history));
}
