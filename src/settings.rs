//! Settings: read once, in one place, by the `config` crate.
//!
//! Layers (later wins): the embedded `config/default.toml`, an optional `--config` file,
//! then `CNSCD__SECTION__KEY` environment variables. Nothing else in the crate reads the
//! environment. Secrets are `SecretString` so `Debug` and logs cannot print them.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The embedded defaults, also the documentation of every key.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub store: StoreSettings,
    pub zalo: ZaloSettings,
    pub admin: AdminSettings,
    pub dialogs: DialogSettings,
    pub workers: WorkerSettings,
    #[serde(default)]
    pub reports: ReportSettings,
    #[serde(default)]
    pub handoff: HandoffSettings,
    #[serde(default)]
    pub telemetry: TelemetrySettings,
}

/// `[telemetry]`: how logs are written.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TelemetrySettings {
    #[serde(default)]
    pub format: crate::telemetry::LogFormat,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub bind: String,
    pub webhook_body_limit: usize,
    #[serde(default = "crate::hardening::default_shutdown_grace_secs")]
    pub shutdown_grace_secs: u64,
    #[serde(default = "crate::hardening::default_header_read_timeout_secs")]
    pub header_read_timeout_secs: u64,
    #[serde(default = "crate::hardening::default_request_timeout_secs")]
    pub request_timeout_secs: u64,
    #[serde(default = "crate::hardening::default_max_connections")]
    pub max_connections: usize,
    #[serde(default)]
    pub allow_sandbox_ready: bool,
    /// Public base URL of this service (e.g. `https://bot.example.vn`), used for links
    /// sent in chat (console sign-in, downloads); empty: `http://{bind}`.
    #[serde(default)]
    pub public_url: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoreSettings {
    pub path: PathBuf,
    pub dedupe_hours: u64,
    pub sent_retention_days: u64,
    /// Failed outbox entries and dead-letter inbox entries are dropped after this many days.
    #[serde(default = "crate::hardening::default_failed_retention_days")]
    pub failed_retention_days: u64,
    /// sled page cache, in megabytes.
    #[serde(default = "crate::hardening::default_cache_mb")]
    pub cache_mb: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ZaloSettings {
    pub app_id: String,
    pub oa_secret_key: SecretString,
    pub app_secret: SecretString,
    pub api_base: String,
    pub oauth_base: String,
    pub access_token: SecretString,
    pub refresh_token: SecretString,
    pub send_rate_per_sec: f64,
    pub send_concurrency: usize,
    pub request_timeout_secs: u64,
    pub max_attempts: u32,
    pub refresh_before_expiry_secs: i64,
    pub reply_window_days: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AdminSettings {
    pub token: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DialogSettings {
    pub dir: PathBuf,
    pub session_idle_days: i64,
    pub review_days: u32,
    pub watch: bool,
    /// Days a message that was not understood stays in `GET /admin/api/unmatched`.
    #[serde(default = "default_unmatched_retention_days")]
    pub unmatched_retention_days: u32,
}

fn default_unmatched_retention_days() -> u32 {
    crate::dialog::DEFAULT_UNMATCHED_RETENTION_DAYS
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerSettings {
    pub shards: usize,
    pub paused: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings: {0}")]
    Config(#[from] config::ConfigError),
    #[error("invalid settings: {0}")]
    Invalid(String),
}

impl Settings {
    /// Reads the layered settings. `file` is the optional `--config PATH`.
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        Settings::load_with_env(file, std::env::vars())
    }

    /// Same as `load`, with the environment passed in (tests use this).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, SettingsError> {
        let env: config::Map<String, String> = env.into_iter().collect();
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULT_TOML, config::FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("CNSCD")
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        );
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// The base of links sent to users: `server.public_url`, else `http://{server.bind}`,
    /// without a trailing slash.
    pub fn public_url(&self) -> String {
        let url = self.server.public_url.trim();
        if url.is_empty() {
            format!("http://{}", self.server.bind)
        } else {
            url.trim_end_matches('/').to_owned()
        }
    }

    /// The store this configuration uses: sandbox mode keeps its own store beside the
    /// configured one (`<store.path>.sandbox`), so sandbox data never mixes with real
    /// data; the service and the CLI (`units import`, `export`) agree on it.
    pub fn effective_store_path(&self) -> PathBuf {
        if self.is_sandbox() {
            self.store.path.with_extension("sandbox")
        } else {
            self.store.path.clone()
        }
    }

    /// The embedded defaults only (tests start from these and edit fields).
    pub fn defaults() -> Settings {
        Settings::load_with_env(None, Vec::new()).expect("embedded default.toml is valid")
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |m: &str| Err(SettingsError::Invalid(m.to_owned()));
        if self.zalo.send_rate_per_sec <= 0.0 {
            return invalid("zalo.send_rate_per_sec must be positive");
        }
        if self.zalo.send_concurrency == 0 || self.workers.shards == 0 {
            return invalid("zalo.send_concurrency and workers.shards must be at least 1");
        }
        if self.store.dedupe_hours < 48 {
            return invalid("store.dedupe_hours must be at least 48");
        }
        Ok(())
    }

    /// True when no Zalo credential at all is configured: the service then talks to
    /// the local fake instead of Zalo. Any one credential turns sandbox mode off.
    pub fn is_sandbox(&self) -> bool {
        self.zalo.app_id.is_empty()
            && is_blank(&self.zalo.oa_secret_key)
            && is_blank(&self.zalo.app_secret)
            && is_blank(&self.zalo.access_token)
            && is_blank(&self.zalo.refresh_token)
    }

    /// Problems that keep a real (non-sandbox) deployment from working; `/readyz`
    /// reports them and `serve` refuses to start with them.
    pub fn missing_credentials(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.zalo.app_id.is_empty() {
            missing.push("zalo.app_id");
        }
        if is_blank(&self.zalo.oa_secret_key) {
            missing.push("zalo.oa_secret_key");
        }
        if is_blank(&self.zalo.app_secret) {
            missing.push("zalo.app_secret");
        }
        missing
    }
}

/// An empty secret counts as unset.
pub fn is_blank(secret: &SecretString) -> bool {
    secret.expose_secret().trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_sandbox_with_documented_bases() {
        let s = Settings::defaults();
        assert!(s.is_sandbox());
        assert_eq!(s.zalo.api_base, "https://openapi.zalo.me");
        assert_eq!(s.zalo.oauth_base, "https://oauth.zaloapp.com");
        assert_eq!(s.dialogs.dir, PathBuf::from("dialogs"));
        assert!(is_blank(&s.admin.token));
    }

    /// The review interval is written in `config/default.toml` (for operators) and in
    /// `dialog::DEFAULT_REVIEW_DAYS` (for `check` and a registry built without settings):
    /// they must agree.
    #[test]
    fn the_default_review_interval_is_one_number() {
        assert_eq!(Settings::defaults().dialogs.review_days, crate::dialog::DEFAULT_REVIEW_DAYS);
    }

    #[test]
    fn environment_overrides_with_double_underscore() {
        let s = Settings::load_with_env(
            None,
            env(&[
                ("CNSCD__ZALO__OA_SECRET_KEY", "s3cret"),
                ("CNSCD__ZALO__APP_ID", "123456789012345678"),
                ("CNSCD__SERVER__BIND", "0.0.0.0:9000"),
                ("CNSCD__WORKERS__SHARDS", "4"),
            ]),
        )
        .unwrap();
        assert_eq!(s.zalo.oa_secret_key.expose_secret(), "s3cret");
        assert_eq!(s.zalo.app_id, "123456789012345678");
        assert_eq!(s.server.bind, "0.0.0.0:9000");
        assert_eq!(s.workers.shards, 4);
        assert!(!s.is_sandbox(), "any credential turns sandbox mode off");
        assert_eq!(s.missing_credentials(), vec!["zalo.app_secret"]);
    }

    #[test]
    fn config_file_layer_sits_between_defaults_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.toml");
        std::fs::write(&path, "[store]\npath = \"/var/lib/x\"\n[admin]\ntoken = \"file\"\n")
            .unwrap();
        let s =
            Settings::load_with_env(Some(&path), env(&[("CNSCD__ADMIN__TOKEN", "env")])).unwrap();
        assert_eq!(s.store.path, PathBuf::from("/var/lib/x"));
        assert_eq!(s.admin.token.expose_secret(), "env");
    }

    #[test]
    fn secrets_do_not_appear_in_debug_output() {
        let s =
            Settings::load_with_env(None, env(&[("CNSCD__ADMIN__TOKEN", "topsecret")])).unwrap();
        assert!(!format!("{s:?}").contains("topsecret"));
    }

    #[test]
    fn too_short_dedupe_window_is_rejected() {
        let err = Settings::load_with_env(None, env(&[("CNSCD__STORE__DEDUPE_HOURS", "1")]));
        assert!(matches!(err, Err(SettingsError::Invalid(_))));
    }
}

/// `[handoff]` settings. Every key has a default, so the section is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HandoffSettings {
    /// Answer "gặp tổ" with a hand-off (off: the dialogs' contact details only).
    pub enabled: bool,
    /// Office hours, Vietnam time [start, end).
    pub hour_start: u32,
    pub hour_end: u32,
    /// Office minutes an open request waits unclaimed before the leader is reminded and
    /// the commune's teams are told (twice this: the commune admin).
    pub escalate_after_minutes: i64,
    /// Days after the citizen's last message when the claimer is warned.
    pub window_warn_days: i64,
    /// Days a closed request's texts are kept.
    pub retention_days: i64,
    /// Show the member's display name to the citizen.
    pub show_member_name: bool,
    /// How often the scheduler looks, in seconds.
    pub interval_secs: u64,
    /// Copied from `zalo.reply_window_days` by `app::build`.
    #[serde(skip)]
    pub reply_window_days: i64,
}

impl Default for HandoffSettings {
    fn default() -> HandoffSettings {
        let c = crate::handoff::HandoffConfig::default();
        HandoffSettings {
            enabled: true,
            hour_start: c.hour_start,
            hour_end: c.hour_end,
            escalate_after_minutes: c.escalate_after_secs / 60,
            window_warn_days: c.window_warn_days,
            retention_days: c.retention_days,
            show_member_name: c.show_member_name,
            interval_secs: 120,
            reply_window_days: c.window_days,
        }
    }
}

/// `[reports]` settings. Every key has a default, so the section is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ReportSettings {
    /// The report definition file.
    pub definitions: std::path::PathBuf,
    /// How long after submitting a member may withdraw with `/huy`.
    pub withdraw_minutes: i64,
    /// Lifetime of invite codes.
    pub invite_days: i64,
    /// Run the reminder scheduler.
    pub reminders: bool,
    /// Days before the deadline to remind teams that have not reported.
    pub reminder_before_days: Vec<u32>,
    /// Days after the deadline to remind them again (and send digests).
    pub reminder_after_days: Vec<u32>,
    /// Local (Vietnam) hours [start, end) for reminders; never outside 06–22 (Zalo -234).
    pub reminder_hour_start: u32,
    pub reminder_hour_end: u32,
    /// How often the scheduler looks, in seconds.
    pub reminder_interval_secs: u64,
    /// Zalo's customer-service window in days: users silent longer are not messaged.
    /// Not a `[reports]` key: `app::build` copies `zalo.reply_window_days` here, so the
    /// sender and the reminders agree on one window.
    #[serde(skip)]
    pub reply_window_days: i64,
    /// Base of links sent in chat (`/quantri`, `/xuat`); copied from `server.public_url`
    /// (or `http://{server.bind}`) by `app::build`, like `reply_window_days`.
    #[serde(skip)]
    pub public_url: String,
}

impl Default for ReportSettings {
    fn default() -> ReportSettings {
        // The reminder defaults live in one place: the pure core's `ReminderConfig`.
        let reminders = crate::reports::reminders::ReminderConfig::default();
        ReportSettings {
            definitions: std::path::PathBuf::from("config/reports.toml"),
            withdraw_minutes: 60,
            invite_days: 14,
            reminders: true,
            reminder_before_days: reminders.before_days,
            reminder_after_days: reminders.after_days,
            reminder_hour_start: reminders.hour_start,
            reminder_hour_end: reminders.hour_end,
            reminder_interval_secs: 300,
            reply_window_days: reminders.window_days,
            public_url: String::new(),
        }
    }
}
