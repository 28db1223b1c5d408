use serde_json::json;

use super::*;
use crate::calendar::UnixMs;

/// A text message as the outbox stores it.
fn msg(text: impl Into<String>) -> RawJson {
    RawJson::new(&json!({ "text": text.into() }))
}

fn entry(key: &str, user: &str) -> InboxEntry {
    InboxEntry {
        dedupe_key: key.into(),
        user_id: user.into(),
        event: json!({"name": "user_send_text"}).into(),
        received_at_ms: 1_000,
        failure: None,
    }
}

#[tokio::test]
async fn ingest_dedupes_and_keeps_arrival_order() {
    let store = Store::temporary().unwrap();
    let a = store.ingest(&entry("m1", "u1")).unwrap();
    let dup = store.ingest(&entry("m1", "u1")).unwrap();
    let b = store.ingest(&entry("m2", "u2")).unwrap();
    store.flush().await.unwrap();
    assert!(matches!(a, IngestOutcome::Accepted { .. }));
    assert_eq!(dup, IngestOutcome::Duplicate);
    assert!(matches!(b, IngestOutcome::Accepted { .. }));
    let pending: Vec<String> =
        store.inbox_pending().unwrap().into_iter().map(|(_, e)| e.dedupe_key).collect();
    assert_eq!(pending, ["m1", "m2"]);
}

fn session(node: &str) -> crate::dialog::Session {
    crate::dialog::Session::new("v1", "menu", node, crate::calendar::UnixSecs(1))
}

#[test]
fn a_session_that_no_longer_parses_reads_as_none() {
    let store = Store::temporary().unwrap();
    store.sessions.insert("u1", br#"{"node": "a"}"#.as_slice()).unwrap();
    assert_eq!(store.session("u1").unwrap(), None);
}

/// The session cache (`session_cache.rs`) hands back the session it wrote instead of
/// parsing the stored bytes, which is right only if a session reads back from its JSON
/// exactly as it was: every field, the optional ones set and unset.
#[test]
fn a_session_reads_back_from_its_json_exactly_as_written() {
    use crate::dialog::Position;
    let pos = |d: &str, n: &str| Position { dialog: d.into(), node: n.into() };
    let mut full = session("a");
    full.history = vec![pos("menu", "start"), pos("dvc", "b\"c")];
    full.answers.insert("ten".into(), "Nguyễn Văn A".into());
    full.retries = 2;
    full.pending = vec![pos("dvc", "x"), pos("tt", "y")];
    for s in [session("a"), full] {
        let json = to_json(&s);
        assert_eq!(from_json::<crate::dialog::Session>(keys::SESSIONS, &json).unwrap(), s);
    }
}

#[test]
fn a_session_written_by_other_means_is_read_from_the_store_not_the_cache() {
    let store = Store::temporary().unwrap();
    let step = |seq_key: &str, update| {
        let IngestOutcome::Accepted { seq } = store.ingest(&entry(seq_key, "u1")).unwrap() else {
            panic!("accepted")
        };
        store.complete(seq, "u1", update, None, &[], UnixMs(10)).unwrap();
    };
    step("m1", SessionUpdate::Set(session("a")));
    assert_eq!(store.session("u1").unwrap(), Some(session("a")), "the cached one");
    step("m2", SessionUpdate::Set(session("b")));
    store.sessions.insert("u1", to_json(&session("other"))).unwrap();
    assert_eq!(store.session("u1").unwrap(), Some(session("other")), "another writer");
    step("m3", SessionUpdate::Set(session("c")));
    store.sessions.remove("u1").unwrap();
    assert_eq!(store.session("u1").unwrap(), None, "removed");
    step("m4", SessionUpdate::Set(session("d")));
    step("m5", SessionUpdate::Clear);
    assert_eq!(store.session("u1").unwrap(), None, "cleared");
}

#[test]
fn complete_is_atomic_and_queues_messages_in_order() {
    let store = Store::temporary().unwrap();
    let IngestOutcome::Accepted { seq } = store.ingest(&entry("m1", "u1")).unwrap() else {
        panic!("accepted")
    };
    let user = UserRecord { last_interaction_ms: 5, reachable: true };
    let ids = store
        .complete(
            seq,
            "u1",
            SessionUpdate::Set(session("a")),
            Some(&user),
            &[msg("1"), msg("2")],
            UnixMs(10),
        )
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert!(store.inbox_pending().unwrap().is_empty());
    assert_eq!(store.session("u1").unwrap(), Some(session("a")));
    assert_eq!(store.user("u1").unwrap(), Some(user));
    let due = store.outbox_due(UnixMs(10), 10).unwrap();
    assert_eq!(due.len(), 1, "one message per user at a time");
    assert_eq!(due[0].message.value(), json!({"text": "1"}));
}

#[tokio::test]
async fn a_journaled_step_is_published_and_the_sender_woken_once_its_line_is_synced() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let wake = store.sender_wake();
    let IngestOutcome::Accepted { seq } = store.ingest_durable(&entry("m1", "u1")).await.unwrap()
    else {
        panic!("accepted")
    };
    // The worker's call returns without waiting for the journal's sync.
    let ids =
        store.complete(seq, "u1", SessionUpdate::Keep, None, &[msg("1")], UnixMs(10)).unwrap();
    assert!(store.inbox_pending().unwrap().is_empty(), "the step is in sled at once");
    // The journal thread publishes the reply once the line is on disk, and wakes the
    // sender (a permit is stored if it was not waiting yet).
    tokio::time::timeout(std::time::Duration::from_secs(5), wake.notified())
        .await
        .expect("the sender is woken for the step's reply");
    let due = store.outbox_due(UnixMs(10), 10).unwrap();
    assert_eq!(due.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    // A step with no replies wakes nobody.
    let seq = accepted(&store, "m2", "u1");
    store.complete(seq, "u1", SessionUpdate::Keep, None, &[], UnixMs(11)).unwrap();
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), wake.notified());
    assert!(quiet.await.is_err(), "no reply, no wake-up");
}

