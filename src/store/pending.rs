//! Dedupe keys whose `seen` mark is not in sled yet.
//!
//! A webhook's dedupe key is claimed here while its event is journaled, and stays here
//! while the event waits in the inbox. The `seen` mark itself is written when the event
//! leaves the inbox (its step, a burial, a withdrawal), in the same writes as the
//! removal: acknowledging an event then costs one sled insert (the inbox entry) rather
//! than two, and a `seen` insert lands at a random place in a large tree, which made it
//! the dearer of the two (a third of the journal thread's time per event). Until then
//! this set answers for the key: a re-delivery is a duplicate whether its first copy
//! is being journaled, waits in the inbox, or was handled (`seen`).
//!
//! On start-up the set is filled from the inbox, so a restart forgets nothing.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use super::InboxEntry;

/// The `seen` mark an event leaves behind: its dedupe key and when it arrived (pruned
/// by that age, `prune.rs`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SeenMark {
    pub key: String,
    pub at: i64,
}

impl SeenMark {
    pub fn of(entry: &InboxEntry) -> SeenMark {
        SeenMark { key: entry.dedupe_key.clone(), at: entry.received_at_ms }
    }

    /// The value stored under the key in `seen`: the arrival time, which `prune.rs`
    /// reads back.
    pub fn value(&self) -> [u8; 8] {
        self.at.to_be_bytes()
    }
}

/// A held key is stored once, shared by the set and the map (a paused service can
/// hold hundreds of thousands).
#[derive(Default)]
struct Keys {
    /// Claimed (being journaled) or held (waiting in the inbox).
    keys: HashSet<Arc<str>>,
    /// The held ones by inbox sequence number, with their arrival time.
    held: HashMap<u64, (Arc<str>, i64)>,
}

/// Shared by every clone of a `Store` (std mutex, never held across `.await`).
#[derive(Clone, Default)]
pub struct Pending(Arc<Mutex<Keys>>);

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims `key` for an event about to be journaled; `None` if it is claimed or held
    /// already (a duplicate). The claim is released on drop unless `hold` is called.
    pub fn claim(&self, key: &str) -> Option<Claim<'_>> {
        let key: Arc<str> = Arc::from(key);
        // The guard is dropped before a `Claim` exists: a refused one is never built, so
        // its drop can neither wait on this lock nor free the first copy's key.
        let fresh = self.lock().keys.insert(key.clone());
        fresh.then(|| Claim { pending: self, key: Some(key) })
    }

    /// An event found in the inbox on start-up.
    pub fn hold(&self, seq: u64, mark: SeenMark) {
        let key: Arc<str> = Arc::from(mark.key);
        let mut keys = self.lock();
        keys.keys.insert(key.clone());
        keys.held.insert(seq, (key, mark.at));
    }

    /// The mark inbox entry `seq` leaves behind, if this process holds it.
    pub fn mark(&self, seq: u64) -> Option<SeenMark> {
        let keys = self.lock();
        let (key, at) = keys.held.get(&seq)?;
        Some(SeenMark { key: key.to_string(), at: *at })
    }

    /// Entry `seq` left the inbox and its mark is in sled: `seen` answers for it now.
    pub fn release(&self, seq: u64) {
        let mut keys = self.lock();
        if let Some((key, _)) = keys.held.remove(&seq) {
            keys.keys.remove(&key);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().keys.len()
    }
}

/// A key being journaled. Dropped on failure (the key is free again for Zalo's retry);
/// `hold` once the event is in the inbox.
pub struct Claim<'a> {
    pending: &'a Pending,
    /// `None` once held.
    key: Option<Arc<str>>,
}

impl Claim<'_> {
    /// The event is journaled and in the inbox as entry `seq`.
    pub fn hold(mut self, seq: u64, at: i64) {
        if let Some(key) = self.key.take() {
            self.pending.lock().held.insert(seq, (key, at));
        }
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.pending.lock().keys.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_taken_from_claim_to_release() {
        let pending = Pending::default();
        let claim = pending.claim("m:1").expect("free");
        assert!(pending.claim("m:1").is_none(), "claimed");
        claim.hold(7, 100);
        assert!(pending.claim("m:1").is_none(), "held");
        assert_eq!(pending.mark(7), Some(SeenMark { key: "m:1".into(), at: 100 }));
        pending.release(7);
        assert_eq!(pending.mark(7), None);
        assert!(pending.claim("m:1").is_some(), "free again: `seen` answers now");
    }

    #[test]
    fn a_failed_claim_frees_its_key() {
        let pending = Pending::default();
        drop(pending.claim("m:2").unwrap());
        assert_eq!(pending.len(), 0);
        assert!(pending.claim("m:2").is_some());
    }

    #[test]
    fn entries_found_on_start_up_are_held() {
        let pending = Pending::default();
        pending.hold(3, SeenMark { key: "b:abc".into(), at: 5 });
        assert!(pending.claim("b:abc").is_none());
        pending.release(3);
        pending.release(3); // twice is harmless
        assert_eq!(pending.len(), 0);
    }
}
