//! Shell tests over a temporary store: replay idempotency and reminder de-duplication.

use super::{ReportSettings, Reporting};
use crate::reports::definition::Definitions;
use crate::reports::model::Role;
use crate::reports::period::days_from_civil;
use crate::store::{SessionUpdate, Store, UserRecord};

/// 2026-11-03 10:00 in Vietnam: two days before October's deadline.
const NOW: i64 = 20_760 * 86_400 + 3 * 3600;

fn reporting() -> Reporting {
    assert_eq!(days_from_civil(2026, 11, 3), 20_760);
    let defs = Definitions::parse(include_str!("../../config/reports.toml")).unwrap();
    let reporting = Reporting::new(Store::temporary().unwrap(), defs, ReportSettings::default());
    reporting.import_units(include_str!("../../config/units-example.csv")).unwrap();
    reporting.import_teams(include_str!("../../config/teams-example.csv"), 0).unwrap();
    reporting
}

fn join(reporting: &Reporting, user: &str, team: u64, role: Role) {
    let invite = reporting.create_invite(Some(team), None, role, NOW).unwrap();
    let replies = reporting
        .handle_chat(user, &format!("/dangky {}", invite.code), NOW, &format!("join-{user}"))
        .unwrap();
    assert!(replies.unwrap()[0].text.contains("Bạn đã tham gia"));
}

#[test]
fn a_replayed_event_returns_the_same_answer_and_writes_nothing() {
    let reporting = reporting();
    join(&reporting, "u1", 1, Role::Member);
    let line = "/bc T10 45 20 2 10 8 6 3 5 2 30";
    let first = reporting.handle_chat("u1", line, NOW, "ev-1").unwrap().unwrap();
    let again = reporting.handle_chat("u1", line, NOW + 5, "ev-1").unwrap().unwrap();
    assert_eq!(first, again);
    assert!(first[0].text.contains("lần gửi thứ 1"), "{}", first[0].text);
    assert_eq!(reporting.store().report_versions().unwrap().len(), 1);
    // A new event with the same text is a deliberate resubmission.
    let second = reporting.handle_chat("u1", line, NOW + 10, "ev-2").unwrap().unwrap();
    assert!(second[0].text.contains("lần gửi thứ 2"));
}

#[test]
fn strangers_keep_their_plain_words_for_the_dialogs() {
    let reporting = reporting();
    assert_eq!(reporting.handle_chat("x", "xem", NOW, "e1").unwrap(), None);
    assert_eq!(reporting.handle_chat("x", "báo cáo lừa đảo", NOW, "e2").unwrap(), None);
    assert_eq!(reporting.handle_chat("x", "xin chào", NOW, "e3").unwrap(), None);
    let told = reporting.handle_chat("x", "/bc 1 2", NOW, "e4").unwrap().unwrap();
    assert!(told[0].text.contains("chưa là thành viên"));
}

#[test]
fn locked_and_future_periods_are_refused() {
    let reporting = reporting();
    join(&reporting, "u1", 1, Role::Member);
    let locked =
        reporting.handle_chat("u1", "/bc T8 1 2 3 4 5 6 7 8 9 10", NOW, "e1").unwrap().unwrap();
    assert!(locked[0].text.contains("đã khóa sổ"), "{}", locked[0].text);
    let future = reporting
        .handle_chat("u1", "/bc 2026-12 1 2 3 4 5 6 7 8 9 10", NOW, "e2")
        .unwrap()
        .unwrap();
    assert!(future[0].text.contains("chưa bắt đầu"), "{}", future[0].text);
    assert!(reporting.store().report_versions().unwrap().is_empty());
}

#[test]
fn reminders_go_out_once_and_only_to_reachable_members() {
    let reporting = reporting();
    join(&reporting, "near", 1, Role::Member);
    join(&reporting, "far", 1, Role::Member);
    let store = reporting.store();
    let seen = |ms| UserRecord { last_interaction_ms: ms, reachable: true };
    store
        .complete(0, "near", SessionUpdate::Keep, Some(&seen((NOW - 3600) * 1000)), &[], 0)
        .unwrap();
    store
        .complete(0, "far", SessionUpdate::Keep, Some(&seen((NOW - 10 * 86_400) * 1000)), &[], 0)
        .unwrap();
    assert_eq!(reporting.remind_once(NOW).unwrap(), 1);
    assert_eq!(reporting.remind_once(NOW + 300).unwrap(), 0, "never twice");
    let queued = store.outbox_due(i64::MAX, 100).unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].user_id, "near");
    let text = queued[0].message["text"].as_str().unwrap();
    assert!(text.contains("Nhắc báo cáo") && text.contains("tháng 10/2026"), "{text}");
}
