//! Wiring: settings → store → Zalo client, tokens, sender → conversation workers →
//! router. `build` binds the listener first so tests can use port 0 and read the
//! address; `App::run` serves until the shutdown future completes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::clock::Clock;
use crate::conversation::Conversation;
use crate::dialog_runtime::{Registry, RegistryOptions, WatcherGuard};
use crate::pipeline;
use crate::settings::Settings;
use crate::shutdown::Shutdown;
use crate::store::Store;
use crate::zalo::client::ZaloClient;
use crate::zalo::fake::{self, FakeZalo};
use crate::zalo::sender::{Sender, SenderConfig};
use crate::zalo::token::Tokens;
use crate::zalo::webhook::{self, WebhookState};

pub use crate::state::{AppParts, AppState};

pub struct App {
    listener: TcpListener,
    router: Router,
    addr: SocketAddr,
    /// The local fake Zalo when running in sandbox mode.
    pub sandbox: Option<FakeZalo>,
    pub state: AppState,
    /// Keeps the dialogs watcher (file events and SIGHUP) alive while serving.
    _watcher: Option<WatcherGuard>,
    /// Stops workers, sender and background tasks (see `shutdown.rs`).
    pub stop: Shutdown,
    grace: Duration,
    limits: crate::server::Limits,
}

impl App {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes (or `stop` is triggered), then stops in order:
    /// no new connections, in-flight requests finish, workers and sender finish what
    /// they hold, the store is flushed. Errors when that overran `server.shutdown_grace_secs`.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stop = self.stop.clone();
        let trigger = stop.clone();
        let trigger_for_server = stop.clone();
        let signal = async move {
            tokio::select! {
                _ = shutdown => trigger.trigger(),
                _ = trigger.wait() => {}
            }
        };
        let mut server = tokio::spawn(async move {
            crate::server::serve(self.listener, self.router, self.limits, trigger_for_server).await;
            Ok::<(), std::io::Error>(())
        });
        tokio::spawn(signal);
        let served = tokio::select! {
            result = &mut server => Some(result),
            _ = stop.wait() => None,
        };
        let deadline = tokio::time::Instant::now() + self.grace;
        let server_result = match served {
            Some(result) => result,
            None => match tokio::time::timeout_at(deadline, &mut server).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!("connections still open at the shutdown deadline; closing them");
                    server.abort();
                    Ok(Ok(()))
                }
            },
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let drained = stop.drain(left).await;
        let flushed = tokio::time::timeout_at(deadline, self.state.store.flush()).await;
        let flushed = matches!(flushed, Ok(Ok(())));
        if drained && flushed {
            tracing::info!("stopped cleanly");
        } else {
            tracing::error!(drained, flushed, "shutdown did not complete within the grace period");
        }
        server_result.map_err(std::io::Error::other)??;
        if drained && flushed {
            Ok(())
        } else {
            Err(std::io::Error::other(
                "shutdown did not complete within server.shutdown_grace_secs",
            ))
        }
    }
}

/// Builds the whole service on the system clock. In sandbox mode (no Zalo credentials)
/// it first starts the local fake Zalo on loopback and points the client at it.
pub async fn build(settings: Settings) -> anyhow::Result<App> {
    build_with_clock(settings, Clock::for_service()).await
}

