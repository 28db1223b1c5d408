//! Full-turn benchmark: closed-loop users chatting with the release binary.
//!
//! Run: `cargo bench --bench turns` (optional env: BENCH_SECS=10, BENCH_USERS=32).
//! Each of the users sends a signed webhook, then waits until the fake Zalo (in this
//! process, on loopback) has received every reply of that turn before sending the next
//! message — a turn is webhook → fsync'd journal → dialog step → durable outbox → send.
//! The number of replies of each scripted message is learnt first by one calibration
//! user. The send throttle is lifted. After the run it prints the service's own stage
//! histograms (`/metrics`) so the time of a turn can be split into its stages.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cnscd_bot::zalo::fake::FakeZalo;
use support::raw_http::{self, RawClient, Replies};
use support::{quantile, signed_text, start_bot, wait_up};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// One cycle of a citizen's chat; it starts with "menu" so every cycle starts from the
/// same state. Free text, numbered choices and a scam question, as citizens write them.
const SCRIPT: &[&str] = &[
    "menu",
    "1",
    "tra tien dien bang app nao",
    "menu",
    "3",
    "1",
    "co nguoi goi bao chuyen tien de nhan qua",
    "menu",
    "2",
];

const USER_BASE: u64 = 990_000_000_000;

/// Which load generator drives the service (`BENCH_DRIVER`).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Driver {
    /// Plain sockets for the webhooks and a lean fake Zalo (`support/raw_http.rs`): the
    /// default, so that the driver takes as little of the two cores as it can.
    Raw,
    /// reqwest for the webhooks and the crate's axum fake Zalo (`zalo::fake`): the
    /// driver of the figures before the fourteenth session, kept to compare with them.
    Reqwest,
}

