//! The sessions a worker thread wrote last, kept parsed beside their stored bytes.
//!
//! Parsing the stored session was the largest single cost of reading state in a turn
//! (about a tenth of a conversation worker's time). A user's events are handled by one
//! worker thread, one at a time, so the session a turn reads is nearly always the one
//! the same thread wrote a moment before. Each thread keeps those sessions with the
//! exact bytes it wrote; a read still fetches the bytes from sled and takes the cached
//! session only if they are identical. So any other write (the user withdrew, an admin,
//! another thread, a replay) is seen as a miss and parsed as before: the cache can be
//! stale, never wrong. A `Session` reads back from its JSON exactly as it was written
//! (`store/tests.rs` checks that with every field set and unset).
//!
//! A read takes the entry out (the turn owns the session and hands a new one back to
//! `Store::complete`), so nothing is cloned. At most `CAPACITY` users per thread.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::dialog::Session;

/// Users kept per thread: 4 worker threads × 256 × about 1 KB.
const CAPACITY: usize = 256;

/// A cached session and the exact bytes it was written as.
type Entry = (Box<[u8]>, Session);

thread_local! {
    static CACHE: RefCell<HashMap<Box<str>, Entry, foldhash::fast::RandomState>> =
        RefCell::new(HashMap::default());
}

/// The cached session of `user_id` if `stored` is exactly the bytes it was cached with.
/// Takes it out of the cache either way.
pub(super) fn take(user_id: &str, stored: &[u8]) -> Option<Session> {
    CACHE.with(|cache| {
        let (bytes, session) = cache.borrow_mut().remove(user_id)?;
        (*bytes == *stored).then_some(session)
    })
}

/// `session` was just written as `bytes` for `user_id` by this thread.
pub(super) fn put(user_id: &str, bytes: &[u8], session: Session) {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= CAPACITY && !cache.contains_key(user_id) {
            // Any entry will do: a miss only costs the parse it saved.
            if let Some(key) = cache.keys().next().cloned() {
                cache.remove(&key);
            }
        }
        cache.insert(user_id.into(), (bytes.into(), session));
    });
}

/// The session of `user_id` was removed or written by other means.
pub(super) fn forget(user_id: &str) {
    CACHE.with(|cache| {
        cache.borrow_mut().remove(user_id);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::UnixSecs;

    #[test]
    fn a_session_is_taken_only_against_the_bytes_it_was_written_as() {
        let session = Session::new("v1", "main", "start", UnixSecs(5));
        put("u1", b"{\"a\":1}", session.clone());
        assert_eq!(take("u1", b"{\"a\":2}"), None, "other bytes: a miss");
        assert_eq!(take("u1", b"{\"a\":1}"), None, "a miss took it out");
        put("u1", b"{\"a\":1}", session.clone());
        assert_eq!(take("u1", b"{\"a\":1}"), Some(session.clone()));
        assert_eq!(take("u1", b"{\"a\":1}"), None, "taken once");
        put("u1", b"x", session.clone());
        forget("u1");
        assert_eq!(take("u1", b"x"), None);
    }

    #[test]
    fn the_cache_holds_at_most_its_capacity() {
        let session = Session::new("v1", "main", "start", UnixSecs(5));
        for i in 0..CAPACITY * 3 {
            put(&format!("u{i}"), b"s", session.clone());
        }
        assert_eq!(CACHE.with(|c| c.borrow().len()), CAPACITY);
        let last = format!("u{}", CAPACITY * 3 - 1);
        assert_eq!(take(&last, b"s"), Some(session), "the newest is kept");
    }
}
