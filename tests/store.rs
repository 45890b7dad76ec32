//! The durable store through the safe Rust API: persistence, limits, deletes,
//! modes, durability and concurrency, against real SQLite files.

mod common;

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use attracker::{DropReason, Durability, HitKind, LogLevel, OfflineMode, Status, Tracker};
use common::{config, Drops, Logs, ManualClock, TempDir};

fn n_of(body: &Option<String>) -> u64 {
    let v: serde_json::Value = serde_json::from_str(body.as_deref().unwrap()).unwrap();
    v["n"].as_u64().unwrap()
}

#[test]
fn hits_survive_closing_and_reopening() {
    let dir = TempDir::new("reopen");
    let t = Tracker::new(config(&dir.db())).unwrap();
    t.track_event("screen_view", Some(r#"{"screen":"home"}"#), None).unwrap();
    t.send_hit("http://127.0.0.1:9/hit?s=1", "screen", None).unwrap();
    let before = t.offline_get().unwrap();
    t.close(Duration::from_secs(1)).unwrap();
    drop(t);

    let t = Tracker::new(config(&dir.db())).unwrap();
    let after = t.offline_get().unwrap();
    assert_eq!(before, after);
    assert_eq!(after[0].kind, HitKind::Event);
    assert_eq!(after[0].url, "http://127.0.0.1:9/v1/batch");
    assert_eq!(after[0].body.as_deref(), Some(r#"{"screen":"home"}"#));
    assert_eq!(after[1].kind, HitKind::Url);
    assert_eq!(after[1].url, "http://127.0.0.1:9/hit?s=1");
    assert_eq!(after[1].body, None);
}

#[test]
fn the_store_file_is_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("mode");
    let nested = dir.path().join("a/b/hits.db");
    let t = Tracker::new(config(&nested)).unwrap();
    t.track_event("e", None, None).unwrap();
    let mode = std::fs::metadata(&nested).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let wal = std::fs::metadata(dir.path().join("a/b/hits.db-wal")).unwrap().permissions().mode() & 0o777;
    assert_eq!(wal, 0o600);
    let parent = std::fs::metadata(dir.path().join("a/b")).unwrap().permissions().mode() & 0o777;
    assert_eq!(parent, 0o700);
}

#[test]
fn the_store_uses_wal_and_the_current_schema_version() {
    let dir = TempDir::new("pragmas");
    drop(Tracker::new(config(&dir.db())).unwrap());
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(version, 4);
}

#[test]
fn a_store_from_a_newer_library_is_refused_and_left_untouched() {
    let dir = TempDir::new("newer");
    drop(Tracker::new(config(&dir.db())).unwrap());
    rusqlite::Connection::open(dir.db()).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let err = Tracker::new(config(&dir.db())).err().unwrap();
    assert_eq!(err.status, Status::Storage);
    assert!(err.message.contains("newer"), "{}", err.message);
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 99);
}

#[test]
fn overflow_drops_the_oldest_and_reports_each_drop() {
    let dir = TempDir::new("overflow");
    let mut c = config(&dir.db());
    c.set_max_queue_size(10).unwrap();
    let drops = Drops::default();
    drops.attach(&mut c);
    let logs = Logs::default();
    logs.attach(&mut c);
    let t = Tracker::new(c).unwrap();
    let mut ids = Vec::new();
    for n in 0..15 {
        t.track_event("e", Some(&format!(r#"{{"n":{n}}}"#)), None).unwrap();
        ids.push(t.offline_latest().unwrap().unwrap().message_id);
    }
    let kept: Vec<u64> = t.offline_get().unwrap().iter().map(|h| n_of(&h.body)).collect();
    assert_eq!(kept, (5..15).collect::<Vec<_>>());
    assert_eq!(t.stats().unwrap().dropped_overflow, 5);
    t.close(Duration::from_secs(1)).unwrap();
    assert_eq!(drops.ids(DropReason::Overflow), ids[..5].to_vec());
    assert!(logs.wait_for(LogLevel::Warn, "queue is full").is_some());
}

#[test]
fn the_byte_cap_drops_the_oldest_too() {
    let dir = TempDir::new("bytecap");
    let mut c = config(&dir.db());
    c.set_max_store_bytes(64 * 1024).unwrap();
    let t = Tracker::new(c).unwrap();
    let pad = "x".repeat(4000);
    for n in 0..40 {
        t.track_event("e", Some(&format!(r#"{{"n":{n},"pad":"{pad}"}}"#)), None).unwrap();
    }
    let kept: Vec<u64> = t.offline_get().unwrap().iter().map(|h| n_of(&h.body)).collect();
    assert!(kept.len() < 40 && kept.len() >= 14, "kept {}", kept.len());
    assert_eq!(*kept.last().unwrap(), 39, "the newest hit is kept");
    assert_eq!(kept, (40 - kept.len() as u64..40).collect::<Vec<_>>(), "only the oldest go");
}

#[test]
fn delete_variants_remove_exactly_what_they_name() {
    const DAY: i64 = 86_400_000;
    let dir = TempDir::new("delete");
    let clock = ManualClock::at(100 * DAY);
    let t = Tracker::with_clock(config(&dir.db()), clock.clone()).unwrap();
    for day in [90, 95, 97, 99, 100] {
        clock.set(day * DAY);
        t.track_event("e", Some(&format!(r#"{{"n":{day}}}"#)), None).unwrap();
    }
    clock.set(100 * DAY);
    assert_eq!(t.offline_delete_older_than_days(6).unwrap(), 1, "day 90 is older than 6 days");
    assert_eq!(t.offline_delete_older_than(97 * DAY).unwrap(), 1, "day 95 only; day 97 is not before");
    assert_eq!(t.offline_delete_older_than_days(0).unwrap(), 2, "days 97 and 99");
    let left: Vec<u64> = t.offline_get().unwrap().iter().map(|h| n_of(&h.body)).collect();
    assert_eq!(left, vec![100]);
    assert_eq!(t.offline_delete().unwrap(), 1);
    assert_eq!(t.offline_count().unwrap(), 0);
    assert_eq!(t.offline_delete().unwrap(), 0);
    assert_eq!(t.stats().unwrap().deleted, 5);
}

#[test]
fn paging_walks_the_queue_in_store_order_and_ids_are_never_reused() {
    let dir = TempDir::new("paging");
    let t = Tracker::new(config(&dir.db())).unwrap();
    for n in 0..25 {
        t.track_event("e", Some(&format!(r#"{{"n":{n}}}"#)), None).unwrap();
    }
    let mut after = 0;
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    loop {
        let page = t.offline_get_page(after, 10).unwrap();
        sizes.push(page.len());
        if page.is_empty() {
            break;
        }
        after = page.last().unwrap().id;
        seen.extend(page.iter().map(|h| n_of(&h.body)));
    }
    assert_eq!(sizes, vec![10, 10, 5, 0]);
    assert_eq!(seen, (0..25).collect::<Vec<_>>());
    assert_eq!(t.offline_get_page(0, 0).unwrap_err().status, Status::InvalidArgument);
    assert!(t.offline_get_page(u64::MAX, 10).unwrap().is_empty(), "a cursor past every id is the end");

    let last_id = t.offline_latest().unwrap().unwrap().id;
    t.offline_delete().unwrap();
    t.track_event("e", None, None).unwrap();
    assert!(t.offline_oldest().unwrap().unwrap().id > last_id, "AUTOINCREMENT: ids only grow");
}

#[test]
fn oldest_and_latest_are_none_on_an_empty_store() {
    let dir = TempDir::new("empty");
    let t = Tracker::new(config(&dir.db())).unwrap();
    assert_eq!(t.offline_oldest().unwrap(), None);
    assert_eq!(t.offline_latest().unwrap(), None);
    assert_eq!(t.offline_count().unwrap(), 0);
    assert!(t.offline_get().unwrap().is_empty());
}

#[test]
fn never_mode_writes_no_hit_to_disk_and_drops_what_cannot_be_sent() {
    let dir = TempDir::new("never");
    let mut c = config(&dir.db());
    c.set_offline_mode(OfflineMode::Never);
    let drops = Drops::default();
    drops.attach(&mut c);
    let t = Tracker::new(c).unwrap();
    t.set_network_reachable(false).unwrap();
    for _ in 0..5 {
        t.track_event("e", None, None).unwrap();
    }
    assert_eq!(t.offline_count().unwrap(), 0);
    t.close(Duration::from_secs(1)).unwrap();
    assert_eq!(
        drops.ids(DropReason::Unreachable).len(),
        5,
        "unreachable memory-only hits are dropped, reported"
    );
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM hits", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn always_mode_and_unreachable_network_mark_hits_offline() {
    let dir = TempDir::new("offline-flag");
    let mut c = config(&dir.db());
    c.set_offline_mode(OfflineMode::Required);
    let t = Tracker::new(c).unwrap();
    t.track_event("online", None, None).unwrap();
    t.set_network_reachable(false).unwrap();
    t.track_event("unreachable", None, None).unwrap();
    let (tx, rx) = mpsc::channel();
    t.set_offline_mode(OfflineMode::Always, Some(Box::new(move |r| tx.send(r).unwrap()))).unwrap();
    assert!(rx.recv_timeout(Duration::from_secs(5)).unwrap().is_ok());
    // Back online in ALWAYS mode: nothing is sent, so the flags stay as tracked.
    t.set_network_reachable(true).unwrap();
    assert_eq!(t.offline_mode().unwrap(), OfflineMode::Always);
    t.track_event("always", None, None).unwrap();
    let flags: Vec<(String, bool)> =
        t.offline_get().unwrap().into_iter().map(|h| (h.hit_type, h.is_offline)).collect();
    assert_eq!(flags, vec![("online".into(), false), ("unreachable".into(), true), ("always".into(), true)]);
}

#[test]
fn the_tracking_gate_suppresses_and_buffers_nothing() {
    let dir = TempDir::new("gate");
    let t = Tracker::new(config(&dir.db())).unwrap();
    t.set_tracking_enabled(false).unwrap();
    assert_eq!(t.track_event("e", None, None).unwrap_err().status, Status::Suppressed);
    assert_eq!(t.send_hit("http://127.0.0.1:9/x", "", None).unwrap_err().status, Status::Suppressed);
    assert_eq!(t.offline_count().unwrap(), 0);
    assert_eq!(t.stats().unwrap().queued, 0);
    t.set_tracking_enabled(true).unwrap();
    t.track_event("e", None, None).unwrap();
    assert_eq!(t.offline_count().unwrap(), 1);
}

#[test]
fn queued_is_exact_the_moment_a_call_returns() {
    let dir = TempDir::new("queued");
    let t = Tracker::new(config(&dir.db())).unwrap();
    for _ in 0..300 {
        t.track_event("e", None, None).unwrap();
        assert_eq!(t.stats().unwrap().queued, 1);
        assert_eq!(t.offline_delete().unwrap(), 1);
        assert_eq!(t.stats().unwrap().queued, 0);
    }
}

#[test]
fn a_completion_runs_once_after_the_commit_and_not_on_rejection() {
    let dir = TempDir::new("completion");
    let t = Tracker::new(config(&dir.db())).unwrap();
    let (tx, rx) = mpsc::channel();
    let caller = std::thread::current().id();
    let tx2 = tx.clone();
    t.track_event("e", None, Some(Box::new(move |r| tx2.send((r, std::thread::current().id())).unwrap())))
        .unwrap();
    let (r, thread) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(r.is_ok());
    assert_ne!(thread, caller, "completions run on the callback thread");
    let tx3 = tx.clone();
    let err = t.track_event("e", Some("[1]"), Some(Box::new(move |r| tx3.send((r, caller)).unwrap())));
    assert_eq!(err.unwrap_err().status, Status::InvalidArgument);
    t.close(Duration::from_secs(1)).unwrap();
    assert!(rx.try_recv().is_err(), "no callback for a rejected call, none twice");
}

#[test]
fn batched_durability_commits_within_the_window_and_sync_waits_for_it() {
    let dir = TempDir::new("batched");
    let mut c = config(&dir.db());
    c.set_durability(Durability::Batched);
    c.set_commit_window_ms(50).unwrap();
    c.set_max_queue_size(5000).unwrap();
    let t = Tracker::new(c).unwrap();
    for n in 0..1000 {
        t.track_event("e", Some(&format!(r#"{{"n":{n}}}"#)), None).unwrap();
    }
    t.sync().unwrap();
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM hits", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1000, "sync returned: everything is committed for another connection to see");
    t.track_event("late", None, None).unwrap();
    std::thread::sleep(Duration::from_millis(400));

    let n: i64 = conn.query_row("SELECT count(*) FROM hits", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1001, "committed within the window without a sync");
}

#[test]
fn inspection_sees_every_batched_hit_accepted_before_it() {
    let dir = TempDir::new("settle");
    let mut c = config(&dir.db());
    c.set_durability(Durability::Batched);
    c.set_commit_window_ms(1000).unwrap();
    let t = Tracker::new(c).unwrap();
    for _ in 0..7 {
        t.track_event("e", None, None).unwrap();
    }
    assert_eq!(t.offline_count().unwrap(), 7);
}

#[test]
fn close_commits_everything_accepted_and_later_calls_are_closed() {
    let dir = TempDir::new("close");
    let mut c = config(&dir.db());
    c.set_durability(Durability::Batched);
    c.set_commit_window_ms(1000).unwrap();
    let t = Tracker::new(c).unwrap();
    for _ in 0..300 {
        t.track_event("e", None, None).unwrap();
    }
    t.close(Duration::from_secs(2)).unwrap();
    assert_eq!(t.track_event("e", None, None).unwrap_err().status, Status::Closed);
    assert_eq!(t.offline_count().unwrap_err().status, Status::Closed);
    assert_eq!(t.close(Duration::ZERO).unwrap_err().status, Status::Closed);
    assert_eq!(t.offline_mode().unwrap_err().status, Status::Closed);
    drop(t);
    let t = Tracker::new(config(&dir.db())).unwrap();
    assert_eq!(t.offline_count().unwrap(), 300);
}

#[test]
fn eight_threads_tracking_at_once_lose_nothing_and_duplicate_nothing() {
    for durability in [Durability::OnReturn, Durability::Batched] {
        let dir = TempDir::new("threads");
        let mut c = config(&dir.db());
        c.set_durability(durability);
        c.set_max_queue_size(100_000).unwrap();
        c.set_max_store_bytes(1 << 30).unwrap();
        let t = Arc::new(Tracker::new(c).unwrap());
        let handles: Vec<_> = (0..8)
            .map(|thread| {
                let t = Arc::clone(&t);
                std::thread::spawn(move || {
                    for i in 0..500 {
                        t.track_event("e", Some(&format!(r#"{{"t":{thread},"i":{i}}}"#)), None).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let hits = t.offline_get().unwrap();
        assert_eq!(hits.len(), 4000, "{durability:?}");
        let ids: HashSet<u64> = hits.iter().map(|h| h.id).collect();
        let mids: HashSet<&str> = hits.iter().map(|h| h.message_id.as_str()).collect();
        let bodies: HashSet<&str> = hits.iter().map(|h| h.body.as_deref().unwrap()).collect();
        assert_eq!((ids.len(), mids.len(), bodies.len()), (4000, 4000, 4000), "{durability:?}");
        // Each thread's hits are stored in the order it tracked them.
        for thread in 0..8 {
            let order: Vec<u64> = hits
                .iter()
                .filter_map(|h| {
                    let v: serde_json::Value = serde_json::from_str(h.body.as_deref().unwrap()).unwrap();
                    (v["t"] == thread).then(|| v["i"].as_u64().unwrap())
                })
                .collect();
            assert_eq!(order, (0..500).collect::<Vec<_>>());
        }
    }
}

#[test]
fn a_missing_file_is_a_new_store_without_warning() {
    let dir = TempDir::new("fresh");
    let mut c = config(&dir.db());
    let logs = Logs::default();
    logs.attach(&mut c);
    let t = Tracker::new(c).unwrap();
    assert!(t.open_report().salvage.is_none());
    t.close(Duration::from_secs(1)).unwrap();
    assert!(logs.find(LogLevel::Warn, "").is_none(), "no warning for a missing file");
}

#[test]
fn missing_storage_path_or_endpoint_is_named() {
    let mut c = attracker::Config::new();
    let err = Tracker::new(c.clone()).err().unwrap();
    assert_eq!(err.status, Status::InvalidArgument);
    assert!(err.message.contains("storage path") && err.message.contains("endpoint"), "{}", err.message);
    c.set_storage_path("/tmp/x.db").unwrap();
    let err = Tracker::new(c).err().unwrap();
    assert!(!err.message.contains("storage path") && err.message.contains("endpoint"), "{}", err.message);
}