#[test]
fn a_step_outside_the_journal_never_overtakes_the_same_users_earlier_reply() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let first = accepted(&store, "m1", "u1");
    store.complete(first, "u1", SessionUpdate::Keep, None, &[msg("1")], UnixMs(10)).unwrap();
    // A report or hand-off write on this worker makes the next step a sled transaction,
    // published at once, while the first step's line may still wait for its sync.
    let second = accepted(&store, "m2", "u1");
    store.note_unflushed_write();
    store.complete(second, "u1", SessionUpdate::Keep, None, &[msg("2")], UnixMs(11)).unwrap();
    let due = store.outbox_due(UnixMs(20), 10).unwrap();
    let texts: Vec<_> = due.iter().map(|e| e.message.text()).collect();
    assert_eq!(texts, [Some("1".to_owned())], "the user's first reply is at the head");
    assert_eq!(store.outbox_pending_count(), 2);
}

/// Ingests a fresh event and returns its inbox sequence number.
fn accepted(store: &Store, key: &str, user: &str) -> u64 {
    match store.ingest(&entry(key, user)).unwrap() {
        IngestOutcome::Accepted { seq } => seq,
        other => panic!("not accepted: {other:?}"),
    }
}

#[test]
fn last_reachable_interaction_hides_users_zalo_refused() {
    let store = Store::temporary().unwrap();
    let seq = accepted(&store, "m1", "u1");
    let user = UserRecord { last_interaction_ms: 7_000, reachable: true };
    store.complete(seq, "u1", SessionUpdate::Keep, Some(&user), &[], UnixMs(10)).unwrap();
    assert_eq!(store.last_reachable_interaction("u1").unwrap(), Some(crate::calendar::UnixSecs(7)));
    assert_eq!(store.last_reachable_interaction("never-seen").unwrap(), None);
    store.set_unreachable("u1").unwrap();
    assert_eq!(store.last_reachable_interaction("u1").unwrap(), None);
}

