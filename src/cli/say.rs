//! `cnscd-bot say`: one message to a sandbox server, its replies printed. The webhook
//! request and the reading of the replies are `zalo::fake`'s (only `zalo/` knows Zalo JSON).

use std::time::Duration;

use anyhow::{Context, bail};

use crate::zalo::fake::{FakeMessage, SandboxEvent, sandbox_event};

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
    let event = match (&args.text, args.follow) {
        (_, true) => SandboxEvent::Follow,
        (Some(text), false) => SandboxEvent::Text(text),
        (None, false) => bail!("give the text to send, or --follow"),
    };
    let now_ms = crate::clock::Clock::system().now_ms();
    let (body, signature) = sandbox_event(&args.user, event, now_ms);
    let resp = http
        .post(format!("{server}/webhook/zalo"))
        .header("content-type", "application/json")
        .header(crate::zalo::webhook::SIGNATURE_HEADER, signature)
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
        print_message(&reply);
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

fn print_message(message: &FakeMessage) {
    let shown = message.shown();
    if let Some(text) = shown.text {
        println!("bot: {}", text.replace('\n', "\n     "));
    }
    if let Some(url) = shown.image {
        println!("     [ảnh] {url}");
    }
    for (title, payload) in shown.buttons {
        println!("     [{title}] → {payload}");
    }
}
