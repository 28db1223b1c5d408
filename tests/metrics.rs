//! `GET /metrics`: Prometheus text behind the admin token, fed by a real conversation.

mod common;

use common::*;

/// The value of the first sample line starting with `prefix` (labels included).
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn a_conversation_shows_up_in_the_metrics() {
    let app = spawn_app().await;
    let anonymous = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    assert_eq!(anonymous.status(), 401, "metrics need the admin token");

    assert_eq!(app.user_says("u-metrics", "m-metrics-1", "menu").await, 200);
    wait_settled(&app.fake, "u-metrics").await;
    // A forged webhook is counted as refused.
    assert_eq!(app.post_raw("{\"x\":1}", Some("mac=00")).await.status(), 401);

    let response = app.admin_get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    // Counters are process-wide (other tests in this binary add to them): at least ours.
    let accepted = sample(&text, "cnscd_webhooks_total{outcome=\"accepted\"}");
    assert!(accepted >= Some(1.0), "{text}");
    let refused = sample(&text, "cnscd_webhooks_total{outcome=\"unauthorized\"}");
    assert!(refused >= Some(1.0), "{text}");
    assert!(sample(&text, "cnscd_webhook_seconds_count") >= Some(1.0), "{text}");
    assert!(sample(&text, "cnscd_journal_batch_events_count") >= Some(1.0), "{text}");
    for stage in ["queued", "processed", "sent"] {
        let count = sample(&text, &format!("cnscd_stage_seconds_count{{stage=\"{stage}\"}}"));
        assert!(count >= Some(1.0), "stage {stage}: {text}");
    }
    assert!(sample(&text, "cnscd_sends_total{result=\"sent\",code=\"0\"}") >= Some(1.0), "{text}");
    assert!(sample(&text, "cnscd_outbox_messages{status=\"pending\"}").is_some(), "{text}");
    assert!(sample(&text, "cnscd_inbox_depth{shard=").is_some(), "{text}");
}
