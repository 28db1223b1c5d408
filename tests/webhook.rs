//! The Zalo channel end to end: the real server, a temporary store, the fake Zalo.

mod common;

use std::time::Duration;

use cnscd_bot::zalo::fake::FakeFailure;
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn documented_test_vector_is_accepted_and_answered() {
    // The exact body and header from docs/zalo.md §2, received a
    // second after it was stamped.
    let app = spawn_app_at(
        cnscd_bot::clock::Clock::starting_at(cnscd_bot::calendar::UnixMs(1_735_693_201_123)),
        |_| {},
    )
    .await;
    let body = r#"{"app_id":"360846524940903967","sender":{"id":"246845883529197922"},"recipient":{"id":"388613280878808645"},"event_name":"user_send_text","message":{"text":"Xin chào","msg_id":"96d3cdf3af150460909"},"timestamp":"1735693200123"}"#;
    let header = "mac=91d3d8a2960bc41e2ca055e6913dc6e9b00316a525edda61d09d9462370b29a9";
    let resp = app.post_raw(body, Some(header)).await;
    assert_eq!(resp.status(), 200);
    let replies = app.wait_for_messages("246845883529197922", 1).await;
    assert!(!replies.is_empty(), "the user gets a reply");
    assert!(!texts(&replies)[0].is_empty());
}

#[tokio::test]
async fn forged_unsigned_oversized_and_malformed_requests_are_refused_without_side_effects() {
    let app = spawn_app().await;
    let body = text_event("111", "m-forged", "xin chào");
    let cases: Vec<(String, Option<String>, u16)> = vec![
        (body.clone(), None, 401),
        (body.clone(), Some("mac=".to_owned() + &"0".repeat(64)), 401),
        (body.clone(), Some("not-hex".into()), 401),
        // Signed with the app secret instead of the OA secret.
        (
            body.clone(),
            Some(format!(
                "mac={}",
                cnscd_bot::zalo::signature::sign(APP_ID, body.as_bytes(), "x", APP_SECRET)
            )),
            401,
        ),
        ("{not json".into(), Some("mac=".to_owned() + &"0".repeat(64)), 400),
        ("[1,2]".into(), None, 401),
    ];
    for (body, sig, want) in cases {
        let resp = app.post_raw(&body, sig.as_deref()).await;
        assert_eq!(resp.status().as_u16(), want, "{body} {sig:?}");
    }
    // Validly signed but for another app.
    let other = json!({"app_id": "999", "event_name": "user_send_text", "sender": {"id": "111"},
                       "message": {"text": "x", "msg_id": "m-other"}, "timestamp": "1"})
    .to_string();
    let mac = cnscd_bot::zalo::signature::sign("999", other.as_bytes(), "1", OA_SECRET);
    assert_eq!(app.post_raw(&other, Some(&format!("mac={mac}"))).await.status(), 401);
    // Signed, valid JSON, but no event_name: acknowledged (Zalo disables webhooks
    // that fail) and dropped.
    let nameless = json!({"app_id": APP_ID, "timestamp": now_ms_string()}).to_string();
    assert_eq!(app.post_signed(&nameless).await.status(), 200);
    // A captured, validly signed event replayed after the dedupe window, or stamped
    // more than 5 minutes ahead: refused.
    let at = |offset_ms: i64| app.clock.now_ms().plus_ms(offset_ms).get().to_string();
    for ts in [at(-73 * 3_600_000), at(6 * 60_000)] {
        let old = json!({"app_id": APP_ID, "event_name": "user_send_text", "sender": {"id": "111"},
                         "message": {"text": "x", "msg_id": format!("m-{ts}")}, "timestamp": ts})
        .to_string();
        assert_eq!(app.post_signed(&old).await.status(), 401, "timestamp {ts}");
    }
    // Over 64 KiB.
    let huge = text_event("111", "m-huge", &"a".repeat(70 * 1024));
    assert_eq!(app.post_signed(&huge).await.status(), 413);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.fake.messages().is_empty(), "no refused request produced a reply");
}