#[test]
fn outbox_due_serves_users_in_parallel_and_respects_backoff() {
    let store = Store::temporary().unwrap();
    store.enqueue_once("k1", "u1", &[msg("a1"), msg("a2")], UnixMs(0)).unwrap();
    store.enqueue_once("k2", "u2", &[msg("b1")], UnixMs(0)).unwrap();
    let due = store.outbox_due(UnixMs(0), 10).unwrap();
    let texts: Vec<_> = due.iter().map(|e| e.message.value()["text"].clone()).collect();
    assert_eq!(texts, [json!("a1"), json!("b1")]);
    // Back off u1's first message: its second must wait too.
    let mut first = due[0].clone();
    first.next_attempt_ms = 100;
    first.attempts = 1;
    store.outbox_save(&first).unwrap();
    let due = store.outbox_due(UnixMs(50), 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].user_id, "u2");
    assert_eq!(store.outbox_next_due_ms().unwrap(), Some(0));
    // Once u2 is served, the next wake-up is u1's backoff, not u1's second message
    // (which waits behind the first).
    let mut second = due[0].clone();
    second.status = OutboxStatus::Sent;
    store.outbox_save(&second).unwrap();
    assert_eq!(store.outbox_next_due_ms().unwrap(), Some(100));
}

#[test]
fn enqueue_once_never_queues_twice() {
    let store = Store::temporary().unwrap();
    assert!(store.enqueue_once("reminder:t1:2026-10", "u1", &[msg("x")], UnixMs(0)).unwrap());
    assert!(!store.enqueue_once("reminder:t1:2026-10", "u1", &[msg("x")], UnixMs(0)).unwrap());
    assert_eq!(store.outbox_list(OutboxFilter::default(), 10).unwrap().len(), 1);
}

#[test]
fn failed_entries_are_listed_and_can_be_retried() {
    let store = Store::temporary().unwrap();
    store.enqueue_once("k", "u1", &[msg("x")], UnixMs(0)).unwrap();
    let mut e = store.outbox_due(UnixMs(0), 1).unwrap().remove(0);
    e.status = OutboxStatus::Failed;
    e.last_error = Some(SendError { code: -213, message: "User has not followed OA".into() });
    store.outbox_save(&e).unwrap();
    assert!(store.outbox_due(UnixMs(0), 10).unwrap().is_empty());
    let failed =
        store.outbox_list(OutboxFilter { status: Some(OutboxStatus::Failed) }, 10).unwrap();
    assert_eq!(failed.len(), 1);
    let retried = store.outbox_retry(e.id, UnixMs(7)).unwrap();
    assert_eq!(retried.status, OutboxStatus::Pending);
    assert_eq!(store.outbox_due(UnixMs(7), 10).unwrap().len(), 1);
    assert!(matches!(store.outbox_retry(999_999, UnixMs(0)), Err(StoreError::NotFound)));
}

#[test]
fn forget_user_removes_session_record_and_unsent_messages() {
    let store = Store::temporary().unwrap();
    let IngestOutcome::Accepted { seq } = store.ingest(&entry("m1", "u1")).unwrap() else {
        panic!()
    };
    store
        .complete(
            seq,
            "u1",
            SessionUpdate::Set(session("a")),
            Some(&UserRecord::default()),
            &[msg("x")],
            UnixMs(0),
        )
        .unwrap();
    let IngestOutcome::Accepted { seq } = store.ingest(&entry("w1", "u1")).unwrap() else {
        panic!()
    };
    assert_eq!(store.forget_user(seq, "u1").unwrap(), 1);
    assert_eq!(store.session("u1").unwrap(), None);
    assert_eq!(store.user("u1").unwrap(), None);
    assert!(store.outbox_due(UnixMs(0), 10).unwrap().is_empty());
}

#[test]
fn prune_drops_old_marks_but_keeps_recent_ones() {
    let store = Store::temporary().unwrap();
    store.ingest(&entry("old", "u1")).unwrap();
    let mut recent = entry("new", "u1");
    recent.received_at_ms = 100_000;
    store.ingest(&recent).unwrap();
    let retention = super::prune::Retention { dedupe_ms: 10_000, sent_ms: 0, failed_ms: 0 };
    let pruned = store.prune_all(UnixMs(100_500), retention).unwrap();
    assert_eq!(pruned.marks, 1);
    assert_eq!(store.ingest(&recent).unwrap(), IngestOutcome::Duplicate);
}

#[test]
fn token_pair_debug_is_redacted() {
    let t = TokenPair {
        access_token: "AAA".into(),
        refresh_token: "RRR".into(),
        expires_at: None,
        issued_at: crate::calendar::UnixSecs(0),
    };
    let s = format!("{t:?}");
    assert!(!s.contains("AAA") && !s.contains("RRR"));
}

