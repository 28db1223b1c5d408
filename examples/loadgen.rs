//! Helpers for `benches/ingest_wrk.sh` (not part of the service).
//!
//! - `loadgen bare PORT`: the baseline, a bare axum handler answering `ok`.
//! - `loadgen fake PORT`: the fake Zalo (send API and token endpoint) on loopback.
//! - `loadgen bodies N FILE [USERS]`: N signed `user_send_text` webhooks from USERS
//!   distinct users (default 5,000), one per line as `signature<TAB>body`, each with its
//!   own `msg_id`, for wrk's Lua script to cycle.
//!
//! Signing happens here, ahead of the run, so the load generator (wrk) spends nothing
//! on HMACs and is not the bottleneck.

use std::io::Write;

use cnscd_bot::zalo::fake::FakeZalo;
use cnscd_bot::zalo::signature;
use serde_json::json;

const APP_ID: &str = "360846524940903967";
const OA_SECRET: &str = "bench-oa-secret";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match arg(0) {
        "bare" => rt.block_on(async {
            let app = axum::Router::new()
                .route("/webhook/zalo", axum::routing::post(|_: axum::body::Bytes| async { "ok" }))
                .route("/healthz", axum::routing::get(|| async { "ok" }));
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", arg(1).parse()?)).await?;
            axum::serve(listener, app).await?;
            Ok(())
        }),
        "fake" => rt.block_on(async {
            let fake = FakeZalo::new("bench-app-secret", "access-0", "refresh-0");
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", arg(1).parse()?)).await?;
            axum::serve(listener, fake.router()).await?;
            Ok(())
        }),
        "bodies" => {
            let n: usize = arg(1).parse()?;
            let users: usize = arg(3).parse().unwrap_or(5_000);
            let mut out = std::io::BufWriter::new(std::fs::File::create(arg(2))?);
            let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
            let ts = now_ms.as_millis().to_string();
            for i in 0..n {
                let user = format!("88{:012}", i % users.max(1));
                let body = json!({
                    "app_id": APP_ID, "event_name": "user_send_text",
                    "sender": {"id": user}, "recipient": {"id": "388613280878808645"},
                    "message": {"text": "menu", "msg_id": format!("wrk{i:010}")},
                    "timestamp": ts
                })
                .to_string();
                let mac = signature::sign(APP_ID, body.as_bytes(), &ts, OA_SECRET);
                writeln!(out, "mac={mac}\t{body}")?;
            }
            out.flush()?;
            Ok(())
        }
        _ => anyhow::bail!("usage: loadgen bare PORT | fake PORT | bodies N FILE [USERS]"),
    }
}
