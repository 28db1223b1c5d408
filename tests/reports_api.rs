//! Team reports end to end over HTTP: admin API → webhook chat → fake Zalo replies →
//! admin queries and exports; and a `kill -9` restart that keeps confirmed reports.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cnscd_bot::clock::Clock;
use cnscd_bot::reports::definition::Definitions;
use cnscd_bot::reports::period::default_period;
use cnscd_bot::zalo::fake::FakeZalo;
use common::process::Service;
use common::*;
use serde_json::{Value, json};

fn definitions_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/reports.toml")
}

/// The period a report sent now (on the service's clock) goes to.
fn current_period(app: &TestApp) -> String {
    let defs = Definitions::parse(&std::fs::read_to_string(definitions_path()).unwrap()).unwrap();
    default_period(defs.get(None).unwrap(), app.clock.now_secs()).key()
}

static MSG: AtomicU64 = AtomicU64::new(1);

fn next_msg_id() -> String {
    format!("m{}", MSG.fetch_add(1, Ordering::Relaxed))
}

async fn spawn() -> TestApp {
    spawn_app_with(|s| {
        s.reports.definitions = definitions_path();
        s.reports.reminders = false;
    })
    .await
}

/// Sends `text` as `user` and waits for a new message containing `expect`; returns
/// all new texts.
async fn chat(app: &TestApp, user: &str, text: &str, expect: &str) -> String {
    let before = app.fake.messages_for(user).len();
    assert_eq!(app.user_says(user, &next_msg_id(), text).await, 200);
    for _ in 0..100 {
        let new: Vec<String> = texts(&app.fake.messages_for(user)[before..]);
        if new.iter().any(|t| t.contains(expect)) {
            return new.join("\n");
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!(
        "no reply containing {expect:?} to {text:?}; got {:?}",
        texts(&app.fake.messages_for(user)[before..])
    );
}

async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(status.is_success(), "status {status}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Units from the shipped example, one team, one invite of `role`; returns (team, code).
async fn setup_team(app: &TestApp, role: &str) -> (u64, String) {
    let csv = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/units-example.csv"),
    )
    .unwrap();
    let r = app
        .http
        .post(format!("{}/admin/api/units/import", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(r).await["imported"], 9);
    let team = json_of(
        app.admin_post(
            "/admin/api/teams",
            json!({"unit": "19900-01", "name": "Tổ CNSCĐ Lang Xá Cồn"}),
        )
        .await,
    )
    .await;
    let team_id = team["id"].as_u64().unwrap();
    let code = invite(app, team_id, role).await;
    (team_id, code)
}

async fn invite(app: &TestApp, team: u64, role: &str) -> String {
    let invite =
        json_of(app.admin_post("/admin/api/invites", json!({"team": team, "role": role})).await)
            .await;
    invite["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn join_report_amend_withdraw_export() {
    let app = spawn().await;
    let (_, code) = setup_team(&app, "leader").await;
    let period = current_period(&app);

    // Strangers are told how to join; the slash-less "xem" is not theirs to use.
    chat(&app, "u-lan", "/baocao", "chưa là thành viên").await;
    chat(&app, "u-lan", "đăng ký WRONG123", "không đúng").await;
    let joined =
        chat(&app, "u-lan", &format!("đăng ký {}", code.to_lowercase()), "đã tham gia").await;
    assert!(joined.contains("Phường Thanh Thủy"), "{joined}");
    // The code is single-use.
    chat(&app, "u-other", &format!("/dangky {code}"), "đã dùng").await;

    // One-line report, with a field error first: nothing partial is stored.
    let err = chat(&app, "u-lan", "/bc 45 20 2 10 8 6 3 5 2 abc", "Chưa lưu").await;
    assert!(err.contains("Số thứ 10 (Chống lừa đảo, ld): «abc» không phải là số"), "{err}");
    let reports = json_of(app.admin_get("/admin/api/reports").await).await;
    assert_eq!(reports["count"], 0);

    let ok = chat(&app, "u-lan", "bc 45 20 2 10 8 6 3 5 2 1.030", "Đã lưu").await;
    assert!(ok.contains("lần gửi thứ 1"), "{ok}");
    let amended = chat(
        &app,
        "u-lan",
        "/bc hd=50 ho=20 buoi=2 bdhvs=10 vneid=8 hoso=6 cks=3 tk=5 qr=2 ld=30",
        "Đã lưu",
    )
    .await;
    assert!(
        amended.contains("lần gửi thứ 2") && amended.contains("thay thế bản gửi trước"),
        "{amended}"
    );

    let current =
        json_of(app.admin_get(&format!("/admin/api/reports?period={period}")).await).await;
    assert_eq!(current["count"], 1);
    assert_eq!(current["items"][0]["version"], 2);
    assert_eq!(current["items"][0]["values"]["CHUNG_01"], 50);
    let history = json_of(app.admin_get("/admin/api/reports?history=true").await).await;
    assert_eq!(history["count"], 2);

    let view = chat(&app, "u-lan", "xem", "lần gửi thứ 2").await;
    assert!(view.contains("Số lượt người dân được hướng dẫn, hỗ trợ: 50"), "{view}");

    // Withdrawing needs the slash and then the confirmation button.
    chat(&app, "u-lan", "/huy", "Bấm \"Rút lại\"").await;
    let withdrawn = chat(&app, "u-lan", "/huy xacnhan", "Đã rút lại").await;
    assert!(withdrawn.contains("lần thứ 1"), "{withdrawn}");
    let current = json_of(app.admin_get("/admin/api/reports").await).await;
    assert_eq!(current["items"][0]["version"], 1);
    assert_eq!(current["items"][0]["values"]["ATTT_01"], 1030);

    let complete =
        json_of(app.admin_get(&format!("/admin/api/completeness?period={period}&unit=46")).await)
            .await;
    let province =
        complete["items"].as_array().unwrap().iter().find(|r| r["unit"] == "46").unwrap().clone();
    assert_eq!((province["expected"].as_u64(), province["reported"].as_u64()), (Some(1), Some(1)));
    let totals = json_of(app.admin_get(&format!("/admin/api/totals?period={period}")).await).await;
    let commune =
        totals["items"].as_array().unwrap().iter().find(|r| r["unit"] == "19900").unwrap().clone();
    assert_eq!(commune["totals"]["CHUNG_01"], 45);

    let csv = app.admin_get(&format!("/admin/api/exports/reports.csv?period={period}")).await;
    assert_eq!(csv.status(), 200);
    let csv = csv.bytes().await.unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
    let csv = String::from_utf8(csv.to_vec()).unwrap();
    assert!(
        csv.contains("Thành phố Huế,Phường Thanh Thủy,Tổ dân phố Lang Xá Cồn,19900-01"),
        "{csv}"
    );
    assert!(csv.contains(",45,20,2,10,8,6,3,5,2,1030"), "{csv}");
    assert!(!csv.contains("u-lan"), "submitters are pseudonymised in exports");
    let xlsx = app.admin_get(&format!("/admin/api/exports/reports.xlsx?period={period}")).await;
    assert_eq!(xlsx.status(), 200);
    let xlsx = xlsx.bytes().await.unwrap();
    assert!(xlsx.starts_with(b"PK"));
    // Read back (the big sheet is streamed with inline strings): same sheets, numbers as
    // numbers, the submission time as a date cell.
    use calamine::{Data, Reader as _};
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.to_vec())).expect("a real XLSX");
    assert_eq!(book.sheet_names()[..2], ["Báo cáo", "Tổng hợp"]);
    let sheet = book.worksheet_range("Báo cáo").unwrap();
    let cells: Vec<&Data> = sheet.rows().flatten().collect();
    assert!(cells.contains(&&Data::String("Mã đơn vị".into())), "{cells:?}");
    assert!(cells.contains(&&Data::String("19900-01".into())), "{cells:?}");
    assert!(cells.contains(&&Data::Float(45.0)), "CHUNG_01 as a number: {cells:?}");
    assert!(cells.iter().any(|c| matches!(c, Data::DateTime(_))), "{cells:?}");
    let totals = book.worksheet_range("Tổng hợp").unwrap();
    assert!(totals.rows().flatten().any(|c| *c == Data::Float(45.0)), "{totals:?}");

    let members = json_of(app.admin_get("/admin/api/members").await).await;
    assert_eq!(members["items"][0]["role"], "leader");
    assert_ne!(members["items"][0]["user"], "u-lan", "ids are masked");
    assert_eq!(app.admin_get("/admin/api/completeness?period=2026-13").await.status(), 400);
    assert_eq!(app.admin_get("/admin/api/exports/reports.csv?period=10-2026").await.status(), 400);
    assert_eq!(app.admin_get("/admin/api/reports?unit=nowhere").await.status(), 400);
    assert_eq!(
        app.http.get(format!("{}/admin/api/reports", app.base)).send().await.unwrap().status(),
        401
    );
}

/// The service on a chosen Vietnam date, with the shipped report definitions.
async fn spawn_on(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> TestApp {
    spawn_app_at(Clock::starting_at_vn(year, month, day, hour, minute), |s| {
        s.reports.definitions = definitions_path();
        s.reports.reminders = false;
    })
    .await
}

/// (expected, reported, rate) of the province row for `period`.
async fn province_completeness(app: &TestApp, period: &str) -> (u64, u64, f64) {
    let complete =
        json_of(app.admin_get(&format!("/admin/api/completeness?period={period}&unit=46")).await)
            .await;
    let row = complete["items"].as_array().unwrap().iter().find(|r| r["unit"] == "46").unwrap();
    (
        row["expected"].as_u64().unwrap(),
        row["reported"].as_u64().unwrap(),
        row["rate"].as_f64().unwrap(),
    )
}

#[tokio::test]
async fn a_team_created_on_the_first_reports_for_the_previous_month_and_counts() {
    // 1 December 00:30 in Vietnam (still 30 November in UTC): reports go to November,
    // in its grace window, from a team created minutes ago.
    for (y, m, d, h, min, period) in [
        (2026, 12, 1, 0, 30, "2026-11"),
        (2026, 11, 30, 23, 50, "2026-11"),
        (2028, 2, 29, 9, 0, "2028-02"),
        (2028, 3, 1, 0, 30, "2028-02"),
        (2027, 1, 1, 0, 30, "2026-12"),
    ] {
        let app = spawn_on(y, m, d, h, min).await;
        assert_eq!(current_period(&app), period);
        let (_, code) = setup_team(&app, "member").await;
        chat(&app, "u-lan", &format!("/dangky {code}"), "đã tham gia").await;
        let ok = chat(&app, "u-lan", "/bc 45 20 2 10 8 6 3 5 2 30", "Đã lưu").await;
        assert!(ok.contains("lần gửi thứ 1"), "{ok}");
        let reports = json_of(app.admin_get("/admin/api/reports").await).await;
        assert_eq!(reports["items"][0]["period"], period, "{y}-{m}-{d}");
        assert_eq!(province_completeness(&app, period).await, (1, 1, 100.0), "{y}-{m}-{d}");
    }
}

#[tokio::test]
async fn expected_from_makes_an_imported_team_count_for_earlier_periods() {
    let app = spawn_on(2026, 11, 20, 10, 0).await;
    setup_team(&app, "member").await; // created now: expected for November only
    let old = json_of(
        app.admin_post(
            "/admin/api/teams",
            json!({"unit": "19900-02", "name": "Tổ CNSCĐ Dạ Lê", "expected_from": "2026-09"}),
        )
        .await,
    )
    .await;
    assert!(old["id"].as_u64().is_some());
    assert_eq!(province_completeness(&app, "2026-10").await, (1, 0, 0.0));
    assert_eq!(province_completeness(&app, "2026-11").await, (2, 0, 0.0));
    let bad = app
        .admin_post(
            "/admin/api/teams",
            json!({"unit": "19900-02", "name": "Tổ B", "expected_from": "tháng trước"}),
        )
        .await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn guided_form_and_leader_invite() {
    let app = spawn().await;
    let (_, code) = setup_team(&app, "leader").await;
    chat(&app, "u-leader", &format!("/dangky {code}"), "tổ trưởng").await;
    let made = chat(&app, "u-leader", "/moi", "Mã mời").await;
    let member_code =
        made.split("/dangky ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    chat(&app, "u-member", &format!("/dangky {member_code}"), "thành viên").await;
    chat(&app, "u-member", "/moi", "Chỉ tổ trưởng").await;

    let first = chat(&app, "u-member", "/baocao", "Câu 1/19").await;
    assert!(first.contains("Số lượt người dân được hướng dẫn, hỗ trợ"), "{first}");
    chat(&app, "u-member", "nhiều lắm", "Chưa đúng").await;
    let answers = ["12", "5", "1", "3", "4", "2", "1", "0", "1", "7"];
    for (i, answer) in answers.iter().enumerate() {
        chat(&app, "u-member", answer, &format!("Câu {}/19", i + 2)).await;
    }
    chat(&app, "u-member", "có", "Câu 12/19").await;
    for n in 13..=19 {
        chat(&app, "u-member", "bỏ qua", &format!("Câu {n}/19")).await;
    }
    let confirm = chat(&app, "u-member", "Cần thêm máy tính bảng", "Kiểm tra").await;
    assert!(
        confirm.contains("19. Khó khăn, vướng mắc, đề xuất: Cần thêm máy tính bảng"),
        "{confirm}"
    );
    chat(&app, "u-member", "Sửa", "Gõ số thứ tự").await;
    chat(&app, "u-member", "1", "Câu 1/19").await;
    chat(&app, "u-member", "15", "Kiểm tra").await;
    let saved = chat(&app, "u-member", "Gửi", "Đã lưu").await;
    assert!(saved.contains("lần gửi thứ 1"), "{saved}");
    let reports = json_of(app.admin_get("/admin/api/reports").await).await;
    assert_eq!(reports["items"][0]["values"]["CHUNG_01"], 15);
    assert_eq!(reports["items"][0]["values"]["TO_04"], true);
    assert_eq!(reports["items"][0]["values"]["TO_05"], "Cần thêm máy tính bảng");

    // A form can be cancelled, and a new command abandons it.
    chat(&app, "u-member", "/baocao", "Câu 1/19").await;
    chat(&app, "u-member", "hủy", "Đã hủy").await;
    chat(&app, "u-member", "/baocao", "Câu 1/19").await;
    let template = chat(&app, "u-member", "/mau", "/bc hd ho buoi").await;
    assert!(template.contains("đã được bỏ"), "{template}");
    chat(&app, "u-member", "/roi", "chắc chắn muốn rời").await;
    chat(&app, "u-member", "/roi xacnhan", "Bạn đã rời").await;
    chat(&app, "u-member", "/bc 1 2 3", "chưa là thành viên").await;
}

/// Sends `text` and returns every new text once at least one reply arrived (and the bot has
/// had a moment to send the rest).
async fn replies_to(app: &TestApp, user: &str, text: &str) -> String {
    let before = app.fake.messages_for(user).len();
    assert_eq!(app.user_says(user, &next_msg_id(), text).await, 200);
    for _ in 0..100 {
        if app.fake.messages_for(user).len() > before {
            tokio::time::sleep(Duration::from_millis(150)).await;
            return texts(&app.fake.messages_for(user)[before..]).join("\n");
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("no reply to {text:?}");
}

/// Issue 10: team commands never take over everyday words.
#[tokio::test]
async fn commands_never_hijack_everyday_words() {
    let app = spawn().await;
    let (team, code) = setup_team(&app, "leader").await;

    // A citizen asking about VNeID is answered by the dialogs, not told the code is wrong.
    let vneid = replies_to(&app, "u-citizen", "đăng ký VNeID").await;
    assert!(!vneid.contains("Mã mời"), "{vneid}");
    assert!(vneid.contains("VNeID"), "{vneid}");

    chat(&app, "u-leader", &format!("/dangky {code}"), "tổ trưởng").await;
    // "/moi tổ viên" and "/moi thành viên" invite members; only "tổ trưởng" makes a leader.
    let member_invite = chat(&app, "u-leader", "/moi tổ viên", "Mã mời").await;
    assert!(member_invite.contains("Mã mời thành viên"), "{member_invite}");
    let other = chat(&app, "u-leader", "/mời thành viên", "Mã mời").await;
    assert!(other.contains("Mã mời thành viên"), "{other}");
    let leader_invite = chat(&app, "u-leader", "/moi tổ trưởng", "Mã mời").await;
    assert!(leader_invite.contains("Mã mời tổ trưởng"), "{leader_invite}");

    let member_code = invite(&app, team, "member").await;
    chat(&app, "u-member", &format!("/dangky {member_code}"), "thành viên").await;
    chat(&app, "u-member", "/bc 45 20 2 10 8 6 3 5 2 1", "Đã lưu").await;

    // "rồi" (ok, done) is conversation: the member is still in the team afterwards.
    let ok = replies_to(&app, "u-member", "rồi").await;
    assert!(!ok.contains("rời"), "{ok}");
    // "hủy" and "thôi" outside a form withdraw nothing.
    for word in ["hủy", "thôi"] {
        let reply = replies_to(&app, "u-member", word).await;
        assert!(!reply.contains("rút lại"), "{word}: {reply}");
    }
    let current = json_of(app.admin_get("/admin/api/reports").await).await;
    assert_eq!(current["count"], 1, "{current}");
    assert!(current["items"][0]["withdrawn_at"].is_null(), "{current}");
    chat(&app, "u-member", "/xem", "lần gửi thứ 1").await;

    // Members still get the citizen dialogs for everything that is not a command.
    let question = replies_to(&app, "u-member", "quên mật khẩu vneid").await;
    assert!(!question.contains("thành viên"), "{question}");
    assert!(question.to_lowercase().contains("mật khẩu"), "{question}");
}

#[tokio::test]
async fn definitions_reload_from_the_file_and_refuse_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reports.toml");
    let original = std::fs::read_to_string(definitions_path()).unwrap();
    std::fs::write(&file, &original).unwrap();
    let path = file.clone();
    let app = spawn_app_with(move |s| {
        s.reports.definitions = path;
        s.reports.reminders = false;
    })
    .await;
    let before = json_of(app.admin_get("/admin/api/reports/definitions").await).await;
    assert_eq!(before["reports"][0]["indicators"][0]["code"], "CHUNG_01");

    std::fs::write(
        &file,
        original.replace("short = \"Lượt hỗ trợ\"", "short = \"Lượt hướng dẫn\""),
    )
    .unwrap();
    let reloaded = json_of(app.admin_post("/admin/api/reports/reload", json!({})).await).await;
    assert_ne!(reloaded["version"], before["version"]);
    let after = json_of(app.admin_get("/admin/api/reports/definitions").await).await;
    assert_eq!(after["reports"][0]["indicators"][0]["short"], "Lượt hướng dẫn");

    std::fs::write(&file, original.replace("lock_days = 25", "lock_days = 1")).unwrap();
    let refused = app.admin_post("/admin/api/reports/reload", json!({})).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("must not exceed lock_days"));
    let kept = json_of(app.admin_get("/admin/api/reports/definitions").await).await;
    assert_eq!(kept["version"], reloaded["version"]);
}

/// Report settings for the child process: the shipped definitions, no reminders.
fn report_env() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "CNSCD__REPORTS__DEFINITIONS",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/reports.toml"),
        ),
        ("CNSCD__REPORTS__REMINDERS", "false"),
    ]
}

#[tokio::test]
async fn confirmed_reports_survive_kill_9_and_replays_add_no_version() {
    let fake = FakeZalo::new(APP_SECRET, "access-0", "refresh-0");
    let fake_base = fake.serve_loopback().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");

    let service = Service::start(&fake_base, &fake_base, &store, &report_env()).await;
    let csv = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/units-example.csv"),
    )
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/admin/api/units/import", service.base))
        .bearer_auth(ADMIN_TOKEN)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let team = service
        .admin(
            "/admin/api/teams",
            Some(json!({"unit": "20000-01", "name": "Tổ CNSCĐ thôn Phú An"})),
        )
        .await;
    let code = service
        .admin("/admin/api/invites", Some(json!({"team": team["id"], "role": "member"})))
        .await;
    service.say("u-an", "r1", &format!("/dangky {}", code["code"].as_str().unwrap())).await;
    service.say("u-an", "r2", "/bc 45 20 2 10 8 6 3 5 2 30").await;
    // The confirmation is sent only after the report was flushed.
    let mut confirmed = false;
    for _ in 0..100 {
        if texts(&fake.messages_for("u-an")).iter().any(|t| t.contains("Đã lưu")) {
            confirmed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(confirmed, "no confirmation: {:?}", texts(&fake.messages_for("u-an")));
    service.kill9();

    let service = Service::start(&fake_base, &fake_base, &store, &report_env()).await;
    let reports = service.admin("/admin/api/reports", None).await;
    assert_eq!(reports["count"], 1, "{reports}");
    assert_eq!(reports["items"][0]["values"]["CHUNG_01"], 45);
    // Zalo re-delivers the same message after the restart: no second version.
    service.say("u-an", "r2", "/bc 45 20 2 10 8 6 3 5 2 30").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let history = service.admin("/admin/api/reports?history=true", None).await;
    assert_eq!(history["count"], 1, "{history}");
    service.kill9();
}