#[test]
fn a_backing_off_user_never_delays_other_users_however_many_wait_behind_it() {
    let store = Store::temporary().unwrap();
    // u0 has 5,000 messages queued, the first backing off; they all sort before u1's.
    let many: Vec<_> = (0..5_000).map(|i| msg(format!("m{i}"))).collect();
    store.enqueue_once("k0", "u0", &many, UnixMs(0)).unwrap();
    store.enqueue_once("k1", "u1", &[msg("b1")], UnixMs(0)).unwrap();
    let mut head = store.outbox_due(UnixMs(0), 1).unwrap().remove(0);
    assert_eq!(head.user_id, "u0");
    head.next_attempt_ms = 1_000_000;
    store.outbox_save(&head).unwrap();
    let due = store.outbox_due(UnixMs(10), 8).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].user_id, "u1");
}

#[test]
fn due_scan_serves_the_earliest_first_and_passes_over_sends_in_flight() {
    let store = Store::temporary().unwrap();
    for u in [3, 1, 0, 2, 5, 4] {
        let at = UnixMs(10 - u);
        store.enqueue_once(&format!("k{u}"), &format!("u{u}"), &[msg("x")], at).unwrap();
    }
    let users = |due: Vec<OutboxEntry>| due.into_iter().map(|e| e.user_id).collect::<Vec<_>>();
    let first = store.outbox_due(UnixMs(10), 4).unwrap();
    let in_flight = first.iter().map(|e| e.id).collect();
    assert_eq!(users(first), ["u5", "u4", "u3", "u2"], "earliest due first");
    let second = store.outbox_due_except(UnixMs(10), 4, &in_flight, &Default::default()).unwrap();
    assert_eq!(users(second), ["u1", "u0"], "the ones being sent are passed over");
    assert_eq!(users(store.outbox_due(UnixMs(7), 10).unwrap()), ["u5", "u4", "u3"]);
}

/// Opens the store again once the previous handle's threads have let go of sled's lock.
fn reopen(path: &std::path::Path) -> Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Store::open(path) {
            Ok(store) => return store,
            Err(e) if std::time::Instant::now() > deadline => panic!("reopen: {e}"),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}

#[test]
fn a_store_with_the_old_pending_index_is_migrated_to_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let store = Store::open(&path).unwrap();
        store.enqueue_once("k", "u1", &[msg("a")], UnixMs(5)).unwrap();
        let id = store.outbox_due(UnixMs(5), 1).unwrap()[0].id;
        // As an old version left it: the pending index only.
        store.outbox_queue.clear().unwrap();
        let old = store.db.open_tree(keys::OUTBOX_PENDING).unwrap();
        let mut value = 5i64.to_be_bytes().to_vec();
        value.extend_from_slice(b"u1");
        old.insert(u64_key(id), value).unwrap();
        store.flush_blocking().unwrap();
    }
    let store = reopen(&path);
    assert_eq!(store.outbox_due(UnixMs(5), 10).unwrap().len(), 1);
    assert_eq!(store.outbox_pending_count(), 1);
    assert!(!store.db.tree_names().iter().any(|n| n.as_ref() == keys::OUTBOX_PENDING.as_bytes()));
}

#[test]
fn the_due_index_is_rebuilt_from_the_store_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let store = Store::open(&path).unwrap();
        store.enqueue_once("k", "u1", &[msg("a"), msg("b")], UnixMs(5)).unwrap();
        store.enqueue_once("k2", "u2", &[msg("c")], UnixMs(9)).unwrap();
        let mut sent = store.outbox_due(UnixMs(5), 1).unwrap().remove(0);
        sent.status = OutboxStatus::Sent;
        store.outbox_save(&sent).unwrap();
        store.flush_blocking().unwrap();
    }
    let store = reopen(&path);
    assert_eq!(store.outbox_pending_count(), 2);
    assert_eq!(store.outbox_next_due_ms().unwrap(), Some(5));
    let texts: Vec<_> =
        store.outbox_due(UnixMs(9), 10).unwrap().into_iter().map(|e| e.message.value()).collect();
    assert_eq!(texts, [json!({"text": "b"}), json!({"text": "c"})]);
}

