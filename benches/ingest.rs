//! Ingest benchmark: signed `user_send_text` webhooks over loopback against the release
//! binary, compared with a trivial axum handler measured in the same run.
//!
//! Run: `cargo bench --bench ingest` (optional env: BENCH_SECS=10, BENCH_CONCURRENCY=32).
//! It measures the service twice: with the whole pipeline running (every event is also
//! processed and its replies sent to a local fake Zalo, all on the same two cores), and
//! with `workers.paused = true` (webhook → verify → fsync'd journal → 200 only).
//! Both servers run as separate processes (this binary re-executes itself for the
//! trivial one) so the load generator never shares their runtime.

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cnscd_bot::zalo::fake::FakeZalo;
use support::{ChildGuard, free_port, quantile, signed_text, start_bot, trivial_server, wait_up};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--trivial-server") {
        let port: u16 = args.get(i + 1).and_then(|p| p.parse().ok()).expect("port");
        return trivial_server(port);
    }
    let secs: u64 = std::env::var("BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let concurrency: usize =
        std::env::var("BENCH_CONCURRENCY").ok().and_then(|s| s.parse().ok()).unwrap_or(32);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let fake = FakeZalo::new("bench-app-secret", "access-0", "refresh-0");
        let fake_base = fake.serve_loopback().await.unwrap();
        let dir = tempfile::tempdir().unwrap();

        let trivial_port = free_port();
        let trivial = ChildGuard(
            Command::new(std::env::current_exe().unwrap())
                .args(["--trivial-server", &trivial_port.to_string()])
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let bot = start_bot(&fake_base, &dir.path().join("store"), false);
        let paused = start_bot(&fake_base, &dir.path().join("store-paused"), true);
        let trivial_url = format!("http://127.0.0.1:{trivial_port}/webhook/zalo");
        wait_up(&format!("http://127.0.0.1:{trivial_port}/healthz")).await;
        wait_up(&format!("{}/healthz", bot.1)).await;
        wait_up(&format!("{}/healthz", paused.1)).await;

        println!("ingest benchmark: {concurrency} connections, {secs} s per target, 1 s warm-up");
        let base = load(&trivial_url, concurrency, secs, "t").await;
        report("trivial axum handler", &base);
        let ours = load(&format!("{}/webhook/zalo", bot.1), concurrency, secs, "b").await;
        report("cnscd-bot, full pipeline", &ours);
        let replies = fake.messages().len();
        // Stop it: its backlog must not compete with the next measurement.
        drop(bot.0);
        let ingest = load(&format!("{}/webhook/zalo", paused.1), concurrency, secs, "p").await;
        report("cnscd-bot, ingest only", &ingest);
        for (name, f) in [("full pipeline", &ours), ("ingest only", &ingest)] {
            println!(
                "{name}: {:.1}% of the trivial handler's throughput (target >= 25%), p99 {:.2} ms (target < 10 ms)",
                100.0 * f.per_sec / base.per_sec,
                f.p99_ms
            );
        }
        println!("replies delivered to the fake Zalo during the full-pipeline run: {replies}");
        drop((paused.0, trivial));
    });
}

struct Figures {
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
}

fn report(name: &str, f: &Figures) {
    println!(
        "{name:<26} {:>9.0} events/s   p50 {:>6.2} ms   p99 {:>6.2} ms   errors {}",
        f.per_sec, f.p50_ms, f.p99_ms, f.errors
    );
}

async fn load(url: &str, concurrency: usize, secs: u64, tag: &str) -> Figures {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    // Warm-up, then the measured window.
    run_for(&client, url, concurrency, Duration::from_secs(1), &format!("{tag}w")).await;
    let started = Instant::now();
    let results = run_for(&client, url, concurrency, Duration::from_secs(secs), tag).await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies: Vec<f64> = results.iter().filter_map(|r| r.ok()).collect();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| quantile(&latencies, p);
    Figures {
        per_sec: latencies.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        errors: results.iter().filter(|r| r.is_err()).count(),
    }
}

async fn run_for(
    client: &reqwest::Client,
    url: &str,
    concurrency: usize,
    window: Duration,
    tag: &str,
) -> Vec<Result<f64, ()>> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (client, url, stop, tag) =
            (client.clone(), url.to_owned(), stop.clone(), tag.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let user = format!("77{worker:04}{:012}", n % 50);
                let msg_id = format!("{tag}-{worker}-{n}");
                let (body, mac) = signed_text(&user, "menu", &msg_id, support::now_ms());
                let t = Instant::now();
                let resp =
                    client.post(&url).header("X-ZEvent-Signature", mac).body(body).send().await;
                let ok = resp.is_ok_and(|r| r.status() == 200);
                out.push(if ok { Ok(t.elapsed().as_secs_f64() * 1000.0) } else { Err(()) });
            }
            out
        }));
    }
    tokio::time::sleep(window).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}
