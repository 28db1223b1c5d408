//! Citizen → local team hand-off over the webhook: a citizen types "gap to", their
//! village without diacritics and a question; a member of that village's team claims
//! it, answers, proposes a visit and closes it; the citizen rates it; the admin API
//! shows the contribution. Also: escalation on an injected clock, and kill -9.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cnscd_bot::clock::Clock;
use cnscd_bot::zalo::fake::FakeZalo;
use common::process::Service;
use common::{ADMIN_TOKEN, APP_SECRET, TestApp, spawn_app_at, texts};
use serde_json::{Value, json};

static MSG: AtomicU64 = AtomicU64::new(1);

fn next_msg_id() -> String {
    format!("h{}", MSG.fetch_add(1, Ordering::Relaxed))
}

/// Sends `text` as `user` and waits for a new message to `waiter` containing `expect`.
async fn chat_to(app: &TestApp, user: &str, text: &str, waiter: &str, expect: &str) -> String {
    let before = app.fake.messages_for(waiter).len();
    assert_eq!(app.user_says(user, &next_msg_id(), text).await, 200);
    wait_new(&app.fake, waiter, before, expect).await
}

async fn chat(app: &TestApp, user: &str, text: &str, expect: &str) -> String {
    chat_to(app, user, text, user, expect).await
}

async fn wait_new(fake: &FakeZalo, user: &str, before: usize, expect: &str) -> String {
    for _ in 0..150 {
        let all = fake.messages_for(user);
        let new: Vec<String> = texts(&all[before.min(all.len())..]);
        if new.iter().any(|t| t.contains(expect)) {
            return new.join("\n");
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!(
        "{user}: no message containing {expect:?}; got {:?}",
        texts(&fake.messages_for(user)[before..])
    );
}

async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(status.is_success(), "status {status}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn units_csv() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/units-example.csv"))
        .unwrap()
}

