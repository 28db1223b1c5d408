//! What the load benchmarks share: starting the release binary against a fake Zalo,
//! the bare axum baseline, signed webhook bodies, and percentiles.
#![allow(dead_code)] // each bench uses a different part

pub mod raw_http;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cnscd_bot::zalo::signature;
use serde_json::json;

pub const APP_ID: &str = "360846524940903967";
pub const OA_SECRET: &str = "bench-oa-secret";
pub const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";

/// A signed `user_send_text` webhook: (body, `X-ZEvent-Signature` value).
pub fn signed_text(user: &str, text: &str, msg_id: &str, timestamp_ms: u64) -> (String, String) {
    let ts = timestamp_ms.to_string();
    let body = json!({
        "app_id": APP_ID, "event_name": "user_send_text",
        "sender": {"id": user}, "recipient": {"id": "388613280878808645"},
        "message": {"text": text, "msg_id": msg_id},
        "timestamp": ts
    })
    .to_string();
    let mac = signature::sign(APP_ID, body.as_bytes(), &ts, OA_SECRET);
    (body, format!("mac={mac}"))
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The baseline: an axum handler that reads the body and answers `ok`, on the same
/// runtime flavour as the service, in its own process.
pub fn trivial_server(port: u16) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let app = axum::Router::new()
            .route("/webhook/zalo", axum::routing::post(|_body: axum::body::Bytes| async { "ok" }))
            .route("/healthz", axum::routing::get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}

/// Starts the release binary against the fake Zalo; returns the process and its base URL.
pub fn start_bot(fake_base: &str, store: &std::path::Path, paused: bool) -> (ChildGuard, String) {
    let port = free_port();
    // `BENCH_BIN` runs another build of the service (e.g. main's, for an A/B pair).
    let bin = std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_cnscd-bot").into());
    let mut command = Command::new(bin);
    command
        .arg("serve")
        .env("CNSCD__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("CNSCD__STORE__PATH", store)
        .env("CNSCD__ZALO__APP_ID", APP_ID)
        .env("CNSCD__ZALO__OA_SECRET_KEY", OA_SECRET)
        .env("CNSCD__ZALO__APP_SECRET", "bench-app-secret")
        .env("CNSCD__ZALO__ACCESS_TOKEN", "access-0")
        .env("CNSCD__ZALO__REFRESH_TOKEN", "refresh-0")
        .env("CNSCD__ZALO__API_BASE", fake_base)
        .env("CNSCD__ZALO__OAUTH_BASE", fake_base)
        .env("CNSCD__ZALO__SEND_RATE_PER_SEC", "100000")
        .env("CNSCD__WORKERS__PAUSED", paused.to_string())
        .env("CNSCD__ADMIN__TOKEN", ADMIN_TOKEN)
        .env("CNSCD__DIALOGS__DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/dialogs"))
        .env("CNSCD__DIALOGS__WATCH", "false")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null());
    // The service's own default unless a run asks for another (an A/B of the setting).
    if let Ok(concurrency) = std::env::var("BENCH_SEND_CONCURRENCY") {
        command.env("CNSCD__ZALO__SEND_CONCURRENCY", concurrency);
    }
    let child = command.spawn().unwrap();
    (ChildGuard(child), format!("http://127.0.0.1:{port}"))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub async fn wait_up(url: &str) {
    for _ in 0..400 {
        if reqwest::get(url).await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not come up");
}

/// The `p`-quantile of sorted values (NaN when empty).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

/// The resident set size of a process in MB, from /proc (Linux only).
pub fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The size of every file under `dir`, in MB.
pub fn dir_mb(dir: &std::path::Path) -> f64 {
    fn walk(dir: &std::path::Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
        entries
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => walk(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    }
    walk(dir) as f64 / (1024.0 * 1024.0)
}

/// The `cnscd_…` lines of the service's `/metrics` whose name starts with `prefix`.
pub async fn scrape(base: &str, prefix: &str) -> Vec<String> {
    let Ok(resp) =
        reqwest::Client::new().get(format!("{base}/metrics")).bearer_auth(ADMIN_TOKEN).send().await
    else {
        return Vec::new();
    };
    let text = resp.text().await.unwrap_or_default();
    text.lines().filter(|l| l.starts_with(prefix)).map(str::to_owned).collect()
}

pub struct ChildGuard(pub Child);

impl ChildGuard {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (series, mean in ms, count) of each series of a histogram on the service's `/metrics`.
pub async fn histogram_means(base: &str, name: &str) -> Vec<(String, f64, f64)> {
    let lines = scrape(base, name).await;
    let value = |line: &str| line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
    let mut out = Vec::new();
    for line in lines.iter().filter(|l| l.starts_with(&format!("{name}_sum"))) {
        let labels = line[name.len() + 4..].split(' ').next().unwrap_or("");
        let count_line = format!("{name}_count{labels} ");
        let count = lines.iter().find(|l| l.starts_with(&count_line)).and_then(|l| value(l));
        if let (Some(sum), Some(count)) = (value(line), count)
            && count > 0.0
        {
            out.push((format!("{name}{labels}"), 1000.0 * sum / count, count));
        }
    }
    out
}

/// CPU time (user + system) a process has used so far, in ms, from /proc (Linux only).
pub fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks * 1000.0 / per_sec)
}
