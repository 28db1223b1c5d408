//! Persistence of the operators' web console: sign-in sessions, one-time sign-in links
//! and the change log of dialog edits. One tree, `console`, under key prefixes:
//!
//! | key                     | value                                   |
//! |-------------------------|-----------------------------------------|
//! | `sess/{id}`             | `ConsoleSession`                        |
//! | `link/{token}`          | `SignInLink` (removed when used)        |
//! | `log/{at:016x}{n:08x}`  | `ChangeLogEntry`                        |
//! | `dl/{token}`            | `DownloadLink` (removed when used)      |
//!
//! Session ids and link tokens are random (256 bits) and only ever compared as keys.

use crate::calendar::UnixSecs;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, from_json, to_json};

const TREE: &str = "console";

/// A signed-in browser. `unit` is `None` for the province-level administrator (signed
/// in with `admin.token`); a unit admin sees only `unit` and the units below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSession {
    pub id: String,
    /// Anti-CSRF token carried by every state-changing form of this session.
    pub csrf: String,
    pub unit: Option<String>,
    /// Shown in the header and recorded in the change log ("Quản trị tỉnh", a name).
    pub who: String,
    pub created_at: UnixSecs,
    /// Unix seconds of the last request; the session ends after the idle timeout.
    pub last_seen: UnixSecs,
}

/// A one-time sign-in link sent to a unit admin in chat (`/quantri`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInLink {
    pub unit: String,
    pub who: String,
    pub expires_at: UnixSecs,
}

/// A one-time download link of a unit's reports (`/xuat` in chat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadLink {
    pub unit: String,
    /// Period key, e.g. `2026-11`.
    pub period: String,
    pub expires_at: UnixSecs,
}

/// Who changed what in a dialog file, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLogEntry {
    pub at: UnixSecs,
    pub who: String,
    pub file: String,
    /// Lines before → after, e.g. `120 → 122 dòng`.
    pub summary: String,
}

/// One-time sign-in links from `/quantri` are valid this long.
pub const LINK_VALID_SECS: i64 = 600;