/// Builds the whole service reading `clock` for every date and time. Each phase is a
/// function below, in the order the service needs them.
pub async fn build_with_clock(mut settings: Settings, clock: Clock) -> anyhow::Result<App> {
    // Installs the process-wide metrics recorder before anything records.
    crate::telemetry::metrics();
    let listener = TcpListener::bind(&settings.server.bind)
        .await
        .with_context(|| format!("binding {}", settings.server.bind))?;
    let addr = listener.local_addr()?;
    if settings.server.public_url.trim().is_empty() {
        settings.server.public_url = format!("http://{addr}");
    }
    let sandbox =
        if settings.is_sandbox() { Some(start_sandbox(&mut settings, addr).await?) } else { None };
    let store = open_store(&settings, &clock, sandbox.is_some())?;
    let stop = Shutdown::new();
    let (tokens, sender_wake) = start_zalo(&settings, &store, &clock, &stop).await?;
    stop.track_task(tokio::spawn(crate::store::prune::run(
        store.clone(),
        retention(&settings.store),
        clock.clone(),
        stop.clone(),
    )));
    let (dialogs, watcher) = load_dialogs(&settings, &clock, sandbox.is_none(), &stop);
    let (reporting, handoff) = start_teams(&settings, &store, &clock, &sender_wake, &stop)?;
    let conversation =
        Conversation::new(store.clone(), dialogs.clone(), reporting.clone(), clock.clone())
            .with_handoff(handoff.clone());
    let ingest = pipeline::start(
        store.clone(),
        conversation,
        settings.workers.shards,
        settings.workers.paused,
        &stop,
    )?;
    let state = AppState::new(AppParts {
        webhook: Arc::new(WebhookState {
            app_id: settings.zalo.app_id.clone(),
            oa_secret: settings.zalo.oa_secret_key.clone(),
            ingest: Arc::new(ingest),
            clock: clock.clone(),
            replay_window_ms: settings.store.dedupe_hours as i64 * 3_600_000,
        }),
        admin_token: settings.admin.token.clone(),
        sender_wake,
        store,
        dialogs,
        reporting,
        handoff,
        clock,
        tokens,
    });
    let router =
        http_stack(router(state.clone(), &settings, sandbox.is_some()), &settings, &sandbox);
    tracing::info!(%addr, sandbox = sandbox.is_some(), "cnscd-bot listening");
    let grace = Duration::from_secs(settings.server.shutdown_grace_secs);
    let limits = connection_limits(&settings);
    Ok(App { listener, router, addr, sandbox, state, _watcher: watcher, stop, grace, limits })
}

/// Refuses half-configured credentials, then opens the store (in the sandbox, with the
/// fake's token pair).
fn open_store(settings: &Settings, clock: &Clock, sandbox: bool) -> anyhow::Result<Store> {
    let missing = settings.missing_credentials();
    if !missing.is_empty() {
        bail!(
            "Zalo credentials incomplete, missing: {} (set them, or unset all Zalo credentials to run in sandbox mode)",
            missing.join(", ")
        );
    }
    let store = Store::open_with_cache(&settings.store.path, settings.store.cache_mb << 20)
        .with_context(|| format!("opening store at {}", settings.store.path.display()))?;
    if sandbox {
        // A kept sandbox store may hold tokens of an earlier fake; this run's fake
        // knows only its seed pair.
        store.put_tokens_blocking(&crate::store::TokenPair {
            access_token: fake::SANDBOX_ACCESS_TOKEN.into(),
            refresh_token: fake::SANDBOX_REFRESH_TOKEN.into(),
            expires_at: None,
            issued_at: clock.now_secs(),
        })?;
    }
    Ok(store)
}