#[test]
fn a_stale_index_entry_never_resends_a_sent_message() {
    let store = Store::temporary().unwrap();
    store.enqueue_once("k", "u1", &[msg("a"), msg("b")], UnixMs(0)).unwrap();
    let mut sent = store.outbox_due(UnixMs(0), 1).unwrap().remove(0);
    sent.status = OutboxStatus::Sent;
    // A crash between two separate writes used to leave the index behind: simulate it.
    store.outbox.insert(u64_key(sent.id), to_json(&sent)).unwrap();
    let due = store.outbox_due(UnixMs(0), 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        due[0].message.value(),
        json!({"text": "b"}),
        "the sent one is skipped and unindexed"
    );
    assert!(store.outbox_queue.get(outbox::queue_key("u1", sent.id)).unwrap().is_none());
    assert_eq!(store.outbox_pending_count(), 1);
}

#[test]
fn outbox_save_changes_entry_and_indexes_together() {
    let store = Store::temporary().unwrap();
    store.enqueue_once("k", "u1", &[msg("a")], UnixMs(0)).unwrap();
    let mut e = store.outbox_due(UnixMs(0), 1).unwrap().remove(0);
    assert_eq!(store.outbox_queue.len(), 1);
    e.status = OutboxStatus::Sent;
    store.outbox_save(&e).unwrap();
    assert!(store.outbox_queue.is_empty());
    assert_eq!(store.outbox_pending_count(), 0);
    // An entry removed meanwhile (user withdrew) is not brought back by a late result.
    store.outbox.remove(u64_key(e.id)).unwrap();
    store.outbox_save(&e).unwrap();
    assert!(store.outbox_get(e.id).unwrap().is_none());
}

#[test]
fn forget_user_leaves_no_trace_in_any_tree() {
    let store = Store::temporary().unwrap();
    let user = "7712345678901234567";
    let text = "số điện thoại của tôi 0912345678";
    let mut e = entry("m1", user);
    e.event = json!({"text": text}).into();
    let IngestOutcome::Accepted { seq: dead_seq } = store.ingest(&e).unwrap() else { panic!() };
    store.inbox_bury(dead_seq, "boom").unwrap();
    let IngestOutcome::Accepted { seq } = store.ingest(&entry("m2", user)).unwrap() else {
        panic!()
    };
    let record = UserRecord { last_interaction_ms: 1, reachable: true };
    store
        .complete(
            seq,
            user,
            SessionUpdate::Set(session("n")),
            Some(&record),
            &[msg(text)],
            UnixMs(1),
        )
        .unwrap();
    let mut sent = store.outbox_due(UnixMs(1), 1).unwrap().remove(0);
    sent.status = OutboxStatus::Sent;
    store.outbox_save(&sent).unwrap();
    store
        .enqueue_once(&format!("rem:r:2026-06:due:{user}"), user, &[msg(text)], UnixMs(1))
        .unwrap();
    let IngestOutcome::Accepted { seq } = store.ingest(&entry("m3", user)).unwrap() else {
        panic!()
    };
    store.forget_user(seq, user).unwrap();
    for name in store.db.tree_names() {
        let tree = store.db.open_tree(&name).unwrap();
        for item in tree.iter() {
            let (k, v) = item.unwrap();
            for bytes in [&k[..], &v[..]] {
                let hay = String::from_utf8_lossy(bytes);
                assert!(
                    !hay.contains(user) && !hay.contains(text),
                    "tree {:?} still holds the user: {hay}",
                    String::from_utf8_lossy(&name)
                );
            }
        }
    }
}

#[test]
fn outbox_pages_newest_first_with_a_total() {
    let store = Store::temporary().unwrap();
    let messages: Vec<_> = (0..7).map(|i| msg(format!("m{i}"))).collect();
    store.enqueue_once("k", "u1", &messages, UnixMs(0)).unwrap();
    let (page, total) = store.outbox_page(OutboxFilter::default(), 2, 3).unwrap();
    assert_eq!(total, 7);
    let texts: Vec<_> = page.iter().map(|e| e.message.value()["text"].clone()).collect();
    assert_eq!(texts, [json!("m4"), json!("m3"), json!("m2")]);
    let (page, total) = store.outbox_page(OutboxFilter::default(), 6, 3).unwrap();
    assert_eq!((page.len(), total), (1, 7));
}