/// Units of the example province, teams for Phú An and Vinh Xuân (both in Xã Phú
/// Vinh); returns their ids.
async fn setup(app: &TestApp) -> (u64, u64) {
    let r = app
        .http
        .post(format!("{}/admin/api/units/import", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .body(units_csv())
        .send()
        .await
        .unwrap();
    json_of(r).await;
    let mut ids = Vec::new();
    for (unit, name) in
        [("20000-01", "Tổ CNSCĐ thôn Phú An"), ("20000-02", "Tổ CNSCĐ thôn Vinh Xuân")]
    {
        let team =
            json_of(app.admin_post("/admin/api/teams", json!({"unit": unit, "name": name})).await)
                .await;
        ids.push(team["id"].as_u64().unwrap());
    }
    (ids[0], ids[1])
}

async fn join(app: &TestApp, user: &str, body: Value) {
    let invite = json_of(app.admin_post("/admin/api/invites", body).await).await;
    let code = invite["code"].as_str().unwrap();
    chat(app, user, &format!("/dangky {code}"), "").await;
}

async fn spawn(start: Clock) -> TestApp {
    spawn_app_at(start, |s| {
        s.reports.definitions = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/reports.toml");
        s.reports.reminders = false;
        s.handoff.interval_secs = 1;
    })
    .await
}

#[tokio::test]
async fn citizen_reaches_the_village_team_and_the_help_counts() {
    let app = spawn(Clock::starting_at_vn(2026, 12, 1, 9, 0)).await;
    let (phu_an, vinh_xuan) = setup(&app).await;
    join(&app, "m-lan", json!({"team": phu_an, "role": "member"})).await;
    join(&app, "m-other", json!({"team": vinh_xuan, "role": "member"})).await;
    chat(&app, "m-lan", "/ten Nguyễn Thị Lan", "Đã lưu tên hiển thị: Nguyễn Thị Lan").await;

    let said = chat(&app, "c-1", "gap to", "thôn, tổ dân phố nào").await;
    assert!(said.contains("Tổ"), "{said}");
    chat(&app, "c-1", "phu an", "Nơi ở của bạn: Thôn Phú An, Xã Phú Vinh").await;
    let told = chat(&app, "c-1", "Tôi muốn cài VNeID cho mẹ", "Đã ghi nhận yêu cầu #1").await;
    assert!(
        told.contains("Một thành viên Tổ CNSCĐ Thôn Phú An sẽ trả lời bạn ngay tại đây"),
        "{told}"
    );
    let news = wait_new(
        &app.fake,
        "m-lan",
        0,
        "🙋 Yêu cầu #1 — Thôn Phú An, Xã Phú Vinh: «Tôi muốn cài VNeID cho mẹ»",
    )
    .await;
    assert!(!news.contains("c-1"), "members never see the citizen's id: {news}");
    // The other village's team is not told while the village's team is reachable.
    assert!(texts(&app.fake.messages_for("m-other")).iter().all(|t| !t.contains("#1")));
    // A member of another team cannot take it.
    chat(&app, "m-other", "/nhan 1", "Không có yêu cầu #1").await;

    chat_to(
        &app,
        "m-lan",
        "/nhan 1",
        "c-1",
        "Thành viên Nguyễn Thị Lan của Tổ CNSCĐ Thôn Phú An đã nhận yêu cầu #1",
    )
    .await;
    chat_to(
        &app,
        "m-lan",
        "/tl 1 Bác mang điện thoại và CCCD ra nhà văn hóa thôn nhé",
        "c-1",
        "Tổ CNSCĐ Thôn Phú An — Nguyễn Thị Lan: Bác mang điện thoại và CCCD",
    )
    .await;
    chat_to(
        &app,
        "c-1",
        "Chiều nay được không cháu?",
        "m-lan",
        "💬 #1 — người dân: «Chiều nay được không cháu?»",
    )
    .await;
    chat_to(
        &app,
        "m-lan",
        "/hen 1 15 giờ chiều nay tại nhà văn hóa thôn",
        "c-1",
        "📅 Đề nghị gặp: 15 giờ chiều nay",
    )
    .await;
    // Plain messages need a first confirmation, then go straight through.
    chat(&app, "m-lan", "Cháu chờ bác nhé", "Gửi tin này tới người dân của yêu cầu #1?").await;
    chat_to(&app, "m-lan", "#h:gui", "c-1", "Cháu chờ bác nhé").await;
    chat_to(&app, "m-lan", "Bác nhớ mang sạc", "c-1", "Bác nhớ mang sạc").await;

    chat_to(&app, "m-lan", "/xong 1", "c-1", "Bạn thấy sự hỗ trợ thế nào?").await;
    chat_to(&app, "c-1", "hài lòng", "m-lan", "Hài lòng").await;
    chat(&app, "c-1", "Cháu Lan rất nhiệt tình", "Cảm ơn bạn đã đánh giá").await;

    let requests = json_of(app.admin_get("/admin/api/requests?status=closed").await).await;
    assert_eq!(requests["count"], 1, "{requests}");
    let r = &requests["items"][0];
    assert_eq!(r["rating"]["satisfied"], true);
    assert_eq!(r["rating"]["comment"], "Cháu Lan rất nhiệt tình");
    assert_eq!(r["claimed_by"]["name"], "Nguyễn Thị Lan");
    let none = json_of(app.admin_get("/admin/api/requests?unit=19900").await).await;
    assert_eq!(none["count"], 0);

    let c = json_of(app.admin_get("/admin/api/contributions?period=2026-12").await).await;
    assert_eq!(c["source"], "automatic");
    let lan =
        c["members"].as_array().unwrap().iter().find(|m| m["name"] == "Nguyễn Thị Lan").unwrap();
    let f = &lan["figures"];
    assert_eq!(
        (f["requests_claimed"].as_u64(), f["requests_closed"].as_u64()),
        (Some(1), Some(1)),
        "{c}"
    );
    assert_eq!(f["rated_satisfied"], 1);
    assert_eq!(f["visits_proposed"], 1);
    assert!(f["median_first_reply_secs"].is_number());
    let commune = c["units"].as_array().unwrap().iter().find(|u| u["unit"] == "20000").unwrap();
    assert_eq!(commune["figures"]["requests_closed"], 1, "{c}");
    assert!(c["units"].as_array().unwrap().iter().any(|u| u["unit"] == "46"));
    let bad = app.admin_get("/admin/api/contributions?period=W45").await;
    assert_eq!(bad.status(), 400);

    chat(&app, "m-lan", "/toi", "Yêu cầu đã nhận: 1, đã xong: 1").await;
}

#[tokio::test]
async fn a_citizen_asking_something_else_is_not_held_by_the_hand_off() {
    let app = spawn(Clock::starting_at_vn(2026, 12, 1, 9, 0)).await;
    // No team has a member yet: "gặp tổ" answers with how to reach the team, and asks
    // for no village (nobody could take the request).
    let said = chat(&app, "c-early", "gap to", "Gặp Tổ CNSCĐ").await;
    assert!(!said.contains("thôn, tổ dân phố nào"), "{said}");

    let (phu_an, _) = setup(&app).await;
    join(&app, "m-lan", json!({"team": phu_an, "role": "member"})).await;
    chat(&app, "c-2", "gap to", "thôn, tổ dân phố nào").await;
    // Not a place: asked once more…
    chat(&app, "c-2", "tra tien dien o dau", "chưa tìm thấy nơi nào").await;
    // …and a second answer that is no place either goes to the dialogs.
    let answered = chat(&app, "c-2", "tra tien dien o dau", "Trả tiền điện").await;
    assert!(!answered.contains("chưa tìm thấy nơi nào"), "{answered}");
    // A later "gặp tổ" starts over.
    chat(&app, "c-2", "gap to", "thôn, tổ dân phố nào").await;
    chat(&app, "c-2", "phu an", "Bạn cần giúp việc gì").await;
}

#[tokio::test]
async fn unclaimed_requests_go_to_the_commune_then_the_admin() {
    let clock = Clock::starting_at_vn(2026, 12, 1, 9, 0);
    let app = spawn(clock.clone()).await;
    let (phu_an, vinh_xuan) = setup(&app).await;
    join(&app, "l-an", json!({"team": phu_an, "role": "leader"})).await;
    join(&app, "m-vx", json!({"team": vinh_xuan, "role": "member"})).await;
    join(&app, "adm", json!({"unit": "20000", "role": "admin"})).await;

    chat(&app, "c-2", "gặp tổ", "thôn, tổ dân phố nào").await;
    chat(&app, "c-2", "thon phu an xa phu vinh", "Bạn cần giúp việc gì?").await;
    chat(&app, "c-2", "Làm sao đổi mật khẩu VssID?", "Đã ghi nhận yêu cầu #1").await;
    wait_new(&app.fake, "l-an", 0, "🙋 Yêu cầu #1").await;

    // Two office hours without a claim: the leader is reminded, the commune's teams told.
    let (leader_before, other_before) =
        (app.fake.messages_for("l-an").len(), app.fake.messages_for("m-vx").len());
    app.clock.advance(Duration::from_secs(2 * 3600));
    wait_new(&app.fake, "l-an", leader_before, "⏰ Yêu cầu #1").await;
    wait_new(&app.fake, "m-vx", other_before, "🙋 Yêu cầu #1").await;
    wait_new(&app.fake, "c-2", 0, "chuyển tới các Tổ CNSCĐ khác").await;
    // Two more: the commune admin.
    app.clock.advance(Duration::from_secs(2 * 3600));
    wait_new(&app.fake, "adm", 0, "📋 Yêu cầu #1").await;
    // Sent once, however many passes run.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let reminders =
        texts(&app.fake.messages_for("l-an")).iter().filter(|t| t.contains("⏰")).count();
    assert_eq!(reminders, 1);

    // The member of the other village's team, now told, may claim it.
    chat_to(&app, "m-vx", "nhan 1", "c-2", "đã nhận yêu cầu #1").await;
    chat(&app, "l-an", "/nhan 1", "đã được").await;
    // 1 December, in the grace window: the team is asked for November's report.
    let overview = chat(&app, "l-an", "/tinhhinh", "Tình hình Tổ").await;
    assert!(
        overview.contains("Báo cáo tháng 11/2026: chưa gửi, hạn chót hết ngày 05/12/2026"),
        "{overview}"
    );
}

/// Asserts `other` got nothing since `before` (call it once a later message of the same
/// user was answered: the worker handles one user's events in order).
async fn nothing_new_for(app: &TestApp, other: &str, before: usize) {
    let now: Vec<String> = texts(&app.fake.messages_for(other)[before..]);
    assert!(now.is_empty(), "{other} got {now:?}");
}

#[tokio::test]
async fn menu_cancel_and_scam_warnings_still_come_first_while_a_member_helps() {
    let app = spawn(Clock::starting_at_vn(2026, 12, 1, 9, 0)).await;
    let (phu_an, _) = setup(&app).await;
    join(&app, "m-hoa", json!({"team": phu_an, "role": "member"})).await;
    chat(&app, "m-hoa", "/ten Trần Thị Hoa", "Đã lưu tên hiển thị").await;
    chat(&app, "c-3", "gap to", "thôn, tổ dân phố nào").await;
    chat(&app, "c-3", "phu an", "Bạn cần giúp việc gì?").await;
    chat(&app, "c-3", "Nhờ cài VNeID", "Đã ghi nhận yêu cầu #1").await;
    chat_to(&app, "m-hoa", "/nhan 1", "c-3", "đã nhận yêu cầu #1").await;

    // A scam in progress: the citizen is warned first, and the member is told too.
    let scam = "có người xưng công an bảo tôi liên quan vụ ma túy";
    let member_before = app.fake.messages_for("m-hoa").len();
    let warned = chat(&app, "c-3", scam, "⚠️ Đây là dấu hiệu lừa đảo").await;
    assert!(warned.contains("Công an, viện kiểm sát, tòa án"), "{warned}");
    let relayed = wait_new(&app.fake, "m-hoa", member_before, "💬 #1").await;
    assert!(relayed.contains(scam), "{relayed}");
    assert!(relayed.contains("trợ lý đã gửi cảnh báo cho người dân"), "{relayed}");

    // The warning's buttons work, and do not reach the member.
    let member_before = app.fake.messages_for("m-hoa").len();
    chat(&app, "c-3", "#c:khan_cap:gia_cong_an:1", "Đừng chuyển thêm đồng nào").await;
    // Then plain text goes to the member again, with no warning for the citizen.
    chat_to(&app, "c-3", "Cháu gọi lại cho bác nhé", "m-hoa", "Cháu gọi lại cho bác nhé").await;
    let member_got = texts(&app.fake.messages_for("m-hoa")[member_before..]);
    assert_eq!(member_got.len(), 1, "the button was not relayed: {member_got:?}");
    assert!(!member_got[0].contains("cảnh báo"), "{member_got:?}");

    // "menu" goes to the assistant, not to the member.
    let member_before = app.fake.messages_for("m-hoa").len();
    chat(&app, "c-3", "menu", "Bạn muốn làm việc nào?").await;
    // Back to the request, then cancel it: the member is told.
    chat(&app, "c-3", "gặp tổ", "Bạn đang có yêu cầu #1").await;
    nothing_new_for(&app, "m-hoa", member_before).await;
    chat_to(&app, "c-3", "hủy yêu cầu", "m-hoa", "Người dân đã hủy yêu cầu #1").await;
    let requests = json_of(app.admin_get("/admin/api/requests?status=cancelled").await).await;
    assert_eq!(requests["count"], 1, "{requests}");
}

#[tokio::test]
async fn members_are_asked_their_name_once_and_leaders_see_the_unreachable_by_it() {
    let clock = Clock::starting_at_vn(2026, 12, 1, 9, 0);
    let app = spawn(clock.clone()).await;
    let (phu_an, vinh_xuan) = setup(&app).await;
    let joined = |user: &'static str, team: u64, role: &'static str| {
        let app = &app;
        async move {
            let invite = json_of(
                app.admin_post("/admin/api/invites", json!({"team": team, "role": role})).await,
            )
            .await;
            let code = invite["code"].as_str().unwrap().to_owned();
            chat(app, user, &format!("/dangky {code}"), "Bạn đã tham gia").await
        }
    };
    // The join confirmation asks for the name, once.
    let said = joined("m-far", phu_an, "member").await;
    assert!(said.contains("/ten Nguyễn Văn A"), "{said}");
    chat(&app, "m-far", "/ten Đỗ Văn Xa", "Đã lưu tên hiển thị: Đỗ Văn Xa").await;
    let moved = joined("m-far", vinh_xuan, "member").await;
    assert!(!moved.contains("/ten"), "a member with a name is not asked again: {moved}");
    let back = joined("m-far", phu_an, "member").await;
    assert!(!back.contains("/ten"), "{back}");
    joined("m-anon", phu_an, "member").await;
    joined("l-an", phu_an, "leader").await;

    // Eight days on, only the leader has written since: the others are out of Zalo's
    // window, and the leader sees them by name (or, unnamed, by when they joined).
    app.clock.advance(Duration::from_secs(8 * 86_400));
    let overview = chat(&app, "l-an", "/tinhhinh", "Tình hình Tổ").await;
    assert!(
        overview.contains(
            "Chưa liên lạc được qua Zalo: thành viên chưa đặt tên (tham gia 01/12/2026 09:00), Đỗ Văn Xa\n"
        ),
        "{overview}"
    );
    assert!(!overview.contains("m-far") && !overview.contains("m-anon"), "{overview}");
}

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "CNSCD__REPORTS__DEFINITIONS",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/reports.toml"),
        ),
        ("CNSCD__REPORTS__REMINDERS", "false"),
    ]
}