/// The Zalo side: client, token pair (seeded from settings, refreshed ahead of expiry)
/// and the sender on its own thread. Returns the tokens and the sender's wake-up.
async fn start_zalo(
    settings: &Settings,
    store: &Store,
    clock: &Clock,
    stop: &Shutdown,
) -> anyhow::Result<(Tokens, Arc<tokio::sync::Notify>)> {
    let zalo = &settings.zalo;
    let client = ZaloClient::new(
        &zalo.api_base,
        &zalo.oauth_base,
        &zalo.app_id,
        zalo.app_secret.clone(),
        Duration::from_secs(zalo.request_timeout_secs),
    )?;
    let tokens = Tokens::new(store.clone(), client.clone(), zalo.refresh_before_expiry_secs);
    if tokens.seed(zalo, clock.now_secs()).await? {
        tracing::info!("zalo token pair seeded from settings");
    }
    if store.tokens()?.is_none() {
        tracing::warn!(
            "no Zalo token pair stored: replies stay queued until an admin sets one (`cnscd-bot tokens set`)"
        );
    }
    let sender = Sender::new(
        store.clone(),
        client,
        tokens.clone(),
        SenderConfig {
            rate_per_sec: zalo.send_rate_per_sec,
            concurrency: zalo.send_concurrency,
            max_attempts: zalo.max_attempts,
            reply_window_days: zalo.reply_window_days,
        },
        clock.clone(),
    );
    let sender_wake = sender.waker();
    // The sender gets its own thread and runtime: draining a backlog must never take
    // the runtime threads that answer Zalo's webhooks within their 2-second budget.
    let sender_stop = stop.clone();
    stop.track_thread(std::thread::Builder::new().name("zalo-sender".into()).spawn(move || {
        pipeline::lower_thread_priority();
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(sender.run(sender_stop)),
            Err(e) => tracing::error!(error = %e, "cannot start the sender runtime"),
        }
    })?);
    stop.track_task(tokio::spawn(refresh_tokens_ahead(
        tokens.clone(),
        clock.clone(),
        stop.clone(),
    )));
    Ok((tokens, sender_wake))
}

/// The dialogs, reloaded daily and (with `dialogs.watch`) on file changes; warns loudly
/// when a live OA still shows the example local facts.
fn load_dialogs(
    settings: &Settings,
    clock: &Clock,
    live: bool,
    stop: &Shutdown,
) -> (Registry, Option<WatcherGuard>) {
    let dialogs = Registry::load(
        &settings.dialogs.dir,
        RegistryOptions {
            idle_timeout_secs: settings.dialogs.session_idle_days * 86_400,
            review_days: settings.dialogs.review_days,
            clock: clock.clone(),
            unmatched_retention_days: settings.dialogs.unmatched_retention_days,
            ..RegistryOptions::default()
        },
    );
    if live {
        let placeholders = dialogs.status().placeholders;
        if !placeholders.is_empty() {
            tracing::warn!(
                placeholders = %placeholders.join(", "),
                "LIVE ZALO OA WITH EXAMPLE LOCAL FACTS: dialogs/_local.toml still holds placeholder values (province, OA name, hotline, local apps, team contacts) that citizens will see; fill them in and remove `placeholder = true` (check with `cnscd-bot check --strict`); listed at GET /admin/api/dialogs"
            );
        }
    }
    let watcher = if settings.dialogs.watch {
        match dialogs.spawn_watcher() {
            Ok(guard) => Some(guard),
            Err(e) => {
                tracing::warn!(error = %e, "dialogs will not reload on file changes; use POST /admin/api/dialogs/reload");
                None
            }
        }
    } else {
        None
    };
    stop.track_task(abort_on_stop(
        tokio::spawn(reload_dialogs_daily(dialogs.clone())),
        stop.clone(),
    ));
    (dialogs, watcher)
}

/// Team reports (with their reminders) and the citizen → team hand-off (with its
/// escalation scheduler).
fn start_teams(
    settings: &Settings,
    store: &Store,
    clock: &Clock,
    sender_wake: &Arc<tokio::sync::Notify>,
    stop: &Shutdown,
) -> anyhow::Result<(crate::reports_runtime::Reporting, crate::handoff_runtime::Handoff)> {
    let report_settings = crate::reports_runtime::ReportSettings {
        reply_window_days: settings.zalo.reply_window_days,
        public_url: settings.public_url(),
        ..settings.reports.clone()
    };
    let reporting = crate::reports_runtime::Reporting::load(store.clone(), report_settings)?
        .with_clock(clock.clone());
    if let Some(reminders) = reporting.spawn_reminders(sender_wake.clone()) {
        stop.track_task(abort_on_stop(reminders, stop.clone()));
    }
    let handoff = crate::handoff_runtime::Handoff::new(
        store.clone(),
        crate::handoff_runtime::HandoffSettings {
            reply_window_days: settings.zalo.reply_window_days,
            ..settings.handoff.clone()
        },
        clock.clone(),
    )
    .with_report_definitions({
        let reporting = reporting.clone();
        Arc::new(move || reporting.defs())
    });
    if let Some(scheduler) = handoff.spawn_scheduler(sender_wake.clone()) {
        stop.track_task(abort_on_stop(scheduler, stop.clone()));
    }
    Ok((reporting, handoff))
}

