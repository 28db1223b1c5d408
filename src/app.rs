//! Wiring: settings → store → Zalo client, tokens, sender → conversation workers →
//! router. `build` binds the listener first so tests can use port 0 and read the
//! address; `App::run` serves until the shutdown future completes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::SecretString;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower_http::trace::TraceLayer;

use crate::clock;
use crate::conversation::Conversation;
use crate::dialog_runtime::{Registry, RegistryOptions, WatcherGuard};
use crate::pipeline;
use crate::settings::Settings;
use crate::store::Store;
use crate::zalo::client::ZaloClient;
use crate::zalo::fake::{self, FakeZalo};
use crate::zalo::sender::{Sender, SenderConfig};
use crate::zalo::token::Tokens;
use crate::zalo::webhook::{self, WebhookState};

/// Shared state of every handler. Cheap to clone: every field is a handle.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Wakes the sender after something was queued outside the conversation workers.
    pub sender_wake: Arc<Notify>,
    pub admin_token: SecretString,
    pub webhook: WebhookState,
    pub dialogs: Registry,
    pub reporting: crate::reporting::Reporting,
}

impl FromRef<AppState> for Registry {
    fn from_ref(state: &AppState) -> Registry {
        state.dialogs.clone()
    }
}

impl FromRef<AppState> for crate::reporting::Reporting {
    fn from_ref(state: &AppState) -> crate::reporting::Reporting {
        state.reporting.clone()
    }
}

impl FromRef<AppState> for WebhookState {
    fn from_ref(state: &AppState) -> WebhookState {
        state.webhook.clone()
    }
}

pub struct App {
    listener: TcpListener,
    router: Router,
    addr: SocketAddr,
    /// The local fake Zalo when running in sandbox mode.
    pub sandbox: Option<FakeZalo>,
    pub state: AppState,
    /// Keeps the dialogs watcher (file events and SIGHUP) alive while serving.
    _watcher: Option<WatcherGuard>,
}

impl App {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await
    }
}

/// Builds the whole service. In sandbox mode (no Zalo credentials) it first starts the
/// local fake Zalo on loopback and points the client at it.
pub async fn build(mut settings: Settings) -> anyhow::Result<App> {
    let listener = TcpListener::bind(&settings.server.bind)
        .await
        .with_context(|| format!("binding {}", settings.server.bind))?;
    let addr = listener.local_addr()?;

    let sandbox =
        if settings.is_sandbox() { Some(start_sandbox(&mut settings).await?) } else { None };
    let missing = settings.missing_credentials();
    if !missing.is_empty() {
        bail!(
            "Zalo credentials incomplete, missing: {} (set them, or unset all Zalo credentials to run in sandbox mode)",
            missing.join(", ")
        );
    }

    let store = Store::open(&settings.store.path)
        .with_context(|| format!("opening store at {}", settings.store.path.display()))?;
    let zalo = &settings.zalo;
    let client = ZaloClient::new(
        &zalo.api_base,
        &zalo.oauth_base,
        &zalo.app_id,
        zalo.app_secret.clone(),
        Duration::from_secs(zalo.request_timeout_secs),
    )?;
    let tokens = Tokens::new(store.clone(), client.clone(), zalo.refresh_before_expiry_secs);
    if tokens.seed(zalo, clock::now_secs()).await? {
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
    );
    let sender_wake = sender.waker();
    // The sender gets its own thread and runtime: draining a backlog must never take
    // the runtime threads that answer Zalo's webhooks within their 2-second budget.
    std::thread::Builder::new().name("zalo-sender".into()).spawn(move || {
        pipeline::lower_thread_priority();
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(sender.run()),
            Err(e) => tracing::error!(error = %e, "cannot start the sender runtime"),
        }
    })?;
    tokio::spawn(refresh_tokens_ahead(tokens.clone()));
    tokio::spawn(prune(
        store.clone(),
        settings.store.dedupe_hours,
        settings.store.sent_retention_days,
    ));

    let dialogs = Registry::load(
        &settings.dialogs.dir,
        RegistryOptions {
            idle_timeout_secs: settings.dialogs.session_idle_days * 86_400,
            review_days: settings.dialogs.review_days,
            unmatched_retention_days: settings.dialogs.unmatched_retention_days,
            ..RegistryOptions::default()
        },
    );
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
    let report_settings = crate::reporting::ReportSettings {
        reply_window_days: settings.zalo.reply_window_days,
        ..settings.reports.clone()
    };
    let reporting = crate::reporting::Reporting::load(store.clone(), report_settings)?;
    reporting.spawn_reminders(sender_wake.clone());
    tokio::spawn(reload_dialogs_daily(dialogs.clone()));
    let conversation =
        Conversation::new(store.clone(), dialogs.clone(), reporting.clone(), sender_wake.clone());
    let ingest = pipeline::start(
        store.clone(),
        conversation,
        settings.workers.shards,
        settings.workers.paused,
    )?;

    let state = AppState {
        webhook: WebhookState {
            app_id: settings.zalo.app_id.clone(),
            oa_secret: settings.zalo.oa_secret_key.clone(),
            ingest,
        },
        admin_token: settings.admin.token.clone(),
        sender_wake,
        store,
        dialogs,
        reporting,
    };
    let mut router = Router::new()
        .route(
            "/webhook/zalo",
            post(webhook::receive).layer(DefaultBodyLimit::max(settings.server.webhook_body_limit)),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(crate::admin::router(&state))
        .with_state(state.clone());
    if let Some(fake) = &sandbox {
        router = router.merge(fake.inspect_router());
    }
    let router = router.layer(TraceLayer::new_for_http());
    tracing::info!(%addr, sandbox = sandbox.is_some(), "cnscd-bot listening");
    Ok(App { listener, router, addr, sandbox, state, _watcher: watcher })
}

