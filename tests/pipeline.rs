//! The drain's pipeline against the real test collector on 127.0.0.1: two
//! requests in flight (libcurl), settled in lease order, at least once, with
//! bisection, Retry-After, failures, resets and aborts while both are out.
//!
//! Events are tracked in groups of `BATCH` named `g0`, `g1`, ..., with
//! batches of `BATCH` events, so each request is one group and a fault can
//! target it by name (`Collector::push_event_fault`) whatever its arrival.

mod common;

use std::collections::HashSet;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use attracker::{Config, DropReason, OfflineMode, Status, Tracker};
use common::collector::{Collector, Fault};
use common::{bulk_config, dispatch, flush, wait_until, Drops, TempDir, WAIT};

const BATCH: usize = 10;
const GROUPS: usize = 10;
/// Batches one lease holds with libcurl (two lanes, two batches per lane).
const LEASE: usize = 4;

/// The configuration of a tracker sending batches of `BATCH` to `c`.
fn batch_config(dir: &TempDir, c: &Collector, mode: OfflineMode) -> Config {
    let mut cfg = bulk_config(dir, c, mode);
    cfg.set_max_batch_events(BATCH as u32).unwrap();
    cfg
}

/// A tracker sending batches of `BATCH` to `c`, with `GROUPS` groups tracked.
fn tracker(dir: &TempDir, c: &Collector, mode: OfflineMode, gzip: bool) -> Tracker {
    let mut cfg = batch_config(dir, c, mode);
    cfg.set_gzip(gzip);
    let t = Tracker::new(cfg).unwrap();
    track_groups(&t);
    t
}

