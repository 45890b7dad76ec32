//! Loss a collector can verify: every stored event carries its store's id and a
//! sequence number never reused (across restarts and processes), and every drop
//! of a stored hit is reported to the collector as an event of its own, queued
//! in the transaction that dropped it. Per store, once the queue has drained,
//! the sequence numbers missing from what arrived are exactly the reported drops.

mod common;

use std::time::Duration;

use attracker::{Config, OfflineMode, Tracker};
use common::collector::accounting::{account, DROP_REPORT_EVENT};
use common::collector::Collector;
use common::{dispatch, dispatch_only_config, TempDir};

/// `dispatch_only_config` in `Always` mode, holding at most `max_queue` hits,
/// with drop reports on (the default, which `common::config` turns off).
fn reporting_config(dir: &TempDir, c: &Collector, max_queue: u32) -> Config {
    let mut cfg = dispatch_only_config(dir, c, OfflineMode::Always);
    cfg.set_max_queue_size(max_queue).unwrap();
    cfg.set_report_drops(true);
    cfg
}

/// Dispatches until the store is empty (a drop during a dispatch queues a
/// report after the dispatch's bound).
fn drain(t: &Tracker) {
    for _ in 0..10 {
        if t.offline_count().unwrap() == 0 {
            return;
        }
        dispatch(t);
    }
    panic!("the store did not drain: {} left", t.offline_count().unwrap());
}

