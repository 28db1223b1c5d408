//! Small operator commands that are not the server itself.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::settings::Settings;
use crate::store::{Store, TokenPair};
use crate::zalo::fake::{FakeMessage, SANDBOX_APP_ID, SANDBOX_OA_SECRET};
use crate::zalo::signature;

/// `cnscd-bot say`: sends a signed test message to a server in sandbox mode and
/// prints the bot's replies.
#[derive(Debug, clap::Args)]
pub struct SayArgs {
    /// What the user types. Use `--follow` instead to simulate following the OA.
    pub text: Option<String>,
    /// Simulate a follow event (the greeting).
    #[arg(long)]
    pub follow: bool,
    /// The simulated Zalo user id.
    #[arg(long, default_value = "1000000000000000001")]
    pub user: String,
    /// The running service.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
}

pub async fn say(args: SayArgs) -> anyhow::Result<()> {
    let server = args.server.trim_end_matches('/');
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let seen = fetch_messages(&http, server, &args.user)
        .await
        .context("cannot reach the sandbox view; is `cnscd-bot serve` running in sandbox mode?")?;
    let after = seen.last().map_or(0, |m| m.seq);
    let timestamp = crate::clock::Clock::system().now_ms().to_string();
    let body = if args.follow {
        json!({"app_id": SANDBOX_APP_ID, "event_name": "follow", "oa_id": "sandbox-oa",
               "follower": {"id": args.user}, "source": "oa_profile", "timestamp": timestamp})
    } else {
        let Some(text) = &args.text else { bail!("give the text to send, or --follow") };
        json!({"app_id": SANDBOX_APP_ID, "event_name": "user_send_text",
               "sender": {"id": args.user}, "recipient": {"id": "sandbox-oa"},
               "message": {"text": text, "msg_id": format!("sandbox-{timestamp}")},
               "timestamp": timestamp})
    }
    .to_string();
    let mac = signature::sign(SANDBOX_APP_ID, body.as_bytes(), &timestamp, SANDBOX_OA_SECRET);
    let resp = http
        .post(format!("{server}/webhook/zalo"))
        .header("content-type", "application/json")
        .header("X-ZEvent-Signature", format!("mac={mac}"))
        .body(body)
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("webhook answered {}: {}", resp.status(), resp.text().await.unwrap_or_default());
    }
    // Replies arrive asynchronously; wait until they stop coming.
    let mut replies = Vec::new();
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now: Vec<FakeMessage> = fetch_messages(&http, server, &args.user)
            .await?
            .into_iter()
            .filter(|m| m.seq > after)
            .collect();
        if !now.is_empty() && now.len() == replies.len() {
            break;
        }
        replies = now;
    }
    if replies.is_empty() {
        println!("(no reply yet)");
    }
    for reply in replies {
        print_message(&reply.message);
    }
    Ok(())
}

async fn fetch_messages(
    http: &reqwest::Client,
    server: &str,
    user: &str,
) -> anyhow::Result<Vec<FakeMessage>> {
    Ok(http
        .get(format!("{server}/sandbox/messages"))
        .query(&[("user_id", user)])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

fn print_message(message: &Value) {
    if let Some(text) = message.get("text").and_then(Value::as_str) {
        println!("bot: {}", text.replace('\n', "\n     "));
    }
    if let Some(url) = message.pointer("/attachment/payload/elements/0/url").and_then(Value::as_str)
    {
        println!("     [ảnh] {url}");
    }
    for button in message
        .pointer("/attachment/payload/buttons")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let title = button.get("title").and_then(Value::as_str).unwrap_or("");
        let payload = match button.get("payload") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        println!("     [{title}] → {payload}");
    }
}

/// `cnscd-bot tokens set`: replaces the stored token pair (the service must be stopped,
/// sled allows one process; while it runs use `PUT /admin/api/zalo/tokens`).
#[derive(Debug, clap::Args)]
pub struct TokensSetArgs {
    #[arg(long, env = "CNSCD_NEW_ACCESS_TOKEN", hide_env_values = true)]
    pub access_token: String,
    #[arg(long, env = "CNSCD_NEW_REFRESH_TOKEN", hide_env_values = true)]
    pub refresh_token: String,
    /// Seconds until the access token expires (Zalo: 90000).
    #[arg(long)]
    pub expires_in: Option<i64>,
}

pub fn tokens_set(settings: &Settings, args: TokensSetArgs) -> anyhow::Result<()> {
    let path: &PathBuf = &settings.store.path;
    let store = Store::open_for_command(path, "PUT /admin/api/zalo/tokens")?;
    let now = crate::clock::Clock::system().now_secs();
    store.put_tokens_blocking(&TokenPair {
        access_token: args.access_token,
        refresh_token: args.refresh_token,
        expires_at: args.expires_in.map(|s| now + s),
        issued_at: now,
    })?;
    println!("token pair stored in {}", path.display());
    Ok(())
}