fn track_groups(t: &Tracker) {
    for g in 0..GROUPS {
        for i in 0..BATCH {
            t.track_event(&format!("g{g}"), Some(&format!(r#"{{"i":{i}}}"#)), None).unwrap();
        }
    }
}

/// The groups of the accepted batches, in the order the collector recorded them.
fn groups_recorded(c: &Collector) -> Vec<String> {
    c.batches().iter().map(|b| b.events()[0]["event"].as_str().unwrap_or("?").to_owned()).collect()
}

fn all_ids(t: &Tracker) -> HashSet<String> {
    t.offline_get().unwrap().into_iter().map(|h| h.message_id).collect()
}

#[test]
fn two_requests_go_side_by_side_after_the_first_2xx() {
    let c = Collector::start();
    c.set_fault(Fault::Delay(Duration::from_millis(40)));
    let dir = TempDir::new("lanes");
    let t = tracker(&dir, &c, OfflineMode::Always, false);
    let ids = all_ids(&t);
    let r = dispatch(&t);
    assert_eq!((r.status.clone(), r.sent), (Ok(()), (GROUPS * BATCH) as u64));
    assert_eq!(c.max_in_flight(), 2, "two requests in flight, never more");
    assert!(c.connections() <= 2, "each lane keeps its connection: {}", c.connections());
    let requests = c.requests();
    assert_eq!(requests.len(), GROUPS);
    // The first goes alone: the second starts after its answer (40 ms).
    let gap = requests[1].received_at.duration_since(requests[0].received_at);
    assert!(gap >= Duration::from_millis(35), "the second request started {gap:?} after the first");
    assert_eq!(c.unique_message_ids(), ids);
    assert_eq!(c.duplicates(), 0);
    assert_eq!(t.offline_count().unwrap(), 0);
}

#[test]
fn a_late_answer_holds_back_the_settlement_of_later_batches_not_their_sending() {
    let c = Collector::start();
    // g1 is answered 600 ms late; the rest of its lease (g0-g3) and the next
    // lease (g4-g7) go out and are answered meanwhile, and no third lease is
    // taken: at most two leases wait on a batch still on the wire.
    c.push_event_fault("g1", Fault::Delay(Duration::from_millis(600)));
    let dir = TempDir::new("late");
    let t = tracker(&dir, &c, OfflineMode::Always, false);
    let ids = all_ids(&t);
    let (tx, rx) = mpsc::channel();
    t.offline_dispatch(Some(Box::new(move |r| tx.send(r).unwrap()))).unwrap();
    let answered = 2 * LEASE - 1;
    wait_until("two leases but g1 answered while g1 waits", || {
        c.unique_message_ids().len() == answered * BATCH && c.in_flight() == 1
    });
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(c.in_flight(), 1, "only g1 is out: no more batches are taken while it holds theirs back");
    assert_eq!(c.unique_message_ids().len(), answered * BATCH);
    assert_eq!(
        t.offline_count().unwrap(),
        (GROUPS * BATCH) as u64,
        "nothing settled past the batch still on the wire (lease order)"
    );
    let r = rx.recv_timeout(WAIT).unwrap();
    assert_eq!((r.status.clone(), r.sent), (Ok(()), (GROUPS * BATCH) as u64));
    let order = groups_recorded(&c);
    let at = |g: &str| order.iter().position(|x| x == g).unwrap();
    assert!(at("g2") < at("g1"), "g2 arrived before the late g1: {order:?}");
    assert_eq!(c.unique_message_ids(), ids, "every event");
    assert_eq!(c.duplicates(), 0, "once");
    assert_eq!(t.offline_count().unwrap(), 0);
}

#[test]
fn a_5xx_while_the_next_batch_is_in_flight_loses_nothing() {
    let c = Collector::start();
    c.push_event_fault("g1", Fault::Status(503));
    // g2 is still on the wire when g1's 503 arrives.
    c.push_event_fault("g2", Fault::Delay(Duration::from_millis(300)));
    let dir = TempDir::new("5xx");
    let t = tracker(&dir, &c, OfflineMode::Always, false);
    let ids = all_ids(&t);
    let r = dispatch(&t);
    assert_eq!(r.status.clone().unwrap_err().status, Status::Network);
    assert_eq!(r.failed, BATCH as u64, "g1's hits: one attempt each");
    assert_eq!(r.sent, 2 * BATCH as u64, "g0, and g2, which was already out");
    assert_eq!(t.offline_count().unwrap(), (GROUPS * BATCH) as u64 - r.sent, "the rest stays stored");
    let retried: Vec<u32> =
        t.offline_get().unwrap().iter().filter(|h| h.hit_type == "g1").map(|h| h.retry_count).collect();
    assert_eq!(retried, vec![1; BATCH], "g1 counted one attempt");
    let again = dispatch(&t);
    assert_eq!(again.status, Ok(()));
    assert_eq!(c.unique_message_ids(), ids, "nothing lost");
    assert_eq!(c.duplicates(), 0, "and nothing resent that had arrived");
    assert_eq!(t.offline_count().unwrap(), 0);
}

#[test]
fn bisection_still_finds_the_refused_hit() {
    let c = Collector::start();
    c.set_poison(Some("poison".into()));
    let dir = TempDir::new("bisect");
    let mut cfg = batch_config(&dir, &c, OfflineMode::Always);
    let drops = Drops::default();
    drops.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    track_groups(&t);
    t.track_event("poison", Some("{}"), None).unwrap();
    let poison = t.offline_latest().unwrap().unwrap().message_id;
    track_groups(&t);
    let r = dispatch(&t);
    let good = 2 * GROUPS * BATCH;
    assert_eq!((r.status.clone(), r.sent, r.dropped, r.failed), (Ok(()), good as u64, 1, 0));
    assert_eq!(c.unique_message_ids().len(), good);
    assert!(!c.unique_message_ids().contains(&poison));
    assert_eq!(c.duplicates(), 0);
    assert_eq!(t.offline_count().unwrap(), 0);
    t.close(Duration::from_secs(2)).unwrap();
    assert_eq!(drops.ids(DropReason::Rejected), vec![poison]);
}

#[test]
fn retry_after_on_one_batch_pauses_sending_and_counts_no_attempt() {
    let c = Collector::start();
    c.push_event_fault("g2", Fault::RetryAfter(429, "120".into()));
    let dir = TempDir::new("429");
    let t = tracker(&dir, &c, OfflineMode::Required, false);
    let r = dispatch(&t);
    assert_eq!(r.status.clone().unwrap_err().status, Status::Network);
    let deferred: Vec<u32> =
        t.offline_get().unwrap().iter().filter(|h| h.hit_type == "g2").map(|h| h.retry_count).collect();
    assert_eq!(deferred, vec![0; BATCH], "a wait the server asked for is no attempt");
    let requests = c.requests().len();
    let paused = flush(&t);
    assert_eq!(paused.status.unwrap_err().status, Status::Network, "flush honours the Retry-After pause");
    assert_eq!(c.requests().len(), requests, "no request during the pause");
    // A dispatch ignores the pause: everything arrives, once.
    assert_eq!(dispatch(&t).status, Ok(()));
    assert_eq!(c.unique_message_ids().len(), GROUPS * BATCH);
    assert_eq!(c.duplicates(), 0);
}

#[test]
fn closing_with_two_requests_in_flight_is_prompt_and_keeps_the_hits() {
    let c = Collector::start();
    c.push_event_fault("g1", Fault::Delay(Duration::from_secs(20)));
    c.push_event_fault("g2", Fault::Delay(Duration::from_secs(20)));
    let dir = TempDir::new("abort");
    let t = tracker(&dir, &c, OfflineMode::Always, false);
    let (tx, rx) = mpsc::channel();
    t.offline_dispatch(Some(Box::new(move |r| tx.send(r).unwrap()))).unwrap();
    wait_until("two requests in flight", || c.in_flight() == 2);
    let start = Instant::now();
    t.close(Duration::from_millis(300)).unwrap();
    let took = start.elapsed();
    assert!(took < Duration::from_millis(1300), "close took {took:?}");
    let r = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(r.status.unwrap_err().status, Status::Cancelled);
    drop(t);
    let t = Tracker::new(common::config(&dir.db())).unwrap();
    assert_eq!(t.open_report().recovered_in_flight, 0, "released at close, not left in flight");
    let left = t.offline_count().unwrap();
    assert_eq!(left, ((GROUPS - 1) * BATCH) as u64, "only g0 was answered: the rest stays stored");
    let stored: HashSet<String> = t.offline_get().unwrap().into_iter().map(|h| h.hit_type).collect();
    assert!(!stored.contains("g0") && stored.contains("g1") && stored.contains("g2"), "{stored:?}");
}

#[test]
fn a_connection_reset_mid_pipeline_is_retried_without_loss() {
    let c = Collector::start();
    // libcurl resends a request reset on a reused connection, and the resend
    // may go on the other reused connection: how many resets a request takes
    // to fail varies (at most 6: libcurl retries 5 times). Eight, and the
    // unused ones are dropped after the failed dispatch.
    for _ in 0..8 {
        c.push_event_fault("g3", Fault::Reset);
    }
    let dir = TempDir::new("reset");
    let t = tracker(&dir, &c, OfflineMode::Always, false);
    let ids = all_ids(&t);
    let r = dispatch(&t);
    assert_eq!(r.status.clone().unwrap_err().status, Status::Network);
    assert_eq!(r.failed, BATCH as u64, "g3 failed once, reached");
    assert!(c.clear_event_faults() < 8, "g3 was reset at least once");
    assert_eq!(dispatch(&t).status, Ok(()));
    assert_eq!(c.unique_message_ids(), ids, "nothing lost");
    assert_eq!(c.duplicates(), 0);
    assert_eq!(t.offline_count().unwrap(), 0);
}

#[test]
fn gzip_bodies_go_side_by_side_too() {
    let c = Collector::start();
    c.set_fault(Fault::Delay(Duration::from_millis(30)));
    let dir = TempDir::new("gzip");
    let t = tracker(&dir, &c, OfflineMode::Always, true);
    let ids = all_ids(&t);
    assert_eq!(dispatch(&t).sent, (GROUPS * BATCH) as u64);
    assert_eq!(c.max_in_flight(), 2);
    assert!(c.batches().iter().all(|b| b.gzip && b.events().len() == BATCH));
    assert_eq!(c.unique_message_ids(), ids);
    assert_eq!(c.duplicates(), 0);
}