/// A re-delivery is a duplicate at every stage of its first copy: waiting in the inbox
/// (no `seen` mark yet, `pending.rs`), after a restart, and once it left the inbox by
/// its step, a burial or a withdrawal, each of which leaves the mark.
#[tokio::test]
async fn a_redelivery_is_a_duplicate_while_waiting_after_a_restart_and_once_handled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let durable = |store: &Store, key: &str| {
        let (store, entry) = (store.clone(), entry(key, "u1"));
        async move { store.ingest_durable(&entry).await.unwrap() }
    };
    let (stepped, buried, withdrawn) = {
        let store = Store::open(&path).unwrap();
        let mut seqs = Vec::new();
        for key in ["m:step", "m:bury", "m:withdraw"] {
            let IngestOutcome::Accepted { seq } = durable(&store, key).await else {
                panic!("{key} accepted")
            };
            assert_eq!(durable(&store, key).await, IngestOutcome::Duplicate, "{key} waiting");
            assert!(store.seen.get(key).unwrap().is_none(), "the mark comes as it leaves");
            seqs.push(seq);
        }
        (seqs[0], seqs[1], seqs[2])
    };
    // The journal was not checkpointed into a flushed sled before this: a restart
    // replays it and the waiting events hold their keys again.
    let store = reopen(&path);
    assert_eq!(store.inbox_pending().unwrap().len(), 3);
    for key in ["m:step", "m:bury", "m:withdraw"] {
        assert_eq!(durable(&store, key).await, IngestOutcome::Duplicate, "{key} after restart");
    }
    store.complete(stepped, "u1", SessionUpdate::Keep, None, &[], UnixMs(10)).unwrap();
    store.inbox_bury(buried, "keeps failing").unwrap();
    store.forget_user(withdrawn, "u1").unwrap();
    assert!(store.inbox_pending().unwrap().is_empty());
    assert_eq!(store.pending.len(), 0, "every key handed over to `seen`");
    for key in ["m:step", "m:bury", "m:withdraw"] {
        assert_eq!(&*store.seen.get(key).unwrap().unwrap(), &1_000i64.to_be_bytes(), "{key}");
        assert_eq!(durable(&store, key).await, IngestOutcome::Duplicate, "{key} handled");
    }
    assert!(matches!(durable(&store, "m:new").await, IngestOutcome::Accepted { .. }));
}

/// The pipeline's worker gets an event as soon as it is in the inbox, before its journal
/// line is synced (`Store::ingest_durable_then`): the key is held by then, so a
/// re-delivery meanwhile is a duplicate, and a step made at once survives a restart
/// with the event handled exactly once.
#[tokio::test]
async fn an_event_is_handed_over_from_the_inbox_before_its_sync_and_handled_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let (replies, seq) = {
        let store = Store::open(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let probe = store.clone();
        let then: OnRecorded = Box::new(move |seq, entry| {
            let in_inbox = probe.inbox.contains_key(u64_key(seq)).unwrap();
            let held = probe.pending.mark(seq).map(|mark| mark.key);
            tx.send((seq, entry.dedupe_key, in_inbox, held)).unwrap();
        });
        let outcome = store.ingest_durable_then(entry("m1", "u1"), Some(then)).await.unwrap();
        let IngestOutcome::Accepted { seq } = outcome else { panic!("accepted") };
        let handed = rx.try_recv().expect("handed over before the answer");
        assert_eq!(handed, (seq, "m1".to_owned(), true, Some("m1".to_owned())));
        assert!(rx.try_recv().is_err(), "handed over once");
        assert_eq!(
            store.ingest_durable(&entry("m1", "u1")).await.unwrap(),
            IngestOutcome::Duplicate
        );
        let replies =
            store.complete(seq, "u1", SessionUpdate::Keep, None, &[msg("a")], UnixMs(10)).unwrap();
        store.journal.as_ref().unwrap().wait_for_queued_lines().unwrap();
        (replies, seq)
    };
    let store = reopen(&path);
    assert!(store.inbox_pending().unwrap().is_empty(), "event {seq} not handled again");
    let due = store.outbox_due(UnixMs(10), 10).unwrap();
    assert_eq!(due.iter().map(|e| e.id).collect::<Vec<_>>(), replies);
    assert_eq!(store.ingest_durable(&entry("m1", "u1")).await.unwrap(), IngestOutcome::Duplicate);
}