async fn service_says(
    fake: &FakeZalo,
    s: &Service,
    user: &str,
    msg: &str,
    text: &str,
    waiter: &str,
    expect: &str,
) {
    let before = fake.messages_for(waiter).len();
    s.say(user, msg, text).await;
    wait_new(fake, waiter, before, expect).await;
}

/// The real binary on `store`, with the example units, a team for thôn Phú An and a
/// member invite for it; returns the service and the invite code.
async fn start_with_phu_an_team(fake_base: &str, store: &Path) -> (Service, String) {
    let s = Service::start(fake_base, fake_base, store, &env()).await;
    let r = reqwest::Client::new()
        .post(format!("{}/admin/api/units/import", s.base))
        .bearer_auth(ADMIN_TOKEN)
        .body(units_csv())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let team =
        s.admin("/admin/api/teams", Some(json!({"unit": "20000-01", "name": "Tổ Phú An"}))).await;
    let code =
        s.admin("/admin/api/invites", Some(json!({"team": team["id"], "role": "member"}))).await;
    (s, code["code"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_request_survives_kill_9_and_a_redelivered_question_is_not_doubled() {
    let fake = FakeZalo::new(APP_SECRET, "access-0", "refresh-0");
    let fake_base = fake.serve_loopback().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (s, code) = start_with_phu_an_team(&fake_base, &store).await;
    service_says(&fake, &s, "m-k", "k1", &format!("/dangky {code}"), "m-k", "").await;
    service_says(&fake, &s, "c-k", "k2", "gap to", "c-k", "thôn, tổ dân phố nào").await;
    service_says(&fake, &s, "c-k", "k3", "Phu An", "c-k", "Bạn cần giúp việc gì?").await;
    service_says(&fake, &s, "c-k", "k4", "Nhờ cài ứng dụng ngân hàng", "m-k", "🙋 Yêu cầu #1")
        .await;
    s.kill9();

    let s = Service::start(&fake_base, &fake_base, &store, &env()).await;
    // Zalo re-delivers the question after the restart: still one request.
    s.say("c-k", "k4", "Nhờ cài ứng dụng ngân hàng").await;
    service_says(&fake, &s, "m-k", "k5", "/nhan 1", "c-k", "đã nhận yêu cầu #1").await;
    let list = s.admin("/admin/api/requests", None).await;
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["items"][0]["status"], "claimed");
    s.kill9();

    let s = Service::start(&fake_base, &fake_base, &store, &env()).await;
    service_says(
        &fake,
        &s,
        "m-k",
        "k6",
        "/tl 1 Bác ra nhà văn hóa nhé",
        "c-k",
        "Bác ra nhà văn hóa nhé",
    )
    .await;
    s.kill9();
}

/// Texts `user` received, one per message.
fn all_texts(fake: &FakeZalo, user: &str) -> Vec<String> {
    texts(&fake.messages_for(user))
}

#[tokio::test]
async fn kill_9_mid_hand_off_loses_no_relayed_message_and_keeps_the_claim() {
    let fake = FakeZalo::new(APP_SECRET, "access-0", "refresh-0");
    let fake_base = fake.serve_loopback().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (s, code) = start_with_phu_an_team(&fake_base, &store).await;
    service_says(&fake, &s, "m-q", "q1", &format!("/dangky {code}"), "m-q", "/ten").await;
    service_says(&fake, &s, "m-q", "q2", "/ten Vũ Thị Quyên", "m-q", "Vũ Thị Quyên").await;
    service_says(&fake, &s, "c-q", "q3", "gap to", "c-q", "thôn, tổ dân phố nào").await;
    service_says(&fake, &s, "c-q", "q4", "phu an", "c-q", "Bạn cần giúp việc gì?").await;
    service_says(&fake, &s, "c-q", "q5", "Nhờ xem giúp tin nhắn lạ", "m-q", "🙋 Yêu cầu #1").await;
    service_says(&fake, &s, "m-q", "q6", "/nhan 1", "c-q", "đã nhận yêu cầu #1").await;
    // Plain messages confirmed once: that choice must survive the crash too.
    service_says(&fake, &s, "m-q", "q7", "Bác gửi ảnh chụp nhé", "m-q", "Gửi tin này").await;
    service_says(&fake, &s, "m-q", "q8", "#h:gui", "c-q", "Bác gửi ảnh chụp nhé").await;

    // Both sides write; each event is acknowledged (200) and the service dies at once,
    // before most of it was processed or sent.
    let citizen_lines = ["Tin 1: họ bảo bấm link", "Tin 2: tôi chưa bấm", "Tin 3: giờ làm sao"];
    for (i, text) in citizen_lines.iter().enumerate() {
        s.say("c-q", &format!("q9-{i}"), text).await;
    }
    s.say("m-q", "q10", "/tl 1 Bác đừng bấm link đó").await;
    s.kill9();

    let s = Service::start(&fake_base, &fake_base, &store, &env()).await;
    // Everything acknowledged reaches its reader, in order.
    for text in citizen_lines {
        wait_new(&fake, "m-q", 0, text).await;
    }
    wait_new(&fake, "c-q", 0, "Bác đừng bấm link đó").await;
    let relayed: Vec<String> = all_texts(&fake, "m-q")
        .into_iter()
        .filter(|t| citizen_lines.iter().any(|l| t.contains(l)))
        .collect();
    let order: Vec<usize> =
        relayed.iter().map(|t| citizen_lines.iter().position(|l| t.contains(l)).unwrap()).collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(order, sorted, "relayed in the order written: {relayed:?}");

    // The claim and the relay state are as before the crash, each line kept once.
    let list = s.admin("/admin/api/requests", None).await;
    assert_eq!(list["count"], 1, "{list}");
    let r = &list["items"][0];
    assert_eq!(r["status"], "claimed", "{r}");
    assert_eq!(r["claimed_by"]["name"], "Vũ Thị Quyên");
    // Each user's lines in their order (two users are processed independently).
    let lines_from = |citizen: bool| -> Vec<String> {
        r["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| (l["from"] == "citizen") == citizen)
            .map(|l| l["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(lines_from(true), citizen_lines, "{r}");
    assert_eq!(lines_from(false), ["Bác gửi ảnh chụp nhé", "Bác đừng bấm link đó"], "{r}");

    // And the hand-off goes on: a plain message goes straight through (confirmed before
    // the crash), the citizen still reaches the member, then close and rate.
    service_says(&fake, &s, "m-q", "q11", "Bác xóa tin nhắn đó đi", "c-q", "Bác xóa tin nhắn")
        .await;
    service_says(&fake, &s, "c-q", "q12", "Xóa rồi cháu", "m-q", "«Xóa rồi cháu»").await;
    service_says(&fake, &s, "m-q", "q13", "/xong 1", "c-q", "Bạn thấy sự hỗ trợ thế nào?").await;
    service_says(&fake, &s, "c-q", "q14", "hài lòng", "m-q", "Hài lòng").await;
    let list = s.admin("/admin/api/requests?status=closed", None).await;
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["items"][0]["rating"]["satisfied"], true);
    assert_eq!(list["items"][0]["lines"].as_array().unwrap().len(), 7);
    s.kill9();
}

/// A volunteer on a phone writes as people talk, without the slash: the name alone after
/// joining, "gửi báo cáo tháng này", a one-line report while a form is open, "ai chưa
/// báo cáo", and a commune official's "tổng hợp". A citizen writing the same words is not
/// taken for a member.
#[tokio::test]
async fn volunteers_words_without_the_slash_reach_the_team_commands() {
    let app = spawn(Clock::starting_at_vn(2026, 12, 1, 9, 0)).await;
    let (phu_an, _) = setup(&app).await;
    join(&app, "m-hoa", json!({"team": phu_an, "role": "member"})).await;
    join(&app, "l-an", json!({"team": phu_an, "role": "leader"})).await;

    // Not a name: stays with the dialogs.
    let said = chat(&app, "m-hoa", "hồ sơ khai sinh", "").await;
    assert!(!said.contains("tên hiển thị"), "{said}");
    chat(&app, "m-hoa", "nguyễn thị hoa", "Đã lưu tên hiển thị: Nguyễn Thị Hoa").await;
    // Named once: a second bare name is no longer taken (`/ten` changes it).
    let said = chat(&app, "m-hoa", "Trần Thị Mai", "").await;
    assert!(!said.contains("tên hiển thị"), "{said}");

    chat(&app, "m-hoa", "em gửi báo cáo tháng này ạ", "Câu 1/19").await;
    chat(&app, "m-hoa", "12 lượt", "Câu 2/19").await;
    chat(&app, "m-hoa", "bc 12 5 3", "Biểu mẫu báo cáo đang dở đã được bỏ").await;

    let overview = chat(&app, "l-an", "ai chưa báo cáo?", "Tình hình Tổ").await;
    assert!(
        overview.contains("Báo cáo tháng 11/2026: chưa gửi, hạn chót hết ngày 05/12/2026"),
        "{overview}"
    );

    // A commune official's view is the commune's.
    join(&app, "adm", json!({"unit": "20000", "role": "admin"})).await;
    chat(&app, "adm", "ai chưa báo cáo", "/tonghop").await;
    // Both teams were created in December: not expected for November, and said so.
    let summary = chat(&app, "adm", "tổng hợp", "tổ đã báo cáo tháng 11/2026").await;
    assert!(
        summary.contains("0/0 tổ đã báo cáo tháng 11/2026. (2 tổ lập sau tháng 11/2026 chưa phải báo cáo kỳ này.)"),
        "{summary}"
    );

    for text in ["Nguyễn Thị Hoa", "gửi báo cáo tháng này", "ai chưa báo cáo", "tổng hợp"]
    {
        let said = chat(&app, "c-9", text, "").await;
        assert!(
            !said.contains("tên hiển thị")
                && !said.contains("Câu 1")
                && !said.contains("Tình hình"),
            "{text}: {said}"
        );
    }
}

/// Asked where they live, a citizen often types what they need instead: it is kept, the
/// place asked again, and the request made with it once the place is known. A second
/// answer that is no place still leaves the hand-off for the dialogs, as before. The
/// rating, too, may come in words.
#[tokio::test]
async fn a_request_typed_before_the_place_is_kept() {
    let app = spawn(Clock::starting_at_vn(2026, 12, 1, 9, 0)).await;
    let (phu_an, _) = setup(&app).await;
    join(&app, "m-lan", json!({"team": phu_an, "role": "member"})).await;

    chat(&app, "c-1", "gặp tổ", "thôn, tổ dân phố nào").await;
    chat(&app, "c-1", "tôi muốn nhờ tổ đến nhà hướng dẫn cài vneid", "Mình đã ghi lại").await;
    chat(&app, "c-1", "phu an", "Đã ghi nhận yêu cầu #1").await;
    wait_new(&app.fake, "m-lan", 0, "nhờ tổ đến nhà hướng dẫn cài vneid").await;
    // Closed and rated in the citizen's own words: the words are the comment too.
    chat(&app, "m-lan", "nhận yêu cầu 1", "Bạn đã nhận yêu cầu #1").await;
    chat(&app, "m-lan", "xong yêu cầu 1", "Đã đóng yêu cầu #1").await;
    chat_to(&app, "c-1", "tốt lắm cảm ơn cháu", "m-lan", "Hài lòng").await;
    let requests = json_of(app.admin_get("/admin/api/requests?status=closed").await).await;
    assert_eq!(requests["items"][0]["rating"]["comment"], "tốt lắm cảm ơn cháu", "{requests}");

    chat(&app, "c-2", "gặp tổ", "thôn, tổ dân phố nào").await;
    chat(&app, "c-2", "hà nội", "chưa tìm thấy nơi nào").await;
    let said = chat(&app, "c-2", "làm sao để cài vneid", "").await;
    assert!(!said.contains("Mình đã ghi lại") && !said.contains("yêu cầu #"), "{said}");
}
