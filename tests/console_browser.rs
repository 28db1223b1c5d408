//! The operators' console in a real browser: headless Debian Chromium driven through
//! chromedriver (WebDriver, `fantoccini`). Walks issue 13 §5 as an official would:
//! sign in, upload units and teams, create an invite and read its code and QR, a member
//! joins over the webhook and reports, the dashboard shows who reported and who did
//! not, the XLSX download reads back, a dialog edit with a broken jump is refused at its
//! line and a fixed one is saved and answered by the bot, sign out, and a form without
//! its CSRF token is refused. Screenshots at 1366×768 and 390×844 go to
//! `target/screenshots/`.
//!
//! Skips (with a message) only when `chromium` or `chromedriver` is not installed;
//! `.ci/run` installs both.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cnscd_bot::clock::Clock;
use common::{ADMIN_TOKEN, spawn_app_at, texts};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const CHROMIUM: &[&str] = &["/usr/bin/chromium", "/usr/bin/chromium-browser"];
const DRIVER: &[&str] = &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

fn first_existing(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.exists())
}

/// chromedriver, killed when the test ends (also on panic).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_driver(binary: &Path) -> (Driver, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (driver, port)
}

async fn browser(port: u16, chromium: &Path, profile: &Path) -> Client {
    let args = [
        "--headless".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        "--lang=vi".into(),
        "--window-size=1366,768".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": chromium.display().to_string(), "args": args }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session")
}

fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Screenshots of the current page at office and phone sizes.
async fn shoot(client: &Client, name: &str) {
    let dir = screenshots_dir();
    for (w, h, tag) in [(1366u32, 768u32, "1366x768"), (390, 844, "390x844")] {
        client.set_window_size(w, h).await.unwrap();
        // Window size includes the (headless) frame; the viewport is what matters.
        let png = client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}-{tag}.png")), png).unwrap();
    }
    client.set_window_size(1366, 768).await.unwrap();
}

async fn path_of(client: &Client) -> String {
    client.current_url().await.unwrap().path().to_owned()
}

async fn body_text(client: &Client) -> String {
    client.find(Locator::Css("body")).await.unwrap().text().await.unwrap()
}