/// The layers every route gets: a request timeout, and spans that carry the path only
/// (a query string may hold a token) and a request id; plus the sandbox's inspector.
fn http_stack(router: Router, settings: &Settings, sandbox: &Option<FakeZalo>) -> Router {
    let router = match sandbox {
        Some(fake) => router.merge(fake.inspect_router()),
        None => router,
    };
    router
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(settings.server.request_timeout_secs.max(1)),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(crate::hardening::request_span))
}

/// Connection limits, raising the open-file limit to fit them where allowed.
fn connection_limits(settings: &Settings) -> crate::server::Limits {
    let limits = crate::server::Limits {
        header_read_timeout: Duration::from_secs(settings.server.header_read_timeout_secs.max(1)),
        max_connections: settings.server.max_connections,
    };
    if let Some(files) = crate::server::raise_open_file_limit(limits.max_connections as u64 + 1024)
        && files < limits.max_connections as u64 + 64
    {
        tracing::warn!(
            files,
            max_connections = limits.max_connections,
            "open-file limit is below the connection cap"
        );
    }
    limits
}

async fn start_sandbox(settings: &mut Settings, addr: SocketAddr) -> anyhow::Result<FakeZalo> {
    let fake = FakeZalo::sandbox();
    let base = fake.serve_loopback().await.context("starting the sandbox fake Zalo")?;
    // The sandbox keeps its own store so it never mixes with real data; it persists
    // between runs (`serve --fresh` starts clean).
    settings.store.path = settings.effective_store_path();
    let zalo = &mut settings.zalo;
    zalo.app_id = fake::SANDBOX_APP_ID.into();
    zalo.oa_secret_key = fake::SANDBOX_OA_SECRET.into();
    zalo.app_secret = fake::SANDBOX_APP_SECRET.into();
    zalo.access_token = fake::SANDBOX_ACCESS_TOKEN.into();
    zalo.refresh_token = fake::SANDBOX_REFRESH_TOKEN.into();
    zalo.api_base = base.clone();
    zalo.oauth_base = base.clone();
    // The console needs a sign-in token; the sandbox makes one up when none is set.
    let generated = settings.admin.token.expose_secret().is_empty();
    if generated {
        settings.admin.token = crate::csprng::hex_token()[..24].to_owned().into();
    }
    let token = settings.admin.token.expose_secret();
    let token_line = if generated {
        format!("Sign-in token (generated for this run): {token}")
    } else {
        "Sign-in token: admin.token from your settings".to_owned()
    };
    let default_bind = addr.to_string() == "127.0.0.1:8080";
    let say = if default_bind {
        "cnscd-bot say \"xin chào\"".to_owned()
    } else {
        format!("cnscd-bot say --server http://{addr} \"xin chào\"")
    };
    eprintln!(
        "\n================================================================\n \
         SANDBOX MODE: no Zalo credentials are configured.\n \
         Replies go to a local fake Zalo on {base}, not to real users.\n \
         Talk to the bot:  {say}\n \
         Web console:      http://{addr}/admin\n \
         {token_line}\n \
         Data is kept in {} (start clean with: cnscd-bot serve --fresh)\n\
         ================================================================\n",
        settings.store.path.display()
    );
    tracing::warn!(
        fake_zalo = %base,
        "SANDBOX MODE: no Zalo credentials configured; replies go to a local fake Zalo, \
         not to real users. Try: cnscd-bot say \"xin chào\""
    );
    Ok(fake)
}

