//! Visitor identity, opting out, and time integrity, against real stores and the
//! test collector.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use attracker::{Config, DropReason, Durability, OfflineMode, OptOutPolicy, Status, Tracker};
use common::collector::{Collector, Fault};
use common::{collector_config, dispatch, Drops, TempDir, WAIT};

/// `collector_config` with room for a million hits and 1 GiB: the purge
/// tests track in bulk from several threads.
fn roomy_config(dir: &TempDir, c: &Collector) -> Config {
    let mut cfg = collector_config(dir, c);
    cfg.set_max_queue_size(1_000_000).unwrap();
    cfg.set_max_store_bytes(1 << 30).unwrap();
    cfg
}

fn is_uuid_v4(s: &str) -> bool {
    s.len() == 36 && s.as_bytes()[14] == b'4' && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[test]
fn the_visitor_id_persists_and_a_reset_replaces_it() {
    let dir = TempDir::new("visitor");
    let c = Collector::start();
    let t = Tracker::new(roomy_config(&dir, &c)).unwrap();
    let first = t.visitor_id();
    assert!(is_uuid_v4(&first), "{first}");
    drop(t);
    let t = Tracker::new(roomy_config(&dir, &c)).unwrap();
    assert_eq!(t.visitor_id(), first, "kept in the store");
    let second = t.reset_visitor_id().unwrap();
    assert!(is_uuid_v4(&second) && second != first);
    assert_eq!(t.visitor_id(), second);
    drop(t);
    let t = Tracker::new(roomy_config(&dir, &c)).unwrap();
    assert_eq!(t.visitor_id(), second, "the reset is kept too");
    t.set_visitor_id("user-42@example.com").unwrap();
    for bad in ["", "a\nb", &"x".repeat(129)] {
        assert_eq!(t.set_visitor_id(bad).unwrap_err().status, Status::InvalidArgument, "{bad:?}");
    }
    assert_eq!(t.visitor_id(), "user-42@example.com", "a refused id changes nothing");
}

#[test]
fn hits_keep_the_visitor_id_and_session_they_were_tracked_with() {
    let dir = TempDir::new("stamp");
    let c = Collector::start();
    let t = Tracker::new(roomy_config(&dir, &c)).unwrap();
    t.set_visitor_id("before").unwrap();
    t.track_event("a", None, None).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    t.set_visitor_id("after").unwrap();
    t.track_event("b", None, None).unwrap();
    drop(t);
    // Sent by a later process: the session goes on after a quick restart.
    let t = Tracker::new(roomy_config(&dir, &c)).unwrap();
    t.track_event("c", None, None).unwrap();
    assert_eq!(dispatch(&t).sent, 3);
    let events = c.events();
    let by_name = |n: &str| events.iter().find(|e| e["event"] == n).unwrap().clone();
    let (a, b, e3) = (by_name("a"), by_name("b"), by_name("c"));
    assert_eq!(a["anonymousId"], "before");
    assert_eq!(b["anonymousId"], "after");
    assert_eq!(e3["anonymousId"], "after");
    let session = |e: &serde_json::Value| e["context"]["sessionId"].as_i64().unwrap();
    assert_eq!(session(&a), session(&b));
    assert_eq!(session(&a), session(&e3), "a restart within the background timeout keeps the session");
    let elapsed = |e: &serde_json::Value| e["context"]["attracker"]["sessionElapsedMs"].as_i64().unwrap();
    let (ma, mb) = (elapsed(&a), elapsed(&b));
    assert!(mb >= ma + 20, "monotonic time since the session began: {ma} then {mb}");
}

#[test]
fn the_collector_clock_offset_is_learned_from_its_date_header() {
    let dir = TempDir::new("offset");
    let c = Collector::start();
    c.set_date_skew(86_400_000);
    let t = Tracker::new(roomy_config(&dir, &c)).unwrap();
    t.track_event("e", None, None).unwrap();
    assert_eq!(dispatch(&t).sent, 1);
    t.track_event("e", None, None).unwrap();
    assert_eq!(dispatch(&t).sent, 1);
    let batches = c.batches();
    assert!(batches[0].body.get("clockOffsetMs").is_none(), "not known before the first answer");
    let offset = batches[1].body["clockOffsetMs"].as_i64().expect("clockOffsetMs in the next batch");
    assert!((offset - 86_400_000).abs() <= 2_000, "a day ahead, to the second: {offset}");
    assert!(batches[1].body["sentAt"].is_string());
}

#[test]
fn opting_out_keeps_or_purges_what_is_queued() {
    let dir = TempDir::new("optout");
    let c = Collector::start();
    let t = Tracker::new(roomy_config(&dir, &c)).unwrap();
    for _ in 0..5 {
        t.track_event("e", None, None).unwrap();
    }
    assert_eq!(t.opt_out(OptOutPolicy::Keep).unwrap(), 0);
    assert_eq!(t.track_event("e", None, None).unwrap_err().status, Status::Suppressed);
    assert_eq!(t.offline_count().unwrap(), 5, "kept");
    t.set_tracking_enabled(true).unwrap();
    t.track_event("e", None, None).unwrap();
    assert_eq!(t.opt_out(OptOutPolicy::Purge).unwrap(), 6);
    assert_eq!(t.offline_count().unwrap(), 0, "purged");
    assert_eq!(t.stats().unwrap().deleted, 6, "reported as deleted");

    // The configured policy is what at_set_tracking_enabled(false) uses.
    drop(t);
    let mut cfg = roomy_config(&dir, &c);
    cfg.set_opt_out_policy(OptOutPolicy::Purge);
    let t = Tracker::new(cfg).unwrap();
    t.track_event("e", None, None).unwrap();
    t.set_tracking_enabled(false).unwrap();
    assert_eq!(t.offline_count().unwrap(), 0);
}

#[test]
fn a_purge_under_concurrent_tracking_leaves_nothing_half_accepted() {
    for durability in [Durability::Batched, Durability::OnReturn] {
        let dir = TempDir::new("purge-race");
        let c = Collector::start();
        let mut cfg = roomy_config(&dir, &c);
        cfg.set_durability(durability);
        let drops = Drops::default();
        drops.attach(&mut cfg);
        let t = Tracker::new(cfg).unwrap();
        let accepted = AtomicU64::new(0);
        let refused = AtomicU64::new(0);
        let stop = AtomicBool::new(false);
        let purged = std::thread::scope(|s| {
            for thread in 0..8 {
                let (t, accepted, refused, stop) = (&t, &accepted, &refused, &stop);
                s.spawn(move || {
                    let mut i = 0u64;
                    while !stop.load(SeqCst) {
                        match t.track_event("e", Some(&format!(r#"{{"t":{thread},"i":{i}}}"#)), None) {
                            Ok(()) => accepted.fetch_add(1, SeqCst),
                            Err(e) if e.status == Status::Suppressed => refused.fetch_add(1, SeqCst),
                            // Batched: the purge is one long transaction; a call
                            // that found the queue full for a whole commit window
                            // meanwhile was not accepted (and is not counted).
                            Err(e)
                                if e.status == Status::Storage && e.to_string().contains("not accepted") =>
                            {
                                0
                            }
                            Err(e) => panic!("{e:?}"),
                        };
                        i += 1;
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(150));
            let purged = t.opt_out(OptOutPolicy::Purge).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            stop.store(true, SeqCst);
            purged
        });
        t.sync().unwrap();
        let accepted = accepted.load(SeqCst);
        assert!(accepted > 0 && refused.load(SeqCst) > 0, "{durability:?}: both sides of the race ran");
        assert_eq!(purged, accepted, "{durability:?}: every hit accepted before the opt-out was purged");
        assert_eq!(t.offline_count().unwrap(), 0, "{durability:?}: and none after it was kept");
        t.close(Duration::from_secs(2)).unwrap();
        assert_eq!(drops.ids(DropReason::Deleted).len() as u64, accepted, "{durability:?}: each reported");
    }
}

#[test]
fn memory_only_hits_are_purged_too() {
    let dir = TempDir::new("purge-memory");
    let c = Collector::start();
    // The collector fails: the memory-only hits go back to memory, waiting for
    // their retry (backoff from 1 s), which is when the purge finds them.
    c.set_fault(Fault::Status(503));
    let mut cfg = roomy_config(&dir, &c);
    cfg.set_offline_mode(OfflineMode::Never);
    cfg.set_flush_interval_ms(0);
    cfg.set_flush_threshold(0);
    let t = Tracker::new(cfg).unwrap();
    for _ in 0..3 {
        t.track_event("e", None, None).unwrap();
    }
    assert!(c.wait_for_requests(1, WAIT));
    let deadline = std::time::Instant::now() + WAIT;
    // Failed, and back in memory (queued counts memory-only hits not in flight).
    while !matches!(t.stats().unwrap(), s if s.failed >= 3 && s.queued == 3) {
        assert!(std::time::Instant::now() < deadline, "the failed send is settled");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(t.opt_out(OptOutPolicy::Purge).unwrap(), 3);
    assert_eq!(t.stats().unwrap().queued, 0);
}