impl Store {
    fn console_tree(&self) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(TREE)?)
    }

    pub fn put_console_session(&self, session: &ConsoleSession) -> Result<(), StoreError> {
        self.console_tree()?.insert(format!("sess/{}", session.id), to_json(session))?;
        Ok(())
    }

    /// The session `id` if it exists and was used within `idle_secs`; touches it.
    /// An expired session is removed.
    pub fn console_session(
        &self,
        id: &str,
        now: UnixSecs,
        idle_secs: i64,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let tree = self.console_tree()?;
        let key = format!("sess/{id}");
        let Some(bytes) = tree.get(&key)? else { return Ok(None) };
        let mut session: ConsoleSession = from_json(TREE, &bytes)?;
        if now.saturating_since(session.last_seen) > idle_secs {
            tree.remove(&key)?;
            return Ok(None);
        }
        // Touch at most once a minute: page views should not all write.
        if now.saturating_since(session.last_seen) >= 60 {
            session.last_seen = now;
            tree.insert(&key, to_json(&session))?;
        }
        Ok(Some(session))
    }

    pub fn remove_console_session(&self, id: &str) -> Result<(), StoreError> {
        self.console_tree()?.remove(format!("sess/{id}"))?;
        Ok(())
    }

    /// Drops sessions idle longer than `idle_secs`; returns how many.
    pub fn prune_console_sessions(
        &self,
        now: UnixSecs,
        idle_secs: i64,
    ) -> Result<usize, StoreError> {
        let tree = self.console_tree()?;
        let mut removed = 0;
        for item in tree.scan_prefix(b"sess/") {
            let (key, value) = item?;
            let session: ConsoleSession = from_json(TREE, &value)?;
            if now.saturating_since(session.last_seen) > idle_secs {
                tree.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Stores a one-time sign-in link `token` for a unit admin (`/quantri` in chat),
    /// valid [`LINK_VALID_SECS`] from `now`, durably: the token is sent in chat next.
    pub fn issue_sign_in_link(
        &self,
        token: &str,
        unit: &str,
        who: &str,
        now: UnixSecs,
    ) -> Result<(), StoreError> {
        let link = SignInLink {
            unit: unit.to_owned(),
            who: who.to_owned(),
            expires_at: now.plus_secs(LINK_VALID_SECS),
        };
        self.put_sign_in_link(token, &link)?;
        self.flush_blocking()
    }

    pub fn put_sign_in_link(&self, token: &str, link: &SignInLink) -> Result<(), StoreError> {
        self.console_tree()?.insert(format!("link/{token}"), to_json(link))?;
        Ok(())
    }

    /// Takes the link `token` (single use: removed atomically whatever happens next);
    /// `None` if unknown, used or expired.
    pub fn take_sign_in_link(
        &self,
        token: &str,
        now: UnixSecs,
    ) -> Result<Option<SignInLink>, StoreError> {
        let Some(bytes) = self.console_tree()?.remove(format!("link/{token}"))? else {
            return Ok(None);
        };
        let link: SignInLink = from_json(TREE, &bytes)?;
        Ok((link.expires_at > now).then_some(link))
    }

    pub fn put_download_link(&self, token: &str, link: &DownloadLink) -> Result<(), StoreError> {
        self.console_tree()?.insert(format!("dl/{token}"), to_json(link))?;
        Ok(())
    }

    /// Takes the download link `token` (single use); `None` if unknown, used or expired.
    pub fn take_download_link(
        &self,
        token: &str,
        now: UnixSecs,
    ) -> Result<Option<DownloadLink>, StoreError> {
        let Some(bytes) = self.console_tree()?.remove(format!("dl/{token}"))? else {
            return Ok(None);
        };
        let link: DownloadLink = from_json(TREE, &bytes)?;
        Ok((link.expires_at > now).then_some(link))
    }

    pub fn append_change_log(&self, entry: &ChangeLogEntry) -> Result<(), StoreError> {
        let tree = self.console_tree()?;
        let n = self.db.generate_id()?;
        tree.insert(format!("log/{:016x}{:08x}", entry.at.get(), n as u32), to_json(entry))?;
        Ok(())
    }

    /// The newest `limit` change log entries, newest first.
    pub fn change_log(&self, limit: usize) -> Result<Vec<ChangeLogEntry>, StoreError> {
        self.console_tree()?
            .scan_prefix(b"log/")
            .rev()
            .take(limit)
            .map(|item| {
                let (_, value) = item?;
                from_json(TREE, &value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, last_seen: UnixSecs) -> ConsoleSession {
        ConsoleSession {
            id: id.into(),
            csrf: "c".into(),
            unit: None,
            who: "Quản trị tỉnh".into(),
            created_at: last_seen,
            last_seen,
        }
    }

    #[test]
    fn sessions_expire_when_idle() {
        let store = Store::temporary().unwrap();
        store.put_console_session(&session("a", UnixSecs(1_000))).unwrap();
        assert!(store.console_session("a", UnixSecs(1_500), 600).unwrap().is_some());
        // Touched at 1_500: still alive at 2_000.
        assert!(store.console_session("a", UnixSecs(2_000), 600).unwrap().is_some());
        assert!(store.console_session("a", UnixSecs(2_700), 600).unwrap().is_none());
        assert!(store.console_session("a", UnixSecs(2_701), 600).unwrap().is_none(), "removed");
        assert!(store.console_session("missing", UnixSecs(0), 600).unwrap().is_none());
    }

    #[test]
    fn links_are_single_use_and_expire() {
        let store = Store::temporary().unwrap();
        let link = SignInLink { unit: "19".into(), who: "Lan".into(), expires_at: UnixSecs(600) };
        store.put_sign_in_link("t1", &link).unwrap();
        store.put_sign_in_link("t2", &link).unwrap();
        assert_eq!(store.take_sign_in_link("t1", UnixSecs(100)).unwrap(), Some(link));
        assert_eq!(store.take_sign_in_link("t1", UnixSecs(100)).unwrap(), None, "used");
        assert_eq!(store.take_sign_in_link("t2", UnixSecs(600)).unwrap(), None, "expired");
    }

    #[test]
    fn change_log_is_newest_first() {
        let store = Store::temporary().unwrap();
        for at in [10, 30, 20] {
            let entry = ChangeLogEntry {
                at: UnixSecs(at),
                who: "a".into(),
                file: "main.toml".into(),
                summary: String::new(),
            };
            store.append_change_log(&entry).unwrap();
        }
        let log = store.change_log(2).unwrap();
        assert_eq!(log.iter().map(|e| e.at).collect::<Vec<_>>(), vec![UnixSecs(30), UnixSecs(20)]);
    }
}