/// Deletes the sandbox store and journal (`serve --fresh`). Does nothing outside
/// sandbox mode: real data is never wiped by a flag.
pub fn wipe_sandbox_store(settings: &Settings) {
    if settings.is_sandbox() {
        let path = settings.effective_store_path();
        let _ = std::fs::remove_dir_all(&path);
        let journal = Store::journal_path(&path);
        let _ = std::fs::remove_file(crate::store::journal_old_path(&journal));
        let _ = std::fs::remove_file(journal);
    }
}

async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Every route of the service over `state`: the webhook, health, the admin API, the
/// console. No listener, timeouts or tracing (`build` adds those), so tests can drive it
/// with `tower::ServiceExt::oneshot` without starting a server.
pub fn router(state: AppState, settings: &Settings, sandbox: bool) -> Router {
    let policy = ReadyPolicy { sandbox, allow_sandbox_ready: settings.server.allow_sandbox_ready };
    Router::new()
        .route(
            "/webhook/zalo",
            post(webhook::receive).layer(DefaultBodyLimit::max(settings.server.webhook_body_limit)),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(move |state| readyz(state, policy)))
        .merge(crate::admin::router(&state))
        .merge(crate::console::router(settings))
        .with_state(state)
}

#[derive(Clone, Copy)]
struct ReadyPolicy {
    sandbox: bool,
    allow_sandbox_ready: bool,
}

/// Ready when the store answers and a token pair is stored, and not in sandbox mode
/// (a load balancer must never route real Zalo traffic to a sandbox) unless
/// `server.allow_sandbox_ready`.
async fn readyz(State(state): State<AppState>, policy: ReadyPolicy) -> impl IntoResponse {
    let mut problems = Vec::new();
    if policy.sandbox && !policy.allow_sandbox_ready {
        problems.push("sandbox mode: replies go to a local fake Zalo");
    }
    if !state.store.is_healthy() {
        problems.push("store is not readable");
    }
    if !matches!(state.store.tokens(), Ok(Some(_))) {
        problems.push("no Zalo token pair stored");
    }
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body =
        json!({"ready": problems.is_empty(), "sandbox": policy.sandbox, "problems": problems});
    (status, Json(body))
}

/// Stops at its next wait; a refresh already talking to Zalo completes and is stored,
/// so a deploy never cuts the single-use refresh-token chain.
async fn refresh_tokens_ahead(tokens: Tokens, clock: Clock, stop: Shutdown) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait() => return,
        }
        if let Err(e) = tokens.refresh_if_due(clock.now_secs()).await {
            tracing::error!(error = %e, "proactive token refresh failed");
        }
    }
}

/// Facts age even when nobody edits the files: re-validate daily so the stale-facts
/// list in `GET /admin/api/dialogs` stays current.
async fn reload_dialogs_daily(dialogs: Registry) {
    let mut tick = tokio::time::interval(Duration::from_secs(86_400));
    tick.tick().await; // the first tick is immediate; the set was just loaded
    loop {
        tick.tick().await;
        let registry = dialogs.clone();
        match tokio::task::spawn_blocking(move || registry.reload()).await {
            Ok(outcome) => tracing::info!(?outcome, "daily dialogs re-validation"),
            Err(e) => tracing::error!(error = %e, "daily dialogs re-validation failed"),
        }
    }
}

/// Aborts `task` (at one of its waits) on stop; for tasks whose every write is atomic.
fn abort_on_stop(task: tokio::task::JoinHandle<()>, stop: Shutdown) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        stop.wait().await;
        task.abort();
        let _ = task.await;
    })
}

/// How long each pruned tree keeps its entries, from `[store]` (the store itself takes
/// plain durations so it does not depend on the settings module).
fn retention(store: &crate::settings::StoreSettings) -> crate::store::prune::Retention {
    crate::store::prune::Retention {
        dedupe_ms: store.dedupe_hours as i64 * 3_600_000,
        sent_ms: store.sent_retention_days as i64 * 86_400_000,
        failed_ms: store.failed_retention_days as i64 * 86_400_000,
    }
}