fn main() {
    let secs: u64 = std::env::var("BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let users: usize = std::env::var("BENCH_USERS").ok().and_then(|s| s.parse().ok()).unwrap_or(32);
    let driver = match std::env::var("BENCH_DRIVER").as_deref() {
        Ok("reqwest") => Driver::Reqwest,
        Ok("raw") | Err(_) => Driver::Raw,
        Ok(other) => panic!("BENCH_DRIVER={other}: expected raw or reqwest"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let measuring = Arc::new(AtomicBool::new(false));
        let (bot, counts, tasks) = match driver {
            Driver::Reqwest => {
                start_reqwest(users, dir.path(), stop.clone(), measuring.clone()).await
            }
            Driver::Raw => start_raw(users, dir.path(), stop.clone(), measuring.clone()).await,
        };
        println!("turn benchmark: {users} closed-loop users, {secs} s, 1 s warm-up, driver {driver:?}");
        println!("replies per scripted message: {counts:?}");
        tokio::time::sleep(Duration::from_secs(1)).await;
        measuring.store(true, Ordering::Relaxed);
        let started = Instant::now();
        let cpu_before = (support::cpu_ms(bot.0.pid()), support::cpu_ms(std::process::id()));
        tokio::time::sleep(Duration::from_secs(secs)).await;
        measuring.store(false, Ordering::Relaxed);
        let cpu_after = (support::cpu_ms(bot.0.pid()), support::cpu_ms(std::process::id()));
        let elapsed = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let mut latencies = Vec::new();
        let mut lost = 0;
        for task in tasks {
            let (done, missing) = task.await.unwrap();
            latencies.extend(done);
            lost += missing;
        }
        latencies.sort_by(|a, b| a.total_cmp(b));
        println!(
            "full turns: {:.0} turns/s   p50 {:.2} ms   p90 {:.2} ms   p99 {:.2} ms   max {:.2} ms   turns {}   incomplete {}",
            latencies.len() as f64 / elapsed,
            quantile(&latencies, 0.50),
            quantile(&latencies, 0.90),
            quantile(&latencies, 0.99),
            latencies.last().copied().unwrap_or(f64::NAN),
            latencies.len(),
            lost
        );
        println!("targets: >= 3000 turns/s, p50 <= 5 ms, p99 <= 20 ms");
        if let ((Some(b0), Some(d0)), (Some(b1), Some(d1))) = (cpu_before, cpu_after) {
            let turns = latencies.len().max(1) as f64;
            println!(
                "CPU per turn: service {:.0} µs, driver + fake Zalo {:.0} µs (2 cores = 2,000,000 µs/s)",
                1000.0 * (b1 - b0) / turns,
                1000.0 * (d1 - d0) / turns
            );
        }
        println!("the service's own means over the whole run (warm-up and calibration included):");
        for name in [
            "cnscd_webhook_seconds",
            "cnscd_stage_seconds",
            "cnscd_send_call_seconds",
            "cnscd_store_flush_seconds",
        ] {
            for (series, mean_ms, count) in support::histogram_means(&bot.1, name).await {
                println!("  {series:<45} mean {mean_ms:>7.2} ms   count {count}");
            }
        }
        if let Some(rss) = support::rss_mb(bot.0.pid()) {
            println!("service RSS at the end: {rss:.1} MB");
        }
    });
}

type Chats = Vec<tokio::task::JoinHandle<(Vec<f64>, usize)>>;

/// One user's connection to the service and to the replies the fake Zalo accepted for
/// them, for either driver.
enum Link {
    Reqwest { client: reqwest::Client, url: String, inbox: UnboundedReceiver<()> },
    Raw { client: RawClient, replies: Arc<Replies>, index: usize, seen: usize },
}

impl Link {
    /// Posts a signed text webhook; true if the service answered 200.
    async fn post(&mut self, user: &str, text: &str, msg_id: &str) -> bool {
        let (body, mac) = signed_text(user, text, msg_id, support::now_ms());
        match self {
            Link::Reqwest { client, url, .. } => {
                let resp =
                    client.post(url.as_str()).header("X-ZEvent-Signature", mac).body(body).send();
                resp.await.is_ok_and(|r| r.status() == 200)
            }
            Link::Raw { client, .. } => client
                .post(&[("x-zevent-signature", &mac)], body.as_bytes())
                .await
                .is_ok_and(|status| status == 200),
        }
    }

    /// Waits for `n` more replies; false if they did not all come within `within`.
    async fn replies(&mut self, n: usize, within: Duration) -> bool {
        match self {
            Link::Reqwest { inbox, .. } => tokio::time::timeout(within, async {
                for _ in 0..n {
                    inbox.recv().await?;
                }
                Some(())
            })
            .await
            .is_ok_and(|done| done.is_some()),
            Link::Raw { replies, index, seen, .. } => {
                *seen += n;
                tokio::time::timeout(within, replies.wait_for(*index, *seen)).await.is_ok()
            }
        }
    }

    /// Counts the replies that come until none has come for 400 ms.
    async fn replies_until_quiet(&mut self) -> usize {
        let mut n = 0;
        while self.replies(1, Duration::from_millis(400)).await {
            n += 1;
        }
        // The raw link counted the one that did not come.
        if let Link::Raw { replies, index, seen, .. } = self {
            *seen = replies.count(*index);
        }
        n
    }
}

/// The service behind the crate's axum fake Zalo, driven by reqwest.
async fn start_reqwest(
    users: usize,
    dir: &std::path::Path,
    stop: Arc<AtomicBool>,
    measuring: Arc<AtomicBool>,
) -> ((support::ChildGuard, String), Vec<usize>, Chats) {
    let fake = FakeZalo::new("bench-app-secret", "access-0", "refresh-0");
    let tap = fake.tap();
    let fake_base = fake.serve_loopback().await.unwrap();
    let bot = start_bot(&fake_base, &dir.join("store"), false);
    wait_up(&format!("{}/healthz", bot.1)).await;
    let url = format!("{}/webhook/zalo", bot.1);

    // Every user (and the calibration user, index `users`) gets its own inbox.
    let mut inboxes = Vec::new();
    let mut routes = Vec::new();
    for _ in 0..=users {
        let (tx, rx) = unbounded_channel();
        routes.push(tx);
        inboxes.push(rx);
    }
    tokio::spawn(route_replies(tap, routes));
    let client = reqwest::Client::builder().pool_max_idle_per_host(users + 1).build().unwrap();
    let mut links = inboxes
        .into_iter()
        .map(|inbox| Link::Reqwest { client: client.clone(), url: url.clone(), inbox })
        .collect::<Vec<_>>();
    let mut calibration = links.pop().unwrap();
    let counts = calibrate(&mut calibration, users).await;
    let tasks = start_chats(links, &counts, stop, measuring);
    (bot, counts, tasks)
}

/// The service behind the lean fake Zalo, driven over plain keep-alive sockets.
async fn start_raw(
    users: usize,
    dir: &std::path::Path,
    stop: Arc<AtomicBool>,
    measuring: Arc<AtomicBool>,
) -> ((support::ChildGuard, String), Vec<usize>, Chats) {
    let replies = Replies::new(USER_BASE, users + 1);
    let fake_base = raw_http::serve_fake_zalo("access-0", replies.clone()).await.unwrap();
    let bot = start_bot(&fake_base, &dir.join("store"), false);
    wait_up(&format!("{}/healthz", bot.1)).await;
    let connect = async |index| {
        let client = RawClient::connect(&bot.1, "/webhook/zalo").await.unwrap();
        Link::Raw { client, replies: replies.clone(), index, seen: 0 }
    };
    let counts = calibrate(&mut connect(users).await, users).await;
    // Connected after the calibration: the service drops a connection that sends
    // nothing for `server.header_read_timeout_secs`.
    let mut links = Vec::new();
    for index in 0..users {
        links.push(connect(index).await);
    }
    let tasks = start_chats(links, &counts, stop, measuring);
    (bot, counts, tasks)
}

/// One closed-loop task per user.
fn start_chats(
    links: Vec<Link>,
    counts: &[usize],
    stop: Arc<AtomicBool>,
    measuring: Arc<AtomicBool>,
) -> Chats {
    let counts: Arc<[usize]> = counts.into();
    links
        .into_iter()
        .enumerate()
        .map(|(index, link)| {
            let (counts, stop, measuring) = (counts.clone(), stop.clone(), measuring.clone());
            tokio::spawn(async move { chat(index, link, &counts, &stop, &measuring).await })
        })
        .collect()
}

fn user_id(index: usize) -> String {
    (USER_BASE + index as u64).to_string()
}

/// Forwards each reply the fake accepted to the inbox of the user it was sent to.
async fn route_replies(mut tap: UnboundedReceiver<String>, routes: Vec<UnboundedSender<()>>) {
    while let Some(user) = tap.recv().await {
        let index = user.parse::<u64>().ok().and_then(|u| u.checked_sub(USER_BASE));
        if let Some(route) = index.and_then(|i| routes.get(i as usize)) {
            let _ = route.send(());
        }
    }
}

/// The number of replies of each scripted message, learnt by waiting for quiet.
async fn calibrate(link: &mut Link, index: usize) -> Vec<usize> {
    let user = user_id(index);
    let mut counts = Vec::new();
    for round in 0..2 {
        counts.clear();
        for (i, text) in SCRIPT.iter().enumerate() {
            assert!(link.post(&user, text, &format!("cal-{round}-{i}")).await);
            let n = link.replies_until_quiet().await;
            assert!(n > 0, "no reply to {text:?}");
            counts.push(n);
        }
    }
    counts
}

/// One user's closed loop: returns the latencies (ms) of measured turns and the number
/// of turns whose replies did not all arrive within 5 s.
async fn chat(
    index: usize,
    mut link: Link,
    counts: &[usize],
    stop: &AtomicBool,
    measuring: &AtomicBool,
) -> (Vec<f64>, usize) {
    let user = user_id(index);
    let mut latencies = Vec::new();
    let mut turn = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let step = turn % SCRIPT.len();
        let started = Instant::now();
        let measured = measuring.load(Ordering::Relaxed);
        if !link.post(&user, SCRIPT[step], &format!("t-{index}-{turn}")).await
            || !link.replies(counts[step], Duration::from_secs(5)).await
        {
            return (latencies, 1);
        }
        if measured && measuring.load(Ordering::Relaxed) {
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        turn += 1;
    }
    (latencies, 0)
}