#[test]
fn received_plus_reported_drops_is_everything_stored_per_store() {
    let c = Collector::start();
    c.set_poison(Some("poison".into()));
    let dir = TempDir::new("accounting");
    let t = Tracker::new(reporting_config(&dir, &c, 20)).unwrap();
    for i in 0..30 {
        t.track_event("e", Some(&format!(r#"{{"i":{i}}}"#)), None).unwrap();
    }
    t.track_event("poison", None, None).unwrap();
    let stats = t.stats().unwrap();
    assert!(stats.dropped_overflow >= 10, "{stats:?}");
    drain(&t);

    let accounts = account(&c.events());
    assert_eq!(accounts.len(), 1, "one store");
    let (store, a) = accounts.iter().next().unwrap();
    assert_eq!(store.len(), 36, "a UUID: {store}");
    let stats = t.stats().unwrap();
    assert_eq!(a.dropped.get("overflow").copied(), Some(stats.dropped_overflow), "{a:?}");
    assert_eq!(a.dropped.get("rejected").copied(), Some(1), "the poison event, refused alone: {a:?}");
    assert!(a.reports >= 2, "a report per period: the overflow one, then the refusal");
    assert!(a.missing() > 0 && a.balanced(), "gaps {:?} vs reported {:?}", a.gaps(), a.dropped);
    assert_eq!(a.duplicates, 0);
    // Every event that was not dropped arrived, each with its own number.
    let arrived: Vec<_> = c.events().into_iter().filter(|e| e["event"] == "e").collect();
    assert_eq!(arrived.len() as u64 + stats.dropped_overflow, 30);
    let reports: Vec<_> = c.events().into_iter().filter(|e| e["event"] == DROP_REPORT_EVENT).collect();
    let first = &reports[0]["properties"];
    assert!(first["total"].as_u64().unwrap() >= 10, "{first}");
    assert!(first["firstMs"].as_i64().unwrap() <= first["lastMs"].as_i64().unwrap());

    // Sequence numbers go on across a restart, under the same store id.
    let high = *a.received.last().unwrap();
    t.close(Duration::from_secs(2)).unwrap();
    drop(t);
    let t = Tracker::new(reporting_config(&dir, &c, 20)).unwrap();
    t.track_event("after-restart", None, None).unwrap();
    drain(&t);
    let accounts = account(&c.events());
    assert_eq!(accounts.len(), 1, "the same store id after a restart");
    let a = &accounts[store];
    let restarted: Vec<u64> = c
        .events()
        .iter()
        .filter(|e| e["event"] == "after-restart")
        .map(|e| e["context"]["attracker"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(restarted.len(), 1);
    assert!(restarted[0] > high, "never reused: {} after {high}", restarted[0]);
    assert!(a.balanced(), "{:?} vs {:?}", a.gaps(), a.dropped);
}

#[test]
fn a_full_queue_dropping_a_hit_per_commit_keeps_one_report_not_a_report_per_drop() {
    let c = Collector::start();
    let dir = TempDir::new("accounting-steady");
    let t = Tracker::new(reporting_config(&dir, &c, 10)).unwrap();
    for _ in 0..200 {
        t.track_event("e", None, None).unwrap();
    }
    assert!(t.offline_count().unwrap() <= 11, "{}", t.offline_count().unwrap());
    let stored = t.offline_get().unwrap();
    let reports = stored.iter().filter(|h| h.hit_type == DROP_REPORT_EVENT).count();
    assert_eq!(reports, 1, "drops add to the report waiting, in place");
    drain(&t);
    let accounts = account(&c.events());
    let a = accounts.values().next().unwrap();
    assert_eq!(a.reported_dropped(), t.stats().unwrap().dropped_overflow);
    assert!(a.balanced(), "{:?} vs {:?}", a.gaps(), a.dropped);
}

#[test]
fn two_trackers_on_one_store_share_its_sequence_and_an_opt_out_purge_is_not_reported() {
    let c = Collector::start();
    let dir = TempDir::new("accounting-shared");
    let a = Tracker::new(reporting_config(&dir, &c, 1000)).unwrap();
    let b = Tracker::new(reporting_config(&dir, &c, 1000)).unwrap();
    for i in 0..10 {
        let t = if i % 2 == 0 { &a } else { &b };
        t.track_event("shared", None, None).unwrap();
    }
    drain(&a);
    let accounts = account(&c.events());
    assert_eq!(accounts.len(), 1);
    let acc = accounts.values().next().unwrap();
    assert_eq!(acc.received.len(), 10, "ten distinct numbers from two trackers");
    assert!(acc.balanced());
    drop(b);

    // Opting out with purge: the user asked that nothing more be sent.
    a.track_event("purged", None, None).unwrap();
    assert_eq!(a.opt_out(attracker::OptOutPolicy::Purge).unwrap(), 1);
    assert_eq!(a.offline_count().unwrap(), 0, "no drop report queued after an opt-out purge");
}

#[test]
fn a_store_deleted_under_the_tracker_keeps_its_id_and_numbers() {
    let c = Collector::start();
    let dir = TempDir::new("accounting-vanish");
    let db = dir.path().join("store/hits.db");
    let mut cfg = reporting_config(&dir, &c, 1000);
    cfg.set_storage_path(db.to_str().unwrap()).unwrap();
    let t = Tracker::new(cfg).unwrap();
    for _ in 0..5 {
        t.track_event("before", None, None).unwrap();
    }
    drain(&t); // rows 1-5 delivered and deleted: only the sequence remembers them
    t.track_event("kept", None, None).unwrap();
    t.sync().unwrap();
    let snapshot = t.offline_get().unwrap();
    assert_eq!(snapshot.len(), 1);
    drain(&t); // the store is empty again; its sequence is at 6
    std::fs::remove_dir_all(db.parent().unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(60));
    t.track_event("after", None, None).unwrap();
    t.sync().unwrap();
    assert!(db.exists(), "recreated");
    assert_eq!(t.offline_get().unwrap()[0].id, 7, "numbered after the deleted store's last");
    drain(&t);
    let accounts = account(&c.events());
    assert_eq!(accounts.len(), 1, "the recreated store keeps its id");
    let a = accounts.values().next().unwrap();
    assert_eq!(a.received.len(), 7, "seven events, seven numbers: none reused");
    assert_eq!(a.received.iter().copied().collect::<Vec<_>>(), (1..=7).collect::<Vec<u64>>());
    assert_eq!(a.duplicates, 0);
    assert!(a.balanced(), "{:?}", a.gaps());
}
