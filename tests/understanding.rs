//! Issue 10 end to end over the webhook with the shipped dialogs: a scam in progress is
//! answered with the warning first (even mid-dialog), small talk gets a short answer, and
//! what was not understood is listed, masked, at `GET /admin/api/unmatched`.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

/// Sends `text` and returns the new texts once a reply arrived (and the rest had a moment).
async fn replies_to(app: &TestApp, user: &str, msg_id: &str, text: &str) -> Vec<String> {
    let before = app.fake.messages_for(user).len();
    assert_eq!(app.user_says(user, msg_id, text).await, 200);
    for _ in 0..100 {
        if app.fake.messages_for(user).len() > before {
            tokio::time::sleep(Duration::from_millis(150)).await;
            return texts(&app.fake.messages_for(user)[before..]);
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("no reply to {text:?}");
}

#[tokio::test]
async fn danger_wins_even_inside_another_topic() {
    let app = spawn_app().await;
    let topic = replies_to(&app, "u-1", "m1", "chuyển khoản an toàn").await;
    assert!(!topic[0].starts_with("⚠️"), "{topic:?}");
    let scam = "co nguoi goi xung la cong an bat chuyen tien de dieu tra";
    let warned = replies_to(&app, "u-1", "m2", scam).await;
    assert!(warned[0].starts_with("⚠️"), "{warned:?}");
    let fresh = replies_to(
        &app,
        "u-2",
        "m3",
        "ngan hang nhan tin bao cap nhat sinh trac hoc ko thi khoa tk",
    )
    .await;
    assert!(fresh[0].starts_with("⚠️"), "{fresh:?}");
}

#[tokio::test]
async fn small_talk_is_answered_and_misses_are_listed_masked() {
    let app = spawn_app().await;
    for (i, text) in ["cảm ơn", "ok", "alo co ai ko"].iter().enumerate() {
        let reply = replies_to(&app, "u-talk", &format!("t{i}"), text).await;
        assert!(!reply[0].contains("Mình chưa hiểu"), "{text}: {reply:?}");
    }
    let miss = "thoi tiet hue ngay mai the nao, so 0912345678";
    for i in 0..2 {
        let reply = replies_to(&app, &format!("u-miss-{i}"), &format!("x{i}"), miss).await;
        assert!(reply[0].starts_with("Mình chưa hiểu ý bạn"), "{reply:?}");
    }
    let response = app.admin_get("/admin/api/unmatched").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let first = &body["items"][0];
    assert_eq!(first["count"], 2, "{body}");
    let text = first["text"].as_str().unwrap();
    assert_eq!(text, "thoi tiet hue ngay mai the nao so #");
    assert!(!body.to_string().contains("u-miss") && !body.to_string().contains("0912"), "{body}");
    let anonymous = app.http.get(format!("{}/admin/api/unmatched", app.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}
