//! The sender's index of pending messages, kept in memory.
//!
//! It mirrors the `outbox_queue` tree (user id, id → next attempt): for every user with
//! pending messages, which is their head (the oldest: one user's messages go out in
//! order) and when it is due. Heads are kept sorted by (due, id), so the sender finds
//! what is due now without touching sled, earliest first, and a user whose head is
//! backing off sorts later instead of holding anybody up. It is loaded from the tree
//! when the store opens and changed after every transaction that changes the tree, by
//! reading the tree back (`Store::resync_due`), so it can never keep a state the tree
//! has left behind.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

#[derive(Default)]
pub(super) struct DueIndex {
    /// Each user's pending messages, (id, next attempt in unix ms) sorted by id. A short
    /// deque rather than a map: most users have one or two, and a burst of 100,000
    /// citizens waiting for a reply must fit the memory budget.
    users: HashMap<Arc<str>, VecDeque<(u64, i64)>>,
    /// Every user's head: (due, id, user).
    heads: BTreeSet<(i64, u64, Arc<str>)>,
    len: usize,
    /// The most users waiting at once since memory was last handed back.
    peak_users: usize,
    /// A burst has just drained: the caller hands freed memory back, after the lock.
    drained: bool,
}

impl DueIndex {
    /// Records that message `id` of `user` is pending and due at `due` (`Some`), or not
    /// pending any more (`None`).
    pub(super) fn set(&mut self, user: &str, id: u64, due: Option<i64>) {
        let old_head = self.head_of(user);
        match (self.users.get_mut(user), due) {
            (Some(queue), Some(at)) => match queue.binary_search_by_key(&id, |(id, _)| *id) {
                Ok(i) => queue[i].1 = at,
                Err(i) => {
                    queue.insert(i, (id, at));
                    self.len += 1;
                }
            },
            (Some(queue), None) => {
                if let Ok(i) = queue.binary_search_by_key(&id, |(id, _)| *id) {
                    queue.remove(i);
                    self.len -= 1;
                }
                if queue.is_empty() {
                    self.users.remove(user);
                    self.after_removal();
                }
            }
            (None, Some(at)) => {
                self.users.insert(Arc::from(user), VecDeque::from([(id, at)]));
                self.len += 1;
                self.peak_users = self.peak_users.max(self.users.len());
            }
            (None, None) => {}
        }
        let new_head = self.head_of(user);
        if old_head != new_head {
            if let Some(head) = old_head {
                self.heads.remove(&head);
            }
            if let Some(head) = new_head {
                self.heads.insert(head);
            }
        }
    }

    fn head_of(&self, user: &str) -> Option<(i64, u64, Arc<str>)> {
        let (name, queue) = self.users.get_key_value(user)?;
        let &(id, at) = queue.front()?;
        Some((at, id, name.clone()))
    }

    /// A burst (a reminder to every member, 100k citizens at once) must not leave its
    /// memory behind once it has been sent: the table shrinks, and once it is empty
    /// `take_drained` tells the caller to hand freed pages back to the system.
    fn after_removal(&mut self) {
        let capacity = self.users.capacity();
        if capacity > 1024 && self.users.len() < capacity / 8 {
            self.users.shrink_to(self.users.len() * 2);
        }
        if self.users.is_empty() && self.peak_users > 1024 {
            self.peak_users = 0;
            self.drained = true;
        }
    }

    /// Whether a burst has drained since the last call. The purge it calls for runs
    /// outside the index's lock, which the sender and every worker take.
    pub(super) fn take_drained(&mut self) -> bool {
        std::mem::take(&mut self.drained)
    }

    /// Up to `limit` heads due at `now_ms`, earliest first, passing over the ids in
    /// `sending` (being sent right now: that user's next message waits for the result).
    /// A head in `settled` has been sent (or has failed for good) and only waits for its
    /// result to reach the disk: the user's next message stands in for it, so a turn's
    /// second reply need not wait for the first one's fdatasync.
    pub(super) fn due(
        &self,
        now_ms: i64,
        limit: usize,
        sending: &HashSet<u64>,
        settled: &HashSet<u64>,
    ) -> Vec<(u64, Arc<str>)> {
        let mut out = Vec::new();
        for (at, id, user) in &self.heads {
            if *at > now_ms || out.len() >= limit {
                break;
            }
            let candidate = if settled.contains(id) {
                self.users
                    .get(user)
                    .and_then(|queue| queue.iter().find(|(id, _)| !settled.contains(id)))
                    .copied()
            } else {
                Some((*id, *at))
            };
            if let Some((id, at)) = candidate
                && at <= now_ms
                && !sending.contains(&id)
            {
                out.push((id, user.clone()));
            }
        }
        out
    }

