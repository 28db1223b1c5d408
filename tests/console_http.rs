//! The operators' console over plain HTTP (no browser): sign-in, cookies, sessions with
//! idle expiry, CSRF, CSP, rate limiting, unit admins' `/quantri` links and their scope,
//! the chat commands `/tonghop` and `/xuat`, and the hand-off pages (requests,
//! contributions, unmatched messages) with their scope.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cnscd_bot::clock::Clock;
use common::*;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

static MSG: AtomicU64 = AtomicU64::new(1);

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn spawn() -> TestApp {
    spawn_app_at(Clock::starting_at_vn(2026, 11, 25, 10, 0), |s| {
        s.reports.reminders = false;
    })
    .await
}

/// Signs in with the admin token; returns the session cookie pair `cnscd_phien=…`.
async fn sign_in(app: &TestApp) -> String {
    let response = no_redirects()
        .post(format!("{}/admin/dang-nhap", app.base))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    cookie_of(&response)
}

fn cookie_of(response: &reqwest::Response) -> String {
    let set = response.headers().get(SET_COOKIE).expect("a session cookie").to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn get(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    no_redirects().get(format!("{}{path}", app.base)).header("cookie", cookie).send().await.unwrap()
}

/// The CSRF token on a console page.
async fn csrf(app: &TestApp, cookie: &str) -> String {
    let page = get(app, cookie, "/admin/to").await.text().await.unwrap();
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..at + 64].to_owned()
}