async fn start_sandbox(settings: &mut Settings) -> anyhow::Result<FakeZalo> {
    let fake = FakeZalo::sandbox();
    let base = fake.serve_loopback().await.context("starting the sandbox fake Zalo")?;
    let zalo = &mut settings.zalo;
    zalo.app_id = fake::SANDBOX_APP_ID.into();
    zalo.oa_secret_key = fake::SANDBOX_OA_SECRET.into();
    zalo.app_secret = fake::SANDBOX_APP_SECRET.into();
    zalo.access_token = fake::SANDBOX_ACCESS_TOKEN.into();
    zalo.refresh_token = fake::SANDBOX_REFRESH_TOKEN.into();
    zalo.api_base = base.clone();
    zalo.oauth_base = base.clone();
    // The sandbox keeps its own store so it never mixes with real data, and starts
    // fresh: the fake's tokens are new on every start.
    settings.store.path = settings.store.path.with_extension("sandbox");
    let _ = std::fs::remove_dir_all(&settings.store.path);
    let _ = std::fs::remove_file(Store::journal_path(&settings.store.path));
    eprintln!(
        "\n================================================================\n \
         SANDBOX MODE: no Zalo credentials are configured.\n \
         Replies go to a local fake Zalo on {base}, not to real users.\n \
         Talk to the bot:  cnscd-bot say --follow   |   cnscd-bot say \"xin chào\"\n\
         ================================================================\n"
    );
    tracing::warn!(
        fake_zalo = %base,
        "SANDBOX MODE: no Zalo credentials configured; replies go to a local fake Zalo, \
         not to real users. Try: cnscd-bot say \"xin chào\""
    );
    Ok(fake)
}

async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Ready when the store answers and a token pair is stored.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let mut problems = Vec::new();
    if !state.store.is_healthy() {
        problems.push("store is not readable");
    }
    if !matches!(state.store.tokens(), Ok(Some(_))) {
        problems.push("no Zalo token pair stored");
    }
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({"ready": problems.is_empty(), "problems": problems})))
}

async fn refresh_tokens_ahead(tokens: Tokens) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = tokens.refresh_if_due(clock::now_secs()).await {
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

async fn prune(store: Store, dedupe_hours: u64, sent_days: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let dedupe_ms = dedupe_hours as i64 * 3_600_000;
        let sent_ms = sent_days as i64 * 86_400_000;
        match store.prune(clock::now_ms(), dedupe_ms, sent_ms) {
            Ok((marks, messages)) => tracing::debug!(marks, messages, "store pruned"),
            Err(e) => tracing::error!(error = %e, "store pruning failed"),
        }
    }
}