    /// When the earliest head is due.
    pub(super) fn next_due_ms(&self) -> Option<i64> {
        self.heads.first().map(|(at, _, _)| *at)
    }

    /// Pending messages in all.
    pub(super) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(index: &DueIndex, now: i64, limit: usize, skip: &[u64]) -> Vec<u64> {
        settled_ids(index, now, limit, skip, &[])
    }

    fn settled_ids(
        index: &DueIndex,
        now: i64,
        limit: usize,
        sending: &[u64],
        settled: &[u64],
    ) -> Vec<u64> {
        let sending: HashSet<u64> = sending.iter().copied().collect();
        let settled: HashSet<u64> = settled.iter().copied().collect();
        index.due(now, limit, &sending, &settled).into_iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn a_settled_head_lets_its_users_next_message_go() {
        let mut index = DueIndex::default();
        index.set("a", 1, Some(10));
        index.set("a", 2, Some(10));
        index.set("a", 3, Some(10));
        index.set("b", 4, Some(5));
        index.set("c", 5, Some(0));
        index.set("c", 6, Some(500)); // scheduled later
        // (now, sending, settled) → due ids
        type Case<'a> = (i64, &'a [u64], &'a [u64], &'a [u64]);
        let cases: &[Case] = &[
            (10, &[], &[], &[5, 4, 1]),
            (10, &[1], &[], &[5, 4]),
            (10, &[], &[1], &[5, 4, 2]),
            (10, &[2], &[1], &[5, 4]),
            (10, &[], &[1, 2], &[5, 4, 3]),
            (10, &[], &[1, 2, 3, 4], &[5]),
            (10, &[], &[5], &[4, 1]),
            (500, &[], &[5], &[6, 4, 1]),
            (7, &[], &[4], &[5]),
        ];
        for (now, sending, settled, want) in cases {
            assert_eq!(
                settled_ids(&index, *now, 10, sending, settled),
                *want,
                "now {now} sending {sending:?} settled {settled:?}"
            );
        }
    }

    #[test]
    fn only_each_users_head_is_due_earliest_first() {
        let mut index = DueIndex::default();
        index.set("a", 1, Some(10));
        index.set("a", 2, Some(10));
        index.set("b", 3, Some(5));
        index.set("c", 4, Some(50));
        assert_eq!(index.len(), 4);
        // (now, limit, skip) → due ids
        let cases: &[(i64, usize, &[u64], &[u64])] = &[
            (4, 10, &[], &[]),
            (5, 10, &[], &[3]),
            (10, 10, &[], &[3, 1]),
            (10, 1, &[], &[3]),
            (10, 10, &[3], &[1]),
            (100, 10, &[], &[3, 1, 4]),
        ];
        for (now, limit, skip, want) in cases {
            assert_eq!(ids(&index, *now, *limit, skip), *want, "now {now} limit {limit}");
        }
        assert_eq!(index.next_due_ms(), Some(5));
    }

    #[test]
    fn a_users_next_message_becomes_head_when_the_first_leaves() {
        let mut index = DueIndex::default();
        index.set("a", 1, Some(0));
        index.set("a", 2, Some(0));
        index.set("a", 1, None);
        assert_eq!(ids(&index, 0, 10, &[]), [2]);
        index.set("a", 2, None);
        assert!(ids(&index, i64::MAX, 10, &[]).is_empty());
        assert_eq!((index.len(), index.next_due_ms()), (0, None));
        assert!(index.users.is_empty() && index.heads.is_empty());
    }

    #[test]
    fn a_backing_off_head_holds_back_only_its_own_user() {
        let mut index = DueIndex::default();
        for id in 1..=1000 {
            index.set("a", id, Some(0));
        }
        index.set("b", 2000, Some(0));
        index.set("a", 1, Some(1_000_000)); // backing off
        assert_eq!(ids(&index, 10, 10, &[]), [2000]);
        assert_eq!(index.next_due_ms(), Some(0));
        index.set("b", 2000, None);
        assert_eq!(index.next_due_ms(), Some(1_000_000));
        // Unchanged or repeated updates keep the count right.
        index.set("a", 1, Some(1_000_000));
        index.set("b", 2000, None);
        assert_eq!(index.len(), 1000);
    }

    #[test]
    fn only_a_drained_burst_asks_for_memory_back() {
        let mut index = DueIndex::default();
        for id in 0..2000 {
            index.set(&format!("u{id}"), id, Some(0));
        }
        index.set("u0", 0, None);
        assert!(!index.take_drained(), "still waiting users");
        for id in 1..2000 {
            index.set(&format!("u{id}"), id, None);
        }
        assert!(index.take_drained(), "empty after a burst");
        assert!(!index.take_drained(), "asked once");
        index.set("small", 1, Some(0));
        index.set("small", 1, None);
        assert!(!index.take_drained(), "a small queue is no burst");
    }
}
