//! Store tests for the reports trees.

use std::collections::BTreeMap;

use super::*;
use crate::reports::model::{Role, UnitKind};

fn version(team: u64, v: u32, event: &str) -> ReportVersion {
    ReportVersion {
        team,
        report: "thang".into(),
        period: crate::reports::period::Period::from_key("2026-10").unwrap(),
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
    assert_eq!(store.create_team("1", "A", None, 0).unwrap().id, 1);
    assert_eq!(store.create_team("1", "B", None, 0).unwrap().id, 2);
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
    withdrawn.withdrawn_at = Some(5);
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
        created_at: 0,
        expires_at: 10,
        created_by: "admin-api".into(),
        used_by: None,
        used_at: None,
    };
    assert!(store.add_report_invite(&invite).unwrap());
    assert!(!store.add_report_invite(&invite).unwrap());
    let consume =
        |user: &str| ReportWrite::ConsumeInvite { code: "ABC234".into(), user: user.into(), at: 1 };
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