#[tokio::test]
async fn unsigned_empty_probe_gets_200_and_does_nothing() {
    let app = spawn_app().await;
    let resp = app.post_raw("{}", None).await;
    assert_eq!(resp.status(), 200);
    let resp = app.post_raw("{ }", None).await;
    assert_eq!(resp.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(app.fake.messages().is_empty());
}

#[tokio::test]
async fn every_event_family_is_acknowledged_and_only_user_events_are_answered() {
    let app = spawn_app().await;
    let user = "246845883529197922";
    let ts = now_ms_string();
    let events = vec![
        json!({"app_id": APP_ID, "event_name": "oa_send_text", "sender": {"id": "388613280878808645"}, "recipient": {"id": user}, "message": {"msg_id": "e1", "text": "echo"}, "timestamp": ts}),
        json!({"app_id": APP_ID, "event_name": "user_received_message", "sender": {"id": "388613280878808645"}, "recipient": {"id": user}, "message": {"msg_id": "e2"}, "timestamp": ts}),
        json!({"app_id": APP_ID, "event_name": "user_seen_message", "sender": {"id": "388613280878808645"}, "recipient": {"id": user}, "message": {"msg_ids": ["e1", "e2"]}, "timestamp": ts}),
        json!({"app_id": APP_ID, "event_name": "user_submit_info", "sender": {"id": user}, "recipient": {"id": "1"}, "info": {"name": "A", "phone": "84912345678"}, "timestamp": ts}),
        json!({"app_id": APP_ID, "event_name": "user_reacted_message", "sender": {"id": user}, "message": {"msg_id": "e3", "react_icon": "/-heart"}, "timestamp": ts}),
        json!({"app_id": APP_ID, "event_name": "some_future_event", "timestamp": ts}),
    ];
    for event in &events {
        assert_eq!(app.post_signed(&event.to_string()).await.status(), 200, "{event}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        app.fake.messages().is_empty(),
        "echoes, receipts and unknown events never trigger replies"
    );

    // User-driven events are answered: an image gets a hint to type instead.
    let image = json!({"app_id": APP_ID, "event_name": "user_send_image", "sender": {"id": user}, "recipient": {"id": "1"},
        "message": {"msg_id": "img1", "attachments": [{"type": "image", "payload": {"url": "https://x/a.jpg", "thumbnail": "https://x/t.jpg"}}]}, "timestamp": ts});
    assert_eq!(app.post_signed(&image.to_string()).await.status(), 200);
    let replies = app.wait_for_messages(user, 1).await;
    assert!(texts(&replies).iter().any(|t| t.contains("chưa xem được")), "{:?}", texts(&replies));
}

#[tokio::test]
async fn redelivered_event_is_answered_once() {
    let app = spawn_app().await;
    // Baseline: the same events delivered once, to other users.
    assert_eq!(app.user_says("221", "dup-0", "menu").await, 200);
    assert_eq!(app.post_signed(&follow_event("331")).await.status(), 200);
    // Re-delivered: by msg_id for messages, by body hash for a follow (no msg_id).
    let body = text_event("222", "dup-1", "menu");
    let follow = follow_event("333");
    for _ in 0..3 {
        assert_eq!(app.post_signed(&body).await.status(), 200);
        assert_eq!(app.post_signed(&follow).await.status(), 200);
    }
    let once = wait_settled(&app.fake, "221").await.len();
    let follow_once = wait_settled(&app.fake, "331").await.len();
    wait_settled(&app.fake, "222").await;
    wait_settled(&app.fake, "333").await;
    assert!(once >= 1 && follow_once >= 1);
    assert_eq!(app.fake.messages_for("222").len(), once, "no second reply set");
    assert_eq!(app.fake.messages_for("333").len(), follow_once);
}

#[tokio::test]
async fn one_users_replies_arrive_in_order() {
    let app = spawn_app().await;
    for i in 0..5 {
        assert_eq!(app.user_says("444", &format!("ord-{i}"), "menu").await, 200);
    }
    let one = {
        let probe = spawn_app().await;
        probe.user_says("x", "p", "menu").await;
        wait_settled(&probe.fake, "x").await.len()
    };
    let got = app.wait_for_messages("444", 5 * one).await;
    assert_eq!(got.len(), 5 * one);
    let seqs: Vec<usize> = got.iter().map(|m| m.seq).collect();
    let mut sorted = seqs.clone();
    sorted.sort();
    assert_eq!(seqs, sorted);
}

#[tokio::test]
async fn expired_token_is_refreshed_once_and_the_send_retried() {
    let app = spawn_app().await;
    app.fake.expire_access_token();
    assert_eq!(app.user_says("555", "tok-1", "menu").await, 200);
    let replies = app.wait_for_messages("555", 1).await;
    assert!(!replies.is_empty(), "reply delivered after refresh");
    assert_eq!(app.fake.refresh_calls(), 1, "exactly one refresh");
    let rotated = app.fake.refresh_token();
    assert_ne!(rotated, "refresh-0");

    // That the rotated pair survives a restart is checked with a real process in
    // tests/restart.rs.
}

#[tokio::test]
async fn permanent_error_is_marked_failed_listed_and_can_be_retried() {
    let app = spawn_app().await;
    app.fake.fail_next(FakeFailure::Api(-213, "User has not followed OA".into()));
    assert_eq!(app.user_says("666", "perm-1", "menu").await, 200);
    let mut failed = Value::Null;
    for _ in 0..100 {
        failed = app.admin_get("/admin/api/outbox?status=failed").await.json().await.unwrap();
        if failed["items"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let items = failed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{failed}");
    assert_eq!(items[0]["error"]["code"], -213);
    assert_eq!(items[0]["error"]["message"], "User has not followed OA");
    assert_eq!(items[0]["attempts"], 1, "never retried on its own");
    let id = items[0]["id"].as_u64().unwrap();
    let resp = app.admin_post(&format!("/admin/api/outbox/{id}/retry"), json!({})).await;
    assert_eq!(resp.status(), 200);
    let got = app.wait_for_messages("666", 1).await;
    assert!(!got.is_empty(), "re-queued message delivered");
    assert_eq!(app.admin_post("/admin/api/outbox/424242/retry", json!({})).await.status(), 404);
}

#[tokio::test]
async fn transient_errors_are_retried_with_backoff() {
    let app = spawn_app().await;
    app.fake.fail_next(FakeFailure::Http(503));
    app.fake.fail_next(FakeFailure::Api(-32, "Your application reached limit call api".into()));
    assert_eq!(app.user_says("777", "tr-1", "menu").await, 200);
    // Backoff is 2 s then 4 s (±25 %): allow for it.
    let mut got = Vec::new();
    for _ in 0..200 {
        got = app.fake.messages_for("777");
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!got.is_empty(), "delivered after transient failures");
    assert!(app.fake.send_calls() >= 3);
}

#[tokio::test]
async fn follow_unfollow_and_withdraw() {
    let app = spawn_app().await;
    assert_eq!(app.post_signed(&follow_event("888")).await.status(), 200);
    // Every message of the greeting has left before the next events arrive.
    let greeting = wait_settled(&app.fake, "888").await;
    assert!(texts(&greeting).join("\n").contains("Xin chào"), "{:?}", texts(&greeting));

    let unfollow = json!({"app_id": APP_ID, "event_name": "unfollow", "oa_id": "1", "follower": {"id": "888"}, "timestamp": now_ms_string()});
    assert_eq!(app.post_signed(&unfollow.to_string()).await.status(), 200);
    let withdraw = json!({"app_id": APP_ID, "event_name": "user_withdraw", "user_id": "888", "timestamp": now_ms_string()});
    assert_eq!(app.post_signed(&withdraw.to_string()).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        app.fake.messages_for("888").len(),
        greeting.len(),
        "no reply to unfollow or withdraw"
    );
}

#[tokio::test]
async fn health_readiness_and_admin_auth() {
    let app = spawn_app().await;
    assert_eq!(app.http.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), 200);
    assert_eq!(app.http.get(format!("{}/readyz", app.base)).send().await.unwrap().status(), 200);
    let url = format!("{}/admin/api/outbox", app.base);
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(app.http.get(&url).bearer_auth("wrong").send().await.unwrap().status(), 401);
    assert_eq!(app.admin_get("/admin/api/outbox").await.status(), 200);

    let closed = spawn_app_with(|s| s.admin.token = "".into()).await;
    let url = format!("{}/admin/api/outbox", closed.base);
    assert_eq!(closed.http.get(&url).bearer_auth("").send().await.unwrap().status(), 403);
    assert_eq!(closed.http.get(&url).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn admin_can_replace_the_token_pair() {
    let app = spawn_app().await;
    let resp = app
        .http
        .put(format!("{}/admin/api/zalo/tokens", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"access_token": "new-a", "refresh_token": "new-r", "expires_in": 90000}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let status: Value = app.admin_get("/admin/api/zalo/tokens").await.json().await.unwrap();
    assert_eq!(status["stored"], true);
    assert!(!status.to_string().contains("new-a"), "tokens are never returned");
}

#[tokio::test]
async fn paused_workers_record_and_acknowledge_but_do_not_answer() {
    let app = spawn_app_with(|s| s.workers.paused = true).await;
    assert_eq!(app.user_says("999", "paused-1", "menu").await, 200);
    // Re-delivery is still deduplicated while paused.
    assert_eq!(app.user_says("999", "paused-1", "menu").await, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(app.fake.messages().is_empty());
}

#[tokio::test]
async fn night_refusal_is_postponed_to_the_morning_not_failed() {
    let app = spawn_app().await;
    app.fake.fail_next(FakeFailure::Api(
        -234,
        "This message cannot be sent at night (10:00PM - 6:00AM)".into(),
    ));
    assert_eq!(app.user_says("1234", "night-1", "menu").await, 200);
    let mut pending = Value::Null;
    for _ in 0..100 {
        pending = app.admin_get("/admin/api/outbox?status=pending").await.json().await.unwrap();
        if pending["items"].as_array().is_some_and(|a| a.iter().any(|i| i["error"]["code"] == -234))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let items = pending["items"].as_array().expect("items");
    assert!(items.iter().any(|i| i["error"]["code"] == -234 && i["attempts"] == 0), "{pending}");
    let failed: Value =
        app.admin_get("/admin/api/outbox?status=failed").await.json().await.unwrap();
    assert_eq!(failed["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn an_event_whose_sender_hangs_up_mid_request_is_still_answered() {
    // Zalo stops waiting for a slow answer and delivers again. The first delivery may
    // already be on disk by then; if the hang-up also cancelled its hand-off to the
    // worker, the second delivery would be dropped as a duplicate and nobody would
    // answer the citizen until the next restart.
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let users: Vec<String> = (0..20).map(|i| format!("55{i:04}")).collect();
    for (i, user) in users.iter().enumerate() {
        let body = text_event(user, &format!("m-hangup-{i}"), "menu");
        let ts =
            serde_json::from_str::<Value>(&body).unwrap()["timestamp"].as_str().unwrap().to_owned();
        let mac = cnscd_bot::zalo::signature::sign(APP_ID, body.as_bytes(), &ts, OA_SECRET);
        let request = format!(
            "POST /webhook/zalo HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\nX-ZEvent-Signature: mac={mac}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        stream.shutdown().await.unwrap();
        drop(stream); // hang up without reading the answer
    }
    // Zalo delivers each event again (a hang-up before the service read it loses nothing
    // either: the re-delivery is then the first).
    for (i, user) in users.iter().enumerate() {
        let status = app.post_signed(&text_event(user, &format!("m-hangup-{i}"), "menu")).await;
        assert_eq!(status.status(), 200);
    }
    for user in &users {
        let replies = app.wait_for_messages(user, 1).await;
        assert!(!replies.is_empty(), "user {user} got no reply after hanging up");
    }
}