/// Clicks what `css` finds and, when that leaves the page (a form submit, a link),
/// waits until the new page has replaced it.
async fn click(client: &Client, css: &str) {
    let old = client.find(Locator::Css("html")).await.unwrap();
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    // The old document's root goes stale once the next page is loaded.
    while old.tag_name().await.is_ok() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_official_does_everything_in_the_browser() {
    let (Some(chromium), Some(driver_bin)) = (first_existing(CHROMIUM), first_existing(DRIVER))
    else {
        eprintln!(
            "SKIPPED console browser test: chromium and chromedriver are not installed \
             (apt-get install chromium chromium-driver; .ci/run installs them)"
        );
        return;
    };
    let started = Instant::now();
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The test edits dialog files: it works on a copy.
    let work = tempfile::tempdir().unwrap();
    let dialogs = work.path().join("dialogs");
    copy_dir(&manifest.join("dialogs"), &dialogs);
    let profile = work.path().join("chromium-profile");
    // Late November: teams imported now are expected to report for T11.
    let clock = Clock::starting_at_vn(2026, 11, 25, 10, 0);
    let dialogs_dir = dialogs.clone();
    let app = spawn_app_at(clock, move |s| s.dialogs.dir = dialogs_dir).await;
    let (_driver, port) = start_driver(&driver_bin).await;
    let client = browser(port, &chromium, &profile).await;
    let base = app.base.clone();

    // Not signed in: any console page sends the browser to the sign-in page.
    client.goto(&format!("{base}/admin/tong-quan")).await.unwrap();
    assert_eq!(path_of(&client).await, "/admin/dang-nhap");
    shoot(&client, "01-dang-nhap").await;
    client.find(Locator::Id("token")).await.unwrap().send_keys("wrong").await.unwrap();
    click(&client, "button[type=submit]").await;
    assert!(body_text(&client).await.contains("Mã quản trị không đúng"));
    client.find(Locator::Id("token")).await.unwrap().send_keys(ADMIN_TOKEN).await.unwrap();
    click(&client, "button[type=submit]").await;
    assert_eq!(path_of(&client).await, "/admin/tong-quan");

    // Upload the example units, then the example teams, each with a preview first.
    for (kind, file, done) in [
        ("don-vi", "units-example.csv", "Đã cập nhật"),
        ("to", "teams-example.csv", "Đã thêm 7 tổ"),
    ] {
        client.goto(&format!("{base}/admin/to")).await.unwrap();
        client
            .find(Locator::Css(&format!("input[name=loai][value={kind}]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let path = manifest.join("config").join(file);
        client
            .find(Locator::Id("tep"))
            .await
            .unwrap()
            .send_keys(&path.display().to_string())
            .await
            .unwrap();
        click(&client, "form[action='/admin/to/xem-truoc'] button[type=submit]").await;
        let preview = body_text(&client).await;
        assert!(preview.contains("thay đổi"), "{preview}");
        if kind == "to" {
            assert!(preview.contains("Thêm tổ Tổ CNSCĐ Dạ Lê"), "{preview}");
            shoot(&client, "02-xem-truoc").await;
        }
        click(&client, "form[action='/admin/to/ap-dung'] button[type=submit]").await;
        let applied = body_text(&client).await;
        assert!(applied.contains(done), "{applied}");
    }

    shoot(&client, "02b-to").await;

    // Create an invite for the Dạ Lê team and read its code and QR on the page.
    click(&client, "tr:nth-child(2) form[action='/admin/moi'] button").await;
    let card = body_text(&client).await;
    assert!(card.contains("Dạ Lê"), "teams are listed by unit code, Dạ Lê second: {card}");
    let code = client.find(Locator::Id("ma-moi")).await.unwrap().text().await.unwrap();
    assert_eq!(code.len(), 8, "{code:?}");
    client.find(Locator::Css("#qr-moi svg path")).await.expect("QR code on the page");
    assert!(card.contains("hết hạn ngày 09/12/2026"), "{card}");
    shoot(&client, "03-ma-moi").await;

    // A member joins with that code over the webhook and reports for November.
    app.user_says("u-lan", "m-1", &format!("/dangky {code}")).await;
    let joined = app.wait_for_messages("u-lan", 1).await;
    assert!(texts(&joined).concat().contains("Dạ Lê"), "{:?}", texts(&joined));
    app.user_says("u-lan", "m-2", "/bc 45 20 2 10 8 6 3 5 2 30").await;
    let reported = app.wait_for_messages("u-lan", 2).await;
    assert!(texts(&reported).concat().contains("Đã lưu"), "{:?}", texts(&reported));

    // The admin gives the member a name (Zalo does not send one).
    client.goto(&format!("{base}/admin/to")).await.unwrap();
    client
        .find(Locator::Css("form[action='/admin/thanh-vien/ten'] input[name=ten]"))
        .await
        .unwrap()
        .send_keys("Nguyễn Thị Lan")
        .await
        .unwrap();
    click(&client, "form[action='/admin/thanh-vien/ten'] button").await;
    assert!(body_text(&client).await.contains("Đã lưu tên thành viên"));

    // The dashboard shows the team as reported and the others as missing.
    client.goto(&format!("{base}/admin/tong-quan")).await.unwrap();
    let missing: Vec<String> = {
        let mut names = Vec::new();
        for row in client.find_all(Locator::Css("tr.missing th")).await.unwrap() {
            names.push(row.text().await.unwrap());
        }
        names
    };
    assert!(missing.iter().any(|n| n == "Tổ CNSCĐ Lang Xá Cồn"), "{missing:?}");
    assert!(!missing.iter().any(|n| n.contains("Dạ Lê")), "{missing:?}");
    assert_eq!(missing.len(), 6, "{missing:?}");
    let overview = body_text(&client).await;
    assert!(overview.contains("Tháng 11/2026"), "{overview}");
    shoot(&client, "04-tong-quan").await;

    // Download the XLSX the page links to, with the browser's session, and read it back.
    client.goto(&format!("{base}/admin/bao-cao")).await.unwrap();
    shoot(&client, "05-bao-cao").await;
    let href = client
        .find(Locator::Css("a[href^='/admin/bao-cao/tai.xlsx']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let cookie = client.get_named_cookie("cnscd_phien").await.unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    let xlsx = app
        .http
        .get(format!("{base}{href}"))
        .header("cookie", format!("cnscd_phien={}", cookie.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    let bytes = xlsx.bytes().await.unwrap().to_vec();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a real XLSX");
    use calamine::Reader as _;
    // The hand-off's automatic figures ride along for a monthly period (issue 12).
    assert_eq!(
        book.sheet_names(),
        vec!["Báo cáo".to_owned(), "Tổng hợp".to_owned(), "Đóng góp".to_owned()]
    );
    let range = book.worksheet_range("Báo cáo").unwrap();
    let cells: Vec<String> = range.rows().flat_map(|r| r.iter().map(|c| c.to_string())).collect();
    assert!(cells.iter().any(|c| c == "Tổ CNSCĐ Dạ Lê"), "{cells:?}");
    assert!(cells.iter().any(|c| c == "45"), "{cells:?}");
    assert!(cells.iter().any(|c| c == "Nguyễn Thị Lan"), "submitter by name: {cells:?}");
    // Every expected team has a row: the six that did not report are marked.
    assert_eq!(cells.iter().filter(|c| *c == "Chưa báo cáo").count(), 6, "{cells:?}");
    let dates = range.rows().flatten().filter(|c| matches!(c, calamine::Data::DateTime(_))).count();
    assert_eq!(dates, 1, "the submission time is a real date cell");
    let totals = book.worksheet_range("Tổng hợp").unwrap();
    let row: Vec<String> = totals.rows().nth(1).unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(&row[..4], ["2026-11", "1", "6", "45"], "{row:?}");

    // A citizen of Dạ Lê asks for a person; Lan claims and answers; someone else writes
    // what the dialogs do not understand. The three hand-off pages show it.
    for (user, id, text, expect) in [
        ("c-dan", "h-1", "gặp tổ", "thôn, tổ dân phố nào"),
        ("c-dan", "h-2", "da le", "Dạ Lê"),
        ("c-dan", "h-3", "Nhờ tổ hướng dẫn cài VNeID mức 2 cho bố tôi", "yêu cầu #1"),
        ("u-lan", "h-4", "/nhan 1", "#1"),
        ("u-lan", "h-5", "/tl 1 Chiều nay 3 giờ em qua nhà bác nhé", "#1"),
        ("c-la", "h-6", "xyzzy plugh quux", ""),
    ] {
        says(&app, user, id, text, expect).await;
    }
    client.goto(&format!("{base}/admin/yeu-cau")).await.unwrap();
    let requests = body_text(&client).await;
    assert!(requests.contains("Nhờ tổ hướng dẫn cài VNeID") && requests.contains("Nguyễn Thị Lan"));
    shoot(&client, "09-yeu-cau").await;
    client.goto(&format!("{base}/admin/dong-gop?ky=T11")).await.unwrap();
    assert!(body_text(&client).await.contains("Nguyễn Thị Lan"));
    shoot(&client, "10-dong-gop").await;
    client.goto(&format!("{base}/admin/cau-chua-hieu")).await.unwrap();
    shoot(&client, "11-cau-chua-hieu").await;
    client.goto(&format!("{base}/admin/tong-quan#yeu-cau")).await.unwrap();
    assert!(body_text(&client).await.contains("Yêu cầu hỗ trợ của người dân"));
    shoot(&client, "12-tong-quan-yeu-cau").await;

    // Edit main.toml in the browser: a broken jump is marked at its line and not saved.
    client.goto(&format!("{base}/admin/kich-ban")).await.unwrap();
    shoot(&client, "06-kich-ban").await;
    client.goto(&format!("{base}/admin/kich-ban/sua?tep=main.toml")).await.unwrap();
    let original = std::fs::read_to_string(dialogs.join("main.toml")).unwrap();
    let broken = original.replacen("goto = \"menu\"", "goto = \"menu_khong_co\"", 1);
    let broken_line = broken.lines().position(|l| l.contains("menu_khong_co")).unwrap() + 1;
    let textarea = client.find(Locator::Id("noi-dung")).await.unwrap();
    set_value(&textarea, &broken).await;
    click(&client, "button[value=kiem-tra]").await;
    let checked = body_text(&client).await;
    assert!(checked.contains("Có 1 lỗi"), "{}", checked.chars().take(1500).collect::<String>());
    let marked = client
        .find(Locator::Css(&format!("#dong-{broken_line}.bad .problem")))
        .await
        .expect("the error is shown at its line")
        .text()
        .await
        .unwrap();
    assert!(marked.contains("menu_khong_co"), "{marked}");
    // The page kept the broken text in the editor; saving it is refused.
    click(&client, "button[value=luu]").await;
    assert!(body_text(&client).await.contains("Chưa lưu"));
    shoot(&client, "07-sua-loi").await;
    assert_eq!(std::fs::read_to_string(dialogs.join("main.toml")).unwrap(), original);

    // Fixed, with a new greeting line: saved, reloaded, and the bot says it.
    let fixed = original.replacen(
        "dùng ứng dụng của tỉnh.\n",
        "dùng ứng dụng của tỉnh.\nLời chào đã sửa trên trang quản trị\n",
        1,
    );
    assert_ne!(fixed, original);
    let textarea = client.find(Locator::Id("noi-dung")).await.unwrap();
    set_value(&textarea, &fixed).await;
    click(&client, "button[value=luu]").await;
    let saved = body_text(&client).await;
    assert!(saved.contains("Đã lưu và nạp kịch bản mới"), "{saved}");
    assert_eq!(std::fs::read_to_string(dialogs.join("main.toml")).unwrap(), fixed);
    assert!(dialogs.join(".history").read_dir().unwrap().next().is_some(), "previous kept");
    app.user_says("u-citizen", "c-1", "xin chào").await;
    let greeting = app.wait_for_messages("u-citizen", 1).await;
    assert!(
        texts(&greeting).concat().contains("Lời chào đã sửa trên trang quản trị"),
        "{:?}",
        texts(&greeting)
    );

    // The test chat goes through the real pipeline.
    client.goto(&format!("{base}/admin/kich-ban")).await.unwrap();
    client.find(Locator::Id("loi-nhan")).await.unwrap().send_keys("xin chào").await.unwrap();
    click(&client, "form[action='/admin/kich-ban/thu'] button").await;
    let chat = client.find(Locator::Css(".chat")).await.unwrap().text().await.unwrap();
    assert!(chat.contains("Lời chào đã sửa trên trang quản trị"), "{chat}");

    // A form posted without its CSRF token is refused, even with a valid session.
    let forged = app
        .http
        .post(format!("{base}/admin/to/tao"))
        .header("cookie", format!("cnscd_phien={}", cookie.value()))
        .form(&[("don_vi", "19900-01"), ("ten", "Tổ giả mạo")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    client.goto(&format!("{base}/admin/tin-loi")).await.unwrap();
    assert!(body_text(&client).await.contains("Không có tin nào gửi lỗi"));
    shoot(&client, "08-tin-loi").await;

    // Sign out: the next page goes to the sign-in form.
    click(&client, "form.signout button").await;
    assert_eq!(path_of(&client).await, "/admin/dang-nhap");
    client.goto(&format!("{base}/admin/bao-cao")).await.unwrap();
    assert_eq!(path_of(&client).await, "/admin/dang-nhap");

    client.close().await.unwrap();
    let took = started.elapsed();
    eprintln!("console browser walkthrough took {took:?}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

/// Replaces a textarea's text by typing, as a person would (no script: the console's
/// CSP allows none): focus it, Ctrl+A, Delete, then the new text.
/// `user` says `text` over the webhook; waits for a new message to them containing `expect`.
async fn says(app: &common::TestApp, user: &str, id: &str, text: &str, expect: &str) {
    let before = app.fake.messages_for(user).len();
    assert_eq!(app.user_says(user, id, text).await, 200);
    for _ in 0..200 {
        let all = app.fake.messages_for(user);
        if all.len() > before && texts(&all[before..]).concat().contains(expect) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{user}: no reply containing {expect:?} to {text:?}");
}

async fn set_value(element: &fantoccini::elements::Element, value: &str) {
    use fantoccini::key::Key;
    element.click().await.unwrap();
    let select_all = format!("{}a{}", char::from(Key::Control), char::from(Key::Null));
    element.send_keys(&select_all).await.unwrap();
    element.send_keys(&format!("{}{value}", char::from(Key::Delete))).await.unwrap();
    let now = element.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(now.replace("\r\n", "\n"), value, "textarea value typed");
}
