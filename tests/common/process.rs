//! The real `cnscd-bot serve` binary as a child process, for tests that `kill -9` it.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{ADMIN_TOKEN, APP_ID, APP_SECRET, OA_SECRET, text_event};

pub struct Service {
    child: Child,
    pub base: String,
}

impl Service {
    /// Starts the service against a Zalo at `api_base` / `oauth_base`, storing in
    /// `store`; `extra_env` adds or overrides `CNSCD__*` settings.
    pub async fn start(
        api_base: &str,
        oauth_base: &str,
        store: &Path,
        extra_env: &[(&str, &str)],
    ) -> Service {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_cnscd-bot"));
        command
            .arg("serve")
            .env("CNSCD__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("CNSCD__STORE__PATH", store)
            .env("CNSCD__ZALO__APP_ID", APP_ID)
            .env("CNSCD__ZALO__OA_SECRET_KEY", OA_SECRET)
            .env("CNSCD__ZALO__APP_SECRET", APP_SECRET)
            .env("CNSCD__ZALO__ACCESS_TOKEN", "access-0")
            .env("CNSCD__ZALO__REFRESH_TOKEN", "refresh-0")
            .env("CNSCD__ZALO__API_BASE", api_base)
            .env("CNSCD__ZALO__OAUTH_BASE", oauth_base)
            .env("CNSCD__ZALO__SEND_RATE_PER_SEC", "1000")
            .env("CNSCD__ADMIN__TOKEN", ADMIN_TOKEN)
            .env("CNSCD__DIALOGS__DIR", Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogs"))
            .env("CNSCD__DIALOGS__WATCH", "false")
            // The child is pinned to the tests' date too: its clock starts where the
            // shared child clock is now, so a restart continues the same timeline.
            .env(cnscd_bot::clock::START_ENV, super::child_clock().now_ms().get().to_string())
            .env("CNSCD__REPORTS__REMINDERS", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            });
        for (key, value) in extra_env {
            command.env(key, value);
        }
        if let Some(log) = extra_env.iter().find(|(k, _)| *k == "TEST_LOG_FILE").map(|(_, v)| v) {
            command.env("RUST_LOG", "debug").stderr(std::fs::File::create(log).expect("log file"));
        }
        let mut child = command.spawn().expect("start cnscd-bot");
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status() == 200) {
                return Service { child, base };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("service did not come up");
    }

    /// SIGKILL: no shutdown hooks, no flush.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// Sends SIGTERM (a deploy or `systemctl stop`).
    pub fn sigterm(&self) {
        // SAFETY: a plain syscall on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
    }

    /// Waits for the process to exit, at most `within`.
    pub fn wait_exit(mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        while started.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Posts `body` signed like Zalo; the HTTP status, or `None` when nobody answered
    /// (the service is stopping or down: Zalo would re-send later).
    pub async fn try_post_signed(&self, body: &str) -> Option<u16> {
        let parsed: Value = serde_json::from_str(body).unwrap();
        let ts = parsed["timestamp"].as_str().unwrap();
        let mac = cnscd_bot::zalo::signature::sign(APP_ID, body.as_bytes(), ts, OA_SECRET);
        static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
        let response = HTTP
            .get_or_init(reqwest::Client::new)
            .post(format!("{}/webhook/zalo", self.base))
            .header("X-ZEvent-Signature", format!("mac={mac}"))
            .body(body.to_owned())
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        Some(response.status().as_u16())
    }

    /// Posts `body` signed like Zalo; returns the HTTP status.
    pub async fn post_signed(&self, body: &str) -> u16 {
        let parsed: Value = serde_json::from_str(body).unwrap();
        let ts = parsed["timestamp"].as_str().unwrap();
        let mac = cnscd_bot::zalo::signature::sign(APP_ID, body.as_bytes(), ts, OA_SECRET);
        reqwest::Client::new()
            .post(format!("{}/webhook/zalo", self.base))
            .header("X-ZEvent-Signature", format!("mac={mac}"))
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// A user types `text`; the webhook must accept it.
    pub async fn say(&self, user: &str, msg_id: &str, text: &str) {
        assert_eq!(self.post_signed(&text_event(user, msg_id, text)).await, 200);
    }

    /// An admin API call (POST with a JSON body, or GET); returns the JSON answer.
    pub async fn admin(&self, path: &str, body: Option<Value>) -> Value {
        let http = reqwest::Client::new();
        let url = format!("{}{path}", self.base);
        let req = match body {
            Some(b) => http.post(url).json(&b),
            None => http.get(url),
        };
        req.bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
