//! Messages the dialogs did not understand (or answered with an ask-back), kept so editors
//! can add examples: one record per masked, folded text with a count and first/last seen.
//! Never a user id. Old records are pruned by age (`dialogs.unmatched_retention_days`).

use crate::calendar::UnixMs;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::keys;
use super::{Store, StoreError, from_json, to_json};

/// Prune at most once per this many recorded messages (a scan of the tree).
const PRUNE_EVERY: u64 = 256;

static RECORDED: AtomicU64 = AtomicU64::new(0);

/// One unmatched text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmatched {
    /// Folded, with digits and phone-, code- and address-shaped words masked.
    pub text: String,
    /// Times it ended in "not understood".
    #[serde(default)]
    pub not_understood: u64,
    /// Times it ended in an ask-back.
    #[serde(default)]
    pub asked_back: u64,
    pub first_seen_ms: UnixMs,
    pub last_seen_ms: UnixMs,
}

impl Unmatched {
    pub fn count(&self) -> u64 {
        self.not_understood + self.asked_back
    }
}

impl Store {
    /// Counts one more occurrence of `masked` (already masked by the caller); prunes records
    /// not seen for `retention_ms` now and then. A retention of 0 keeps nothing.
    pub fn unmatched_record(
        &self,
        masked: &str,
        asked_back: bool,
        now_ms: UnixMs,
        retention_ms: i64,
    ) -> Result<(), StoreError> {
        if masked.is_empty() || retention_ms <= 0 {
            return Ok(());
        }
        let mut corrupt = None;
        self.unmatched.fetch_and_update(masked.as_bytes(), |old| {
            let mut record = match old.map(|v| from_json::<Unmatched>(keys::UNMATCHED, v)) {
                Some(Ok(record)) => record,
                Some(Err(e)) => {
                    corrupt = Some(e);
                    return old.map(<[u8]>::to_vec);
                }
                None => Unmatched {
                    text: masked.to_owned(),
                    not_understood: 0,
                    asked_back: 0,
                    first_seen_ms: now_ms,
                    last_seen_ms: now_ms,
                },
            };
            if asked_back {
                record.asked_back += 1;
            } else {
                record.not_understood += 1;
            }
            record.last_seen_ms = record.last_seen_ms.max(now_ms);
            Some(to_json(&record))
        })?;
        if let Some(error) = corrupt {
            return Err(error);
        }
        if RECORDED.fetch_add(1, Ordering::Relaxed).is_multiple_of(PRUNE_EVERY) {
            self.unmatched_prune(now_ms.plus_ms(-retention_ms))?;
        }
        Ok(())
    }

    /// The most frequent first (then the most recent), at most `limit`, ignoring records
    /// last seen before `since_ms`.
    pub fn unmatched_list(
        &self,
        limit: usize,
        since_ms: UnixMs,
    ) -> Result<Vec<Unmatched>, StoreError> {
        let mut all = Vec::new();
        for item in self.unmatched.iter() {
            let (_, value) = item?;
            let record: Unmatched = from_json(keys::UNMATCHED, &value)?;
            if record.last_seen_ms >= since_ms {
                all.push(record);
            }
        }
        all.sort_by(|a, b| {
            b.count()
                .cmp(&a.count())
                .then(b.last_seen_ms.cmp(&a.last_seen_ms))
                .then(a.text.cmp(&b.text))
        });
        all.truncate(limit);
        Ok(all)
    }

    /// Removes records last seen before `before_ms`; returns how many.
    pub fn unmatched_prune(&self, before_ms: UnixMs) -> Result<usize, StoreError> {
        let mut removed = 0;
        for item in self.unmatched.iter() {
            let (key, value) = item?;
            let old = from_json::<Unmatched>(keys::UNMATCHED, &value)
                .map_or(true, |r| r.last_seen_ms < before_ms);
            if old {
                self.unmatched.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lists_most_frequent_first_and_prunes_by_age() {
        let store = Store::temporary().expect("store");
        let day = 86_400_000;
        store.unmatched_record("thoi tiet", false, UnixMs(1_000), day).unwrap();
        store.unmatched_record("lam so #", false, UnixMs(2_000), day).unwrap();
        store.unmatched_record("lam so #", true, UnixMs(3_000), day).unwrap();
        let list = store.unmatched_list(10, UnixMs(0)).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!((list[0].text.as_str(), list[0].count()), ("lam so #", 2));
        assert_eq!(
            (list[0].first_seen_ms, list[0].last_seen_ms, list[0].asked_back),
            (UnixMs(2_000), UnixMs(3_000), 1)
        );
        assert_eq!(store.unmatched_list(10, UnixMs(2_500)).unwrap().len(), 1);
        assert_eq!(store.unmatched_prune(UnixMs(2_500)).unwrap(), 1);
        assert_eq!(store.unmatched_list(10, UnixMs(0)).unwrap().len(), 1);
        store.unmatched_record("x", false, UnixMs(1), 0).unwrap();
        assert_eq!(
            store.unmatched_list(10, UnixMs(0)).unwrap().len(),
            1,
            "retention 0 keeps nothing"
        );
    }
}
