//! `AppState`: the handles every HTTP handler shares (store, dialogs, reporting, tokens,
//! clock). Its own module so that the handler modules (`admin`, `console`) and the
//! wiring (`app`) all depend on it and not on each other.

use std::sync::Arc;

use axum::extract::FromRef;
use secrecy::SecretString;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::dialog_runtime::Registry;
use crate::store::Store;
use crate::zalo::token::Tokens;
use crate::zalo::webhook::WebhookState;

/// Shared state of every handler, behind one `Arc`: axum clones the router's state for
/// every request, and cloning each handle (the store alone holds about twenty) and
/// dropping it again was a few percent of a webhook's CPU.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    pub fn new(parts: AppParts) -> AppState {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What `AppState` shares. Every field is a handle.
pub struct AppParts {
    pub store: Store,
    /// Wakes the sender after something was queued outside the conversation workers.
    pub sender_wake: Arc<Notify>,
    pub admin_token: SecretString,
    /// Behind its own `Arc`: the webhook handler takes it for every event.
    pub webhook: Arc<WebhookState>,
    pub dialogs: Registry,
    pub reporting: crate::reports_runtime::Reporting,
    pub handoff: crate::handoff_runtime::Handoff,
    /// "Now" for every handler (tests run the service on chosen dates).
    pub clock: Clock,
    /// The Zalo token pair (admin replacement takes the refresh lock).
    pub tokens: Tokens,
}

/// The sender's wake-up: a handler that queued or re-queued something outside the
/// conversation workers notifies it. Its own type so `FromRef` can hand it out (a bare
/// `Arc<Notify>` says nothing about what it wakes).
#[derive(Clone, Default)]
pub struct SenderWake(pub Arc<Notify>);

impl SenderWake {
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

impl FromRef<AppState> for SenderWake {
    fn from_ref(state: &AppState) -> SenderWake {
        SenderWake(state.sender_wake.clone())
    }
}

impl FromRef<AppState> for Clock {
    fn from_ref(state: &AppState) -> Clock {
        state.clock.clone()
    }
}

impl FromRef<AppState> for Tokens {
    fn from_ref(state: &AppState) -> Tokens {
        state.tokens.clone()
    }
}

impl FromRef<AppState> for crate::handoff_runtime::Handoff {
    fn from_ref(state: &AppState) -> crate::handoff_runtime::Handoff {
        state.handoff.clone()
    }
}

impl FromRef<AppState> for Registry {
    fn from_ref(state: &AppState) -> Registry {
        state.dialogs.clone()
    }
}

impl FromRef<AppState> for crate::reports_runtime::Reporting {
    fn from_ref(state: &AppState) -> crate::reports_runtime::Reporting {
        state.reporting.clone()
    }
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Store {
        state.store.clone()
    }
}

impl FromRef<AppState> for Arc<WebhookState> {
    fn from_ref(state: &AppState) -> Arc<WebhookState> {
        state.webhook.clone()
    }
}
