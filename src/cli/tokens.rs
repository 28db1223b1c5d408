//! `cnscd-bot tokens set`: the stored Zalo token pair, replaced by hand.

use crate::settings::Settings;
use crate::store::{Store, TokenPair};

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
    let path = &settings.store.path;
    let store = Store::open_for_command(path, "PUT /admin/api/zalo/tokens")?;
    let now = crate::clock::Clock::system().now_secs();
    store.put_tokens_blocking(&TokenPair {
        access_token: args.access_token,
        refresh_token: args.refresh_token,
        expires_at: args.expires_in.map(|s| now.plus_secs(s)),
        issued_at: now,
    })?;
    println!("token pair stored in {}", path.display());
    Ok(())
}
