//! The OA token pair: kept in the store, refreshed one at a time.
//!
//! Rules (docs/zalo.md §6): the refresh token is single-use, so the new
//! pair is persisted (flushed) before it is used; only one refresh runs at a time, and
//! after taking the lock we re-read the store because another task may have rotated
//! the pair already. Settings only seed the store the first time.

use crate::calendar::UnixSecs;
use std::sync::Arc;

use secrecy::ExposeSecret;
use tokio::sync::Mutex;

use super::client::ZaloClient;
use crate::settings::ZaloSettings;
use crate::store::{Store, StoreError, TokenPair};

#[derive(Clone)]
pub struct Tokens {
    store: Store,
    client: ZaloClient,
    /// Serialises refreshes; a tokio mutex because it is held across the HTTP call.
    refresh_lock: Arc<Mutex<()>>,
    refresh_before_secs: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "no Zalo token pair stored: set one with `cnscd-bot tokens set` or PUT /admin/api/zalo/tokens"
    )]
    Missing,
    #[error("token refresh refused by Zalo: {0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Tokens {
    pub fn new(store: Store, client: ZaloClient, refresh_before_secs: i64) -> Tokens {
        Tokens { store, client, refresh_lock: Arc::new(Mutex::new(())), refresh_before_secs }
    }

    /// Seeds the store from settings when it holds no pair yet. A stored pair always
    /// wins: it may have been rotated since the seed was written.
    pub async fn seed(&self, zalo: &ZaloSettings, now: UnixSecs) -> Result<bool, StoreError> {
        if self.store.tokens()?.is_some() {
            return Ok(false);
        }
        let access = zalo.access_token.expose_secret();
        let refresh = zalo.refresh_token.expose_secret();
        if access.is_empty() && refresh.is_empty() {
            return Ok(false);
        }
        let pair = TokenPair {
            access_token: access.to_owned(),
            refresh_token: refresh.to_owned(),
            // Unknown: a seeded token is refreshed when Zalo first rejects it.
            expires_at: if access.is_empty() { Some(now) } else { None },
            issued_at: now,
        };
        self.store.put_tokens(&pair).await?;
        Ok(true)
    }

    /// The access token to use now.
    pub fn access_token(&self) -> Result<String, TokenError> {
        match self.store.tokens()? {
            Some(pair) if !pair.access_token.is_empty() => Ok(pair.access_token),
            _ => Err(TokenError::Missing),
        }
    }

    /// Called when Zalo rejected `rejected`: refreshes unless someone already did.
    pub async fn refresh_after_rejection(
        &self,
        rejected: &str,
        now: UnixSecs,
    ) -> Result<String, TokenError> {
        let _guard = self.refresh_lock.lock().await;
        let pair = self.store.tokens()?.ok_or(TokenError::Missing)?;
        if pair.access_token != rejected && !pair.access_token.is_empty() {
            return Ok(pair.access_token);
        }
        self.refresh_locked(&pair, now).await
    }

    /// Stores a pair an admin obtained by re-authorising the OA. Takes the refresh
    /// lock, so a refresh already in flight cannot overwrite it afterwards with a pair
    /// minted from the old refresh token.
    pub async fn replace(&self, pair: &TokenPair) -> Result<(), StoreError> {
        let _guard = self.refresh_lock.lock().await;
        self.store.put_tokens(pair).await
    }

    /// Refreshes ahead of expiry, and rotates a refresh token older than 60 days
    /// (they live about 3 months). Returns whether a refresh happened.
    pub async fn refresh_if_due(&self, now: UnixSecs) -> Result<bool, TokenError> {
        let due = |pair: &TokenPair| {
            pair.expires_at.is_some_and(|at| at.since(now) <= self.refresh_before_secs)
                || now.since(pair.issued_at) > 60 * 86_400
        };
        match self.store.tokens()? {
            Some(pair) if due(&pair) && !pair.refresh_token.is_empty() => {}
            _ => return Ok(false),
        }
        let _guard = self.refresh_lock.lock().await;
        let pair = self.store.tokens()?.ok_or(TokenError::Missing)?;
        if !due(&pair) {
            return Ok(false);
        }
        self.refresh_locked(&pair, now).await.map(|_| true)
    }

    async fn refresh_locked(&self, pair: &TokenPair, now: UnixSecs) -> Result<String, TokenError> {
        if pair.refresh_token.is_empty() {
            return Err(TokenError::Missing);
        }
        let grant = match self.client.refresh(&pair.refresh_token).await {
            Ok(grant) => grant,
            Err(e) => {
                metrics::counter!("cnscd_token_refreshes_total", "result" => "refused")
                    .increment(1);
                return Err(TokenError::Refused(e));
            }
        };
        let new_pair = TokenPair {
            access_token: grant.access_token,
            refresh_token: grant.refresh_token,
            expires_at: Some(now.plus_secs(grant.expires_in_secs)),
            issued_at: now,
        };
        // Durable before use: the old refresh token is already dead at Zalo.
        self.store.put_tokens(&new_pair).await?;
        tracing::info!(expires_in = grant.expires_in_secs, "zalo token pair refreshed and stored");
        metrics::counter!("cnscd_token_refreshes_total", "result" => "ok").increment(1);
        Ok(new_pair.access_token)
    }
}
