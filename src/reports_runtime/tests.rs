//! Shell tests over a temporary store: replay idempotency and reminder de-duplication.

use super::{ReportSettings, Reporting};
use crate::calendar::{UnixMs, UnixSecs};
use crate::reports::definition::Definitions;
use crate::reports::model::Role;
use crate::reports::period::days_from_civil;
use crate::store::{SessionUpdate, Store, UserRecord};

/// 2026-11-03 10:00 in Vietnam: two days before October's deadline.
const NOW: UnixSecs = UnixSecs(20_760 * 86_400 + 3 * 3600);

fn reporting() -> Reporting {
    assert_eq!(days_from_civil(2026, 11, 3), 20_760);
    let defs = Definitions::parse(include_str!("../../config/reports.toml")).unwrap();
    let reporting = Reporting::new(Store::temporary().unwrap(), defs, ReportSettings::default());
    reporting.import_units(include_str!("../../config/units-example.csv")).unwrap();
    reporting.import_teams(include_str!("../../config/teams-example.csv"), UnixSecs(0)).unwrap();
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
    let again = reporting.handle_chat("u1", line, NOW.plus_secs(5), "ev-1").unwrap().unwrap();
    assert_eq!(first, again);
    assert!(first[0].text.contains("lần gửi thứ 1"), "{}", first[0].text);
    assert_eq!(reporting.store().report_versions().unwrap().len(), 1);
    // A new event with the same text is a deliberate resubmission.
    let second = reporting.handle_chat("u1", line, NOW.plus_secs(10), "ev-2").unwrap().unwrap();
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
        .complete(
            0,
            "near",
            SessionUpdate::Keep,
            Some(&seen(NOW.plus_secs(-3600).to_ms().get())),
            &[],
            UnixMs(0),
        )
        .unwrap();
    store
        .complete(
            0,
            "far",
            SessionUpdate::Keep,
            Some(&seen(NOW.plus_secs(-10 * 86_400).to_ms().get())),
            &[],
            UnixMs(0),
        )
        .unwrap();
    // A team that has reported is not reminded.
    join(&reporting, "done", 2, Role::Member);
    store
        .complete(
            0,
            "done",
            SessionUpdate::Keep,
            Some(&seen(NOW.plus_secs(-60).to_ms().get())),
            &[],
            UnixMs(0),
        )
        .unwrap();
    reporting.handle_chat("done", "/bc T10 45 20 2 10 8 6 3 5 2 30", NOW, "r1").unwrap();
    assert_eq!(reporting.remind_once(NOW).unwrap(), 1);
    assert_eq!(reporting.remind_once(NOW.plus_secs(300)).unwrap(), 0, "never twice");
    let queued = store.outbox_due(UnixMs(i64::MAX), 100).unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].user_id, "near");
    let text = queued[0].message.text().unwrap();
    assert!(text.contains("Nhắc báo cáo") && text.contains("tháng 10/2026"), "{text}");
}

#[test]
fn an_idle_form_stops_capturing_messages() {
    let reporting = reporting();
    join(&reporting, "u1", 1, Role::Member);
    let started = reporting.handle_chat("u1", "/baocao", NOW, "f1").unwrap().unwrap();
    assert!(started[1].text.contains("Câu 1/19"));
    let inside = reporting.handle_chat("u1", "xin chào", NOW.plus_secs(60), "f2").unwrap().unwrap();
    assert!(inside[0].text.contains("Chưa đúng"));
    let later = NOW.plus_secs(crate::reports::form::FORM_IDLE_SECS + 120);
    assert_eq!(reporting.handle_chat("u1", "xin chào", later, "f3").unwrap(), None);
    let view = reporting.handle_chat("u1", "/xem", later, "f4").unwrap().unwrap();
    assert!(view[0].text.contains("chưa có báo cáo"), "{}", view[0].text);
    assert!(reporting.store().report_form("u1").unwrap().is_none());
}

#[test]
fn membership_paths() {
    let reporting = reporting();
    let say = |user: &str, text: &str, key: &str| {
        let replies = reporting.handle_chat(user, text, NOW, key).unwrap().unwrap_or_default();
        replies.iter().map(|r| r.text.clone()).collect::<Vec<_>>().join("\n")
    };
    assert!(say("a", "/dangky", "1").contains("gửi kèm mã mời"));
    assert!(say("a", "/dangky NOPE42", "2").contains("không đúng"));
    let expired = reporting
        .create_invite(Some(1), None, Role::Member, NOW.plus_secs(-(30 * 86_400)))
        .unwrap();
    assert!(say("a", &format!("/dangky {}", expired.code), "3").contains("hết hạn"));
    // Moving: a second invite to another team moves the member and says so.
    join(&reporting, "a", 1, Role::Member);
    let to_team_2 = reporting.create_invite(Some(2), None, Role::Member, NOW).unwrap();
    let moved = say("a", &format!("/dangky {}", to_team_2.code), "4");
    assert!(
        moved.contains("Tổ CNSCĐ Dạ Lê") && moved.contains("chuyển khỏi «Tổ CNSCĐ Lang Xá Cồn»"),
        "{moved}"
    );
    assert!(say("a", "/moi", "5").contains("Chỉ tổ trưởng"));
    // An admin invite is for a unit; admins do not report as a team.
    let admin = reporting.create_invite(None, Some("19900".into()), Role::Admin, NOW).unwrap();
    assert!(say("boss", &format!("/dangky {}", admin.code), "6").contains("Phường Thanh Thủy"));
    assert!(say("boss", "/bc 1 2", "7").contains("Cán bộ quản lý"));
    assert!(reporting.create_invite(None, None, Role::Admin, NOW).is_err());
    assert!(reporting.create_invite(Some(99), None, Role::Member, NOW).is_err());
    // Leaving needs the slash and a confirmation; the plain word "rồi" is conversation.
    assert_eq!(reporting.handle_chat("a", "rồi", NOW, "8a").unwrap(), None);
    assert!(say("a", "/roi", "8b").contains("chắc chắn muốn rời «Tổ CNSCĐ Dạ Lê»"));
    assert!(say("a", "/roi xacnhan", "8").contains("Bạn đã rời «Tổ CNSCĐ Dạ Lê»"));
    assert!(say("a", "/xem", "9").contains("chưa là thành viên"));
    assert_eq!(reporting.handle_chat("a", "xem", NOW, "10").unwrap(), None);
}
