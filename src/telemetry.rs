//! Logs and metrics.
//!
//! Logs: `RUST_LOG` filter (default `info`) on stderr, as text or, with
//! `telemetry.format = "json"`, one JSON object per line. User ids are logged only as
//! pseudonyms (`privacy::mask_id`), never in full.
//!
//! Metrics: the `metrics` facade, recorded where things happen (each name in one place)
//! and rendered in the Prometheus text format at `GET /metrics` (behind the admin token):
//!
//! | name | kind | labels | recorded in |
//! |---|---|---|---|
//! | `cnscd_webhooks_total` | counter | `outcome` | `zalo/webhook.rs` |
//! | `cnscd_webhook_seconds` | histogram | — | `zalo/webhook.rs` (ingest, fsync included) |
//! | `cnscd_journal_batch_events` | histogram | — | `store/journal.rs` (group-commit size) |
//! | `cnscd_store_flush_seconds` | histogram | — | `store/flusher.rs` (one sled flush, shared by every waiter) |
//! | `cnscd_inbox_depth` | gauge | `shard` | `pipeline.rs` |
//! | `cnscd_stage_seconds` | histogram | `stage` = `queued`, `processed`, `dispatched`, `sent` | `conversation.rs`, `pipeline.rs`, `zalo/sender.rs` |
//! | `cnscd_send_call_seconds` | histogram | — | `zalo/sender.rs` (one call to the send API) |
//! | `cnscd_outbox_messages` | gauge | `status` = `pending` | at scrape time, from the store |
//! | `cnscd_inbox_events` | gauge | `status` = `waiting`, `failed` | at scrape time, from the store |
//! | `cnscd_sends_total` | counter | `result`, `code` | `zalo/sender.rs` |
//! | `cnscd_token_refreshes_total` | counter | `result` | `zalo/token.rs` |
//! | `cnscd_dialog_reloads_total` | counter | `result` | `dialog_runtime/registry.rs` |
//! | `cnscd_reports_submitted_total` | counter | — | `reports_runtime/chat.rs` |
//! | `cnscd_reminders_sent_total` | counter | — | `reports_runtime/reminders.rs` |

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use tracing_subscriber::EnvFilter;

/// `telemetry.format`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,sled=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
}

/// Latency buckets in seconds: sub-millisecond to a few seconds.
const SECONDS_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0];
/// Group-commit sizes.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// How often histogram samples are folded into their buckets (see `metrics`).
const UPKEEP_EVERY: Duration = Duration::from_secs(1);

/// The process-wide Prometheus recorder, installed on first use. One per process: every
/// app built in this process (tests build many) records into it.
///
/// A thread runs the exporter's upkeep every second. A histogram sample waits in a queue
/// until upkeep folds it into the buckets; the exporter's `install` runs it on a timer,
/// but `build_recorder` (used here, so that a process has one recorder however many
/// apps it builds) leaves it to the caller. Without the timer, every sample stayed in
/// memory until `/metrics` was scraped: on an OA that nobody scrapes, about 19 bytes
/// per sample, several samples per message, for as long as the service ran.
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Suffix("_events".into()), BATCH_BUCKETS)
            })
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first; then ours renders empty.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "metrics upkeep thread did not start; histograms grow until scraped");
        }
        handle
    })
}

/// The Prometheus text exposition of everything recorded so far.
pub fn render() -> String {
    let handle = metrics();
    handle.run_upkeep();
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_are_rendered_in_prometheus_format() {
        metrics();
        metrics::counter!("cnscd_test_total", "outcome" => "accepted").increment(2);
        metrics::histogram!("cnscd_test_seconds").record(0.003);
        let text = render();
        assert!(text.contains("cnscd_test_total{outcome=\"accepted\"} 2"), "{text}");
        assert!(text.contains("cnscd_test_seconds_bucket{le=\"0.005\"} 1"), "{text}");
    }

    #[test]
    fn the_log_format_is_read_from_settings() {
        let json: LogFormat = serde_json::from_str("\"json\"").unwrap();
        assert_eq!(json, LogFormat::Json);
        assert_eq!(LogFormat::default(), LogFormat::Text);
    }
}