async fn chat(app: &TestApp, user: &str, text: &str, expect: &str) -> String {
    let before = app.fake.messages_for(user).len();
    let id = format!("c{}", MSG.fetch_add(1, Ordering::Relaxed));
    assert_eq!(app.user_says(user, &id, text).await, 200);
    for _ in 0..100 {
        let new = texts(&app.fake.messages_for(user)[before..]).join("\n");
        if new.contains(expect) {
            return new;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("no reply containing {expect:?} to {text:?}");
}

/// Units and teams from the example files, via the admin API.
async fn seed(app: &TestApp) {
    let units =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/units-example.csv"))
            .unwrap();
    let teams =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/teams-example.csv"))
            .unwrap();
    for (path, body) in [("/admin/api/units/import", units), ("/admin/api/teams/import", teams)] {
        let response = app
            .http
            .post(format!("{}{path}", app.base))
            .bearer_auth(ADMIN_TOKEN)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn pages_need_a_session_and_sign_in_sets_a_strict_cookie() {
    let app = spawn().await;
    for path in [
        "/admin/tong-quan",
        "/admin/bao-cao",
        "/admin/yeu-cau",
        "/admin/dong-gop",
        "/admin/to",
        "/admin/kich-ban",
        "/admin/cau-chua-hieu",
        "/admin/tin-loi",
    ] {
        let response = get(&app, "", path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()[LOCATION], "/admin/dang-nhap");
    }
    let form = get(&app, "", "/admin/dang-nhap").await;
    let csp = form.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"), "{csp}");
    assert!(form.text().await.unwrap().contains("Mã quản trị"));

    let response = no_redirects()
        .post(format!("{}/admin/dang-nhap", app.base))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[LOCATION], "/admin/tong-quan");
    let set = response.headers()[SET_COOKIE].to_str().unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    assert!(!set.contains("Secure"), "plain http public URL: {set}");
    let cookie = cookie_of(&response);
    for path in [
        "/admin/tong-quan",
        "/admin/bao-cao",
        "/admin/yeu-cau",
        "/admin/dong-gop",
        "/admin/to",
        "/admin/kich-ban",
        "/admin/cau-chua-hieu",
        "/admin/tin-loi",
    ] {
        let page = get(&app, &cookie, path).await;
        assert_eq!(page.status(), 200, "{path}");
        assert!(page.headers().contains_key(CONTENT_SECURITY_POLICY));
    }

    // Idle for longer than the session lifetime: back to the sign-in page.
    app.clock.advance(Duration::from_secs(9 * 3600));
    assert_eq!(get(&app, &cookie, "/admin/tong-quan").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let app = spawn_app_with(|s| s.server.public_url = "https://bot.example.vn".into()).await;
    let response = no_redirects()
        .post(format!("{}/admin/dang-nhap", app.base))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert!(response.headers()[SET_COOKIE].to_str().unwrap().ends_with("; Secure"));
}

#[tokio::test]
async fn wrong_tokens_are_rate_limited() {
    let app = spawn().await;
    for _ in 0..5 {
        let response = no_redirects()
            .post(format!("{}/admin/dang-nhap", app.base))
            .form(&[("token", "guess")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let blocked = no_redirects()
        .post(format!("{}/admin/dang-nhap", app.base))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(Duration::from_secs(61));
    sign_in(&app).await;
}

#[tokio::test]
async fn forms_without_their_csrf_token_are_refused_and_sign_out_ends_the_session() {
    let app = spawn().await;
    seed(&app).await;
    let cookie = sign_in(&app).await;
    let create = |csrf: Option<String>, name: &'static str| {
        let mut form = vec![("don_vi", "19900-01".to_owned()), ("ten", name.to_owned())];
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        no_redirects()
            .post(format!("{}/admin/to/tao", app.base))
            .header("cookie", cookie.clone())
            .form(&form)
            .send()
    };
    assert_eq!(create(None, "Tổ mới").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        create(Some("0".repeat(64)), "Tổ mới").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let token = csrf(&app, &cookie).await;
    let page = create(Some(token.clone()), "Tổ mới").await.unwrap().text().await.unwrap();
    assert!(page.contains("Đã tạo tổ"), "{page}");
    // The same name again (other spelling) is refused.
    let page = create(Some(token.clone()), "tổ MỚI").await.unwrap().text().await.unwrap();
    assert!(page.contains("trùng tên"), "{page}");

    let out = no_redirects()
        .post(format!("{}/admin/dang-xuat", app.base))
        .header("cookie", cookie.clone())
        .form(&[("csrf", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(get(&app, &cookie, "/admin/to").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn unit_admins_sign_in_from_chat_and_see_only_their_unit() {
    let app = spawn().await;
    seed(&app).await;
    let invite =
        app.admin_post("/admin/api/invites", json!({"unit": "20000", "role": "admin"})).await;
    let code = invite.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned();
    chat(&app, "u-canbo", &format!("/dangky {code}"), "").await;
    // Slash-less, the word belongs to the citizen dialogs.
    let link_text = chat(&app, "u-canbo", "/quantri", "/admin/vao/").await;
    let url = link_text.split_whitespace().find(|w| w.contains("/admin/vao/")).unwrap();
    assert!(url.starts_with(&app.base), "{url} vs {}", app.base);
    let token = url.rsplit('/').next().unwrap().to_owned();
    // Opening the link shows a button; only the POST uses the link.
    let page = get(&app, "", &format!("/admin/vao/{token}")).await;
    assert_eq!(page.status(), 200);
    let enter = |token: String| {
        no_redirects().post(format!("{}/admin/vao", app.base)).form(&[("token", token)]).send()
    };
    let response = enter(token.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_of(&response);
    assert_eq!(enter(token).await.unwrap().status(), StatusCode::GONE, "single use");

    let teams = get(&app, &cookie, "/admin/to").await.text().await.unwrap();
    assert!(teams.contains("Tổ CNSCĐ thôn Phú An"), "own commune's teams");
    assert!(!teams.contains("Dạ Lê"), "another commune's team");
    assert_eq!(get(&app, &cookie, "/admin/kich-ban").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(get(&app, &cookie, "/admin/tin-loi").await.status(), StatusCode::FORBIDDEN);
    let other = get(&app, &cookie, "/admin/bao-cao?don-vi=19900").await.text().await.unwrap();
    assert!(other.contains("chỉ xem được đơn vị của mình"), "{other}");

    // A link expires after 10 minutes.
    let link_text = chat(&app, "u-canbo", "/quantri", "/admin/vao/").await;
    let late =
        link_text.split('/').next_back().unwrap().split_whitespace().next().unwrap().to_owned();
    app.clock.advance(Duration::from_secs(601));
    assert_eq!(enter(late).await.unwrap().status(), StatusCode::GONE);
}

#[tokio::test]
async fn unit_admins_get_summaries_and_download_links_in_chat() {
    let app = spawn().await;
    seed(&app).await;
    let invite =
        app.admin_post("/admin/api/invites", json!({"unit": "19900", "role": "admin"})).await;
    let code = invite.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned();
    chat(&app, "u-canbo", &format!("/dangky {code}"), "").await;
    let member = app.admin_post("/admin/api/invites", json!({"team": 2, "role": "member"})).await;
    let code = member.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned();
    chat(&app, "u-lan", &format!("/dangky {code}"), "Dạ Lê").await;
    chat(&app, "u-lan", "/bc 45 20 2 10 8 6 3 5 2 30", "Đã lưu").await;

    let summary = chat(&app, "u-canbo", "/tonghop T11", "tổ đã báo cáo").await;
    assert!(summary.contains("1/3 tổ đã báo cáo tháng 11/2026"), "{summary}");
    assert!(summary.contains("- Tổ CNSCĐ Lang Xá Cồn"), "{summary}");
    assert!(!summary.contains("- Tổ CNSCĐ Dạ Lê"), "{summary}");
    // Members cannot use admin commands.
    chat(&app, "u-lan", "/tonghop", "dành cho cán bộ quản lý").await;

    let reply = chat(&app, "u-canbo", "/xuat", "/admin/tai/").await;
    let url = reply.split_whitespace().find(|w| w.contains("/admin/tai/")).unwrap().to_owned();
    // Opening the link (or a chat preview fetching it) shows a button; the POST downloads.
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200, "a GET does not use it up");
    let token = url.rsplit('/').next().unwrap().to_owned();
    let download = || {
        app.http.post(format!("{}/admin/tai", app.base)).form(&[("token", token.clone())]).send()
    };
    let file = download().await.unwrap();
    assert_eq!(file.status(), 200);
    assert!(file.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    assert_eq!(download().await.unwrap().status(), StatusCode::GONE, "single use");
}

#[tokio::test]
async fn a_dialog_edit_with_errors_is_refused_and_a_good_one_is_saved() {
    let work = tempfile::tempdir().unwrap();
    let dialogs = work.path().join("dialogs");
    std::fs::create_dir_all(dialogs.join("tests")).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogs");
    for entry in
        std::fs::read_dir(&src).unwrap().chain(std::fs::read_dir(src.join("tests")).unwrap())
    {
        let path = entry.unwrap().path();
        if path.is_file() {
            let rel = path.strip_prefix(&src).unwrap();
            std::fs::copy(&path, dialogs.join(rel)).unwrap();
        }
    }
    let dir = dialogs.clone();
    let app = spawn_app_with(move |s| s.dialogs.dir = dir).await;
    let cookie = sign_in(&app).await;
    let token = csrf(&app, &cookie).await;
    let original = std::fs::read_to_string(dialogs.join("main.toml")).unwrap();
    let broken = original.replacen("goto = \"menu\"", "goto = \"menu_khong_co\"", 1);
    let post = |text: String, action: &'static str| {
        no_redirects()
            .post(format!("{}/admin/kich-ban/sua", app.base))
            .header("cookie", cookie.clone())
            .form(&[
                ("csrf", token.clone()),
                ("tep", "main.toml".into()),
                ("noi_dung", text),
                ("hanh_dong", action.into()),
            ])
            .send()
    };
    let checked = post(broken.clone(), "kiem-tra").await.unwrap().text().await.unwrap();
    // The error is marked at the line of the broken `goto`, wherever main.toml has it.
    let line = 1 + original[..original.find("goto = \"menu\"").unwrap()].matches('\n').count();
    assert!(checked.contains(&format!("<li id=\"dong-{line}\" class=\"bad\">")), "{checked}");
    assert!(checked.contains(&format!("Lỗi dòng {line}, cột 8")), "{checked}");
    let refused = post(broken, "luu").await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(std::fs::read_to_string(dialogs.join("main.toml")).unwrap(), original);
    let fixed = original.replace("Mình là trợ lý tự động.", "Mình là trợ lý tự động (đã sửa).");
    let saved = post(fixed.clone(), "luu").await.unwrap().text().await.unwrap();
    assert!(saved.contains("Đã lưu và nạp"), "{saved}");
    assert_eq!(std::fs::read_to_string(dialogs.join("main.toml")).unwrap(), fixed);
    let log = get(&app, &cookie, "/admin/kich-ban").await.text().await.unwrap();
    assert!(log.contains("lượt trò chuyện mẫu trên các tệp hiện có"), "{log}");
    assert!(log.contains(", 0 không đạt."), "{log}");
    assert!(log.contains("Quản trị tỉnh sửa <code>main.toml</code>"), "{log}");
    chat(&app, "u-dan", "xin chào", "trợ lý tự động (đã sửa)").await;

    // Restore the file as it was before the edit.
    let restored = no_redirects()
        .post(format!("{}/admin/kich-ban/khoi-phuc", app.base))
        .header("cookie", cookie.clone())
        .form(&[("csrf", token.clone()), ("tep", "main.toml".into())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(restored.contains("Đã khôi phục main.toml"), "{restored}");
    assert_eq!(std::fs::read_to_string(dialogs.join("main.toml")).unwrap(), original);
    chat(&app, "u-dan2", "xin chào", "Mình là trợ lý tự động. Mình chỉ").await;
}

#[tokio::test]
async fn the_admin_api_reads_periods_as_the_chat_does() {
    let app = spawn().await;
    seed(&app).await;
    for period in ["2026-11", "T11", "t11/2026", "11/2026"] {
        let response = app.admin_get(&format!("/admin/api/completeness?period={period}")).await;
        assert_eq!(response.status(), 200, "{period}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["items"][0]["period"], "2026-11", "{period}");
    }
    for bad in ["10-2026", "T13", "2026-13"] {
        let response = app.admin_get(&format!("/admin/api/completeness?period={bad}")).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn api_errors_are_json_with_a_vietnamese_message_and_an_english_detail() {
    let app = spawn().await;
    let post = |body: &'static str, content_type: &'static str| {
        app.http
            .post(format!("{}/admin/api/teams", app.base))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for (body, content_type, status) in [
        ("unit=1", "application/x-www-form-urlencoded", 415),
        ("{\"unit\": \"1\"}", "application/json", 422),
        ("{not json", "application/json", 400),
    ] {
        let response = post(body, content_type).await.unwrap();
        assert_eq!(response.status(), status, "{body}");
        let json: Value = response.json().await.unwrap();
        assert!(json["message"].as_str().unwrap().contains(' '), "{json}");
        assert!(!json["detail"].as_str().unwrap().is_empty(), "{json}");
    }
    let unknown = app.admin_post("/admin/api/teams", json!({"unit": "999", "name": "Tổ A"})).await;
    assert_eq!(unknown.status(), 400);
    let json: Value = unknown.json().await.unwrap();
    assert_eq!(json["message"], "Yêu cầu không hợp lệ.");
    assert!(json["detail"].as_str().unwrap().contains("unit 999 not found"), "{json}");
    let denied = app.http.get(format!("{}/admin/api/units", app.base)).send().await.unwrap();
    let json: Value = denied.json().await.unwrap();
    assert_eq!(json["error"], "unauthorized");
    assert!(json["message"].as_str().unwrap().starts_with("Chưa xác thực"));
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let app = spawn().await;
    seed(&app).await;
    let invite: Value = app
        .admin_post("/admin/api/invites", json!({"team": 1, "role": "member"}))
        .await
        .json()
        .await
        .unwrap();
    // The clock starts at 10:00 and runs on in real time: a loaded machine may be seconds on.
    let expires = invite["expires_at"].as_str().unwrap();
    assert!(
        expires.starts_with("2026-12-09T10:0")
            && expires.ends_with("+07:00")
            && expires.len() == 25,
        "ISO 8601, Vietnam time: {expires}"
    );
    let doc: Value = app.admin_get("/admin/api/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/admin/api/teams"]["post"]["requestBody"].is_object());
}

#[tokio::test]
async fn failed_sends_are_listed_with_zalos_reason_and_can_be_retried() {
    let app = spawn().await;
    app.fake.fail_next(cnscd_bot::zalo::fake::FakeFailure::Api(
        -213,
        "User has not followed OA".into(),
    ));
    app.user_says("u-x", "f-1", "xin chào").await;
    let cookie = sign_in(&app).await;
    let mut page = String::new();
    for _ in 0..100 {
        page = get(&app, &cookie, "/admin/tin-loi").await.text().await.unwrap();
        if page.contains("-213") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(page.contains("User has not followed OA"), "{page}");
    let end = page.find("/gui-lai\"").unwrap() + "/gui-lai".len();
    let start = page[..end].rfind('"').unwrap() + 1;
    let action = page[start..end].to_owned();
    let token = csrf(&app, &cookie).await;
    let retried = no_redirects()
        .post(format!("{}{action}", app.base))
        .header("cookie", cookie.clone())
        .form(&[("csrf", token)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(retried.contains("vào hàng đợi gửi lại"), "{retried}");
    let delivered = app.wait_for_messages("u-x", 1).await;
    assert!(!delivered.is_empty(), "the retried message went out");
}

/// Signs a unit admin of `unit` in through `/quantri`; returns the session cookie.
async fn unit_admin(app: &TestApp, user: &str, unit: &str) -> String {
    let invite = app.admin_post("/admin/api/invites", json!({"unit": unit, "role": "admin"})).await;
    let code = invite.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned();
    chat(app, user, &format!("/dangky {code}"), "").await;
    let link_text = chat(app, user, "/quantri", "/admin/vao/").await;
    let url = link_text.split_whitespace().find(|w| w.contains("/admin/vao/")).unwrap();
    let token = url.rsplit('/').next().unwrap().to_owned();
    let response = no_redirects()
        .post(format!("{}/admin/vao", app.base))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    cookie_of(&response)
}

async fn page_text(app: &TestApp, cookie: &str, path: &str) -> String {
    let response = get(app, cookie, path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

fn xlsx_sheets(bytes: Vec<u8>) -> calamine::Xlsx<std::io::Cursor<Vec<u8>>> {
    calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a real XLSX")
}

#[tokio::test]
async fn hand_off_requests_contributions_and_unmatched_messages_show_in_scope() {
    use calamine::Reader as _;
    let app = spawn().await;
    seed(&app).await;
    // Team 4 is "Tổ CNSCĐ thôn Phú An" (Xã Phú Vinh, 20000); team 2 "Dạ Lê" (19900).
    let member = app.admin_post("/admin/api/invites", json!({"team": 4, "role": "member"})).await;
    let code = member.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned();
    chat(&app, "m-lan", &format!("/dangky {code}"), "Phú An").await;
    chat(&app, "m-lan", "/ten Nguyễn Thị Lan", "Nguyễn Thị Lan").await;

    // A citizen of Phú An asks for a person; the member claims and answers.
    chat(&app, "c-phuan", "gặp tổ", "thôn, tổ dân phố nào").await;
    chat(&app, "c-phuan", "phu an", "Thôn Phú An").await;
    chat(&app, "c-phuan", "Tôi muốn cài VNeID cho mẹ", "yêu cầu #1").await;
    chat(&app, "m-lan", "/nhan 1", "#1").await;
    app.clock.advance(Duration::from_secs(25 * 60));
    let before = app.fake.messages_for("c-phuan").len();
    chat(&app, "m-lan", "/tl 1 Chị mang CCCD ra nhà văn hóa thôn nhé", "#1").await;
    for _ in 0..100 {
        if app.fake.messages_for("c-phuan").len() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    // A citizen of Dạ Lê (another commune) asks too; nobody claims it.
    chat(&app, "c-dale", "gặp tổ", "thôn, tổ dân phố nào").await;
    chat(&app, "c-dale", "da le", "Dạ Lê").await;
    chat(&app, "c-dale", "Hỏi thủ tục đăng ký khai sinh online", "yêu cầu #2").await;
    // Something the dialogs do not understand.
    app.user_says("c-lost", "c-lost-1", "xyzzy plugh quux").await;

    let cookie = sign_in(&app).await;
    let list = page_text(&app, &cookie, "/admin/yeu-cau").await;
    for want in [
        "#1",
        "Thôn Phú An",
        "Tôi muốn cài VNeID cho mẹ",
        "Nguyễn Thị Lan",
        "trả lời sau 25 phút",
        "#2",
        "Hỏi thủ tục đăng ký khai sinh online",
        "Chờ người nhận",
    ] {
        assert!(list.contains(want), "{want:?} in {list}");
    }
    assert!(!list.contains("c-phuan") && !list.contains("c-dale"), "citizens' ids are masked");
    assert!(list.contains("<code>u:"), "{list}");
    assert!(!list.contains("Quá hạn nhận</strong>"), "nothing waits too long yet: {list}");
    let open = page_text(&app, &cookie, "/admin/yeu-cau?trang-thai=cho").await;
    assert!(open.contains("#2") && !open.contains("VNeID"), "{open}");
    // Three office hours later the unclaimed one is marked.
    app.clock.advance(Duration::from_secs(3 * 3600));
    let late = page_text(&app, &cookie, "/admin/yeu-cau").await;
    assert!(late.contains("class=\"overdue\"") && late.contains("Quá hạn nhận"), "{late}");

    let overview = page_text(&app, &cookie, "/admin/tong-quan").await;
    assert!(overview.contains("Yêu cầu hỗ trợ của người dân"), "{overview}");
    assert!(overview.contains("Đóng góp của các tổ tháng 11/2026"), "{overview}");
    assert!(!overview.contains("class=\"placeholder\""), "{overview}");

    let contributions = page_text(&app, &cookie, "/admin/dong-gop?ky=T11").await;
    assert!(contributions.contains("Nguyễn Thị Lan"), "{contributions}");
    assert!(contributions.contains("Tổ CNSCĐ thôn Phú An"), "{contributions}");
    assert!(contributions.contains("25 phút"), "median first answer: {contributions}");
    let csv = get(&app, &cookie, "/admin/dong-gop/tai.csv?ky=T11").await;
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = String::from_utf8(csv.bytes().await.unwrap().to_vec()).unwrap();
    assert!(csv.starts_with('\u{feff}') && csv.contains("Yêu cầu đã nhận"), "{csv}");
    assert!(csv.contains("Nguyễn Thị Lan") && !csv.contains("m-lan"), "{csv}");
    let xlsx = get(&app, &cookie, "/admin/dong-gop/tai.xlsx?ky=T11").await.bytes().await.unwrap();
    assert_eq!(xlsx_sheets(xlsx.to_vec()).sheet_names(), vec!["Đóng góp".to_owned()]);
    // The reports export carries the same figures as a third sheet.
    let reports = get(&app, &cookie, "/admin/bao-cao/tai.xlsx?ky=T11").await.bytes().await.unwrap();
    let mut book = xlsx_sheets(reports.to_vec());
    assert_eq!(book.sheet_names().last().map(String::as_str), Some("Đóng góp"));
    let api = app.admin_get("/admin/api/exports/reports.xlsx?period=T11").await;
    let api = xlsx_sheets(api.bytes().await.unwrap().to_vec());
    assert_eq!(api.sheet_names().last().map(String::as_str), Some("Đóng góp"), "admin API too");
    let sheet = book.worksheet_range("Đóng góp").unwrap();
    let cells: Vec<String> = sheet.rows().flat_map(|r| r.iter().map(|c| c.to_string())).collect();
    assert!(cells.iter().any(|c| c == "Nguyễn Thị Lan"), "{cells:?}");

    let mut unmatched = String::new();
    for _ in 0..100 {
        unmatched = page_text(&app, &cookie, "/admin/cau-chua-hieu").await;
        if unmatched.contains("xyzzy plugh quux") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(unmatched.contains("xyzzy plugh quux"), "{unmatched}");
    assert!(unmatched.contains("25/11/2026"), "last seen, Vietnam date: {unmatched}");
    let dialogs = page_text(&app, &cookie, "/admin/kich-ban").await;
    assert!(dialogs.contains("xyzzy plugh quux"), "{dialogs}");
    assert!(!dialogs.contains("class=\"placeholder\""), "{dialogs}");

    // An admin of Thanh Thủy (19900) sees Dạ Lê's request, not Phú Vinh's.
    let other = unit_admin(&app, "u-thanhthuy", "19900").await;
    let theirs = page_text(&app, &other, "/admin/yeu-cau").await;
    assert!(theirs.contains("Hỏi thủ tục đăng ký khai sinh online"), "{theirs}");
    assert!(!theirs.contains("VNeID") && !theirs.contains("Nguyễn Thị Lan"), "{theirs}");
    let refused = page_text(&app, &other, "/admin/yeu-cau?don-vi=20000").await;
    assert!(refused.contains("chỉ xem được đơn vị của mình") && !refused.contains("VNeID"));
    let figures = page_text(&app, &other, "/admin/dong-gop?ky=T11").await;
    assert!(!figures.contains("Nguyễn Thị Lan"), "{figures}");
    let csv = get(&app, &other, "/admin/dong-gop/tai.csv?ky=T11").await.text().await.unwrap();
    assert!(!csv.contains("Nguyễn Thị Lan"), "{csv}");
    let overview = page_text(&app, &other, "/admin/tong-quan").await;
    assert!(!overview.contains("Tổ CNSCĐ thôn Phú An"), "{overview}");
    assert_eq!(get(&app, &other, "/admin/cau-chua-hieu").await.status(), StatusCode::FORBIDDEN);
    // The Phú Vinh admin sees the Phú An request.
    let own = unit_admin(&app, "u-phuvinh", "20000").await;
    assert!(page_text(&app, &own, "/admin/yeu-cau").await.contains("VNeID"));
}
