//! Delivery loses nothing by default: server outages, 429 storms, captive
//! portals, redirects, rejected keys, a wall clock that jumps, and the waits a
//! server asks for. Each test runs the default retry policy against the real
//! test collector on 127.0.0.1.

mod common;

use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use attracker::{Clock, DropReason, LogLevel, OfflineMode, Status, Tracker};
use common::collector::{Collector, Fault};
use common::{dispatch, dispatch_only_config, flush, track_n, wait_until, Drops, Logs, TempDir, WAIT};

/// A wall clock and a monotonic clock the test moves by hand, separately.
struct TwoClocks {
    wall: AtomicI64,
    mono: AtomicI64,
}
impl Clock for TwoClocks {
    fn now_ms(&self) -> i64 {
        self.wall.load(SeqCst)
    }
    fn mono_ms(&self) -> i64 {
        self.mono.load(SeqCst)
    }
}
impl TwoClocks {
    fn start() -> Arc<Self> {
        Arc::new(TwoClocks { wall: AtomicI64::new(1_795_366_000_000), mono: AtomicI64::new(1_000_000) })
    }
    /// Real time passes: both clocks move.
    fn pass(&self, d: Duration) {
        self.wall.fetch_add(d.as_millis() as i64, SeqCst);
        self.mono.fetch_add(d.as_millis() as i64, SeqCst);
    }
    /// The user changes the date: only the wall clock moves.
    fn jump_wall(&self, by_ms: i64) {
        self.wall.fetch_add(by_ms, SeqCst);
    }
}

fn retry_counts(t: &Tracker) -> Vec<u32> {
    t.offline_get().unwrap().iter().map(|h| h.retry_count).collect()
}

#[test]
fn a_long_5xx_outage_and_a_429_storm_drop_nothing_by_default() {
    let c = Collector::start();
    let dir = TempDir::new("outage-default");
    let drops = Drops::default();
    let mut cfg = dispatch_only_config(&dir, &c, OfflineMode::Always);
    drops.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    track_n(&t, "e", 5);
    // Ten failed attempts in a row (a dispatch ignores backoff): the old rule
    // dropped everything at the third.
    for (i, fault) in [500, 503, 502, 504, 429, 429, 429, 503, 500, 503].into_iter().enumerate() {
        c.set_fault(Fault::Status(fault));
        let r = dispatch(&t);
        assert_eq!((r.sent, r.failed, r.dropped), (0, 5, 0), "attempt {i}");
        assert_eq!(r.status.unwrap_err().status, Status::Network);
    }
    assert_eq!(retry_counts(&t), vec![10; 5], "each attempt that reached the server is counted");
    assert!(drops.0.lock().unwrap().is_empty(), "nothing dropped: {:?}", drops.0.lock().unwrap());
    c.set_fault(Fault::None);
    assert_eq!(dispatch(&t).sent, 5);
    assert_eq!(c.unique_events(), 5);
    assert_eq!(t.stats().unwrap().dropped_attempts, 0);
}

#[test]
fn max_attempts_3_restores_the_two_more_attempts_then_delete_rule() {
    let c = Collector::start();
    let dir = TempDir::new("attempts-3");
    let drops = Drops::default();
    let mut cfg = dispatch_only_config(&dir, &c, OfflineMode::Always);
    cfg.set_max_attempts(3);
    drops.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    track_n(&t, "e", 2);
    c.set_fault(Fault::Status(503));
    assert_eq!(dispatch(&t).dropped, 0);
    assert_eq!(dispatch(&t).dropped, 0);
    assert_eq!(dispatch(&t).dropped, 2, "the third failure is the last");
    assert_eq!(drops.ids(DropReason::AttemptsExhausted).len(), 2);
}

#[test]
fn retry_after_on_any_status_is_a_wait_not_an_attempt() {
    let c = Collector::start();
    let dir = TempDir::new("retry-after-any");
    let clock = TwoClocks::start();
    let mut cfg = dispatch_only_config(&dir, &c, OfflineMode::Always);
    cfg.set_offline_mode(OfflineMode::Required);
    cfg.set_flush_threshold(1);
    cfg.set_max_attempts(1); // a counted attempt would drop the hit at once
    let t = Tracker::with_clock(cfg, clock.clone()).unwrap();
    c.set_fault(Fault::RetryAfter(500, "120".into()));
    t.track_event("e", None, None).unwrap();
    assert!(c.wait_for_requests(1, WAIT));
    wait_until("the failure is settled", || t.last_send_error().unwrap().is_some());
    assert_eq!(t.stats().unwrap().failed, 0);
    assert_eq!(retry_counts(&t), vec![0], "a wait the server asked for is no attempt");
    c.set_fault(Fault::None);
    // 119 s later: still waiting (the backoff alone would have retried after 1-1.5 s).
    clock.pass(Duration::from_secs(119));
    t.nudge();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.requests().len(), 1, "Retry-After: 120 on a 500 is honoured");
    clock.pass(Duration::from_secs(2));
    t.nudge();
    assert!(c.wait_for_events(1, WAIT), "sent once the wait is over");
}

#[test]
fn redirects_and_captive_portals_are_not_reached_count_no_attempt_and_keep_every_hit() {
    let c = Collector::start();
    let dir = TempDir::new("portal");
    let drops = Drops::default();
    let logs = Logs::default();
    let mut cfg = dispatch_only_config(&dir, &c, OfflineMode::Always);
    cfg.set_max_attempts(1); // a counted attempt would drop the hits at once
    drops.attach(&mut cfg);
    logs.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    track_n(&t, "e", 3);
    let faults = [
        Fault::Portal(200),
        Fault::Portal(302),
        Fault::Portal(511),
        Fault::Redirect(307, "http://10.0.0.1/login".into()),
        Fault::Status(511),
        Fault::Portal(204),
    ];
    for fault in faults {
        c.set_fault(fault.clone());
        let r = dispatch(&t);
        assert_eq!((r.sent, r.failed, r.dropped), (0, 0, 0), "{fault:?}");
        let e = r.status.unwrap_err();
        assert_eq!(e.status, Status::Network, "{fault:?}");
        assert!(e.message.contains("captive portal"), "{fault:?}: {}", e.message);
    }
    assert_eq!(t.offline_count().unwrap(), 3, "a portal's 200 page is no acknowledgement");
    assert_eq!(retry_counts(&t), vec![0; 3], "not reached: no attempt counted");
    assert!(drops.0.lock().unwrap().is_empty());
    assert_eq!(t.stats().unwrap().not_reached, 6);
    assert!(c.events().is_empty());
    c.set_fault(Fault::None);
    assert_eq!(dispatch(&t).sent, 3);
    assert_eq!(c.unique_events(), 3);
    // One WARN naming the cause, not one per failure.
    wait_until("logs arrive", || logs.find(LogLevel::Info, "reachable again").is_some());
    let warns = logs
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(l, m)| *l == LogLevel::Warn && m.contains("was not reached"))
        .count();
    assert_eq!(warns, 1, "{:?}", logs.0.lock().unwrap());
}

#[test]
fn a_rejected_key_keeps_the_hits_pauses_sending_and_a_new_key_resumes_it() {
    let c = Collector::start();
    c.set_required_auth(Some("Bearer right".into()));
    let dir = TempDir::new("key-rejected");
    let drops = Drops::default();
    let logs = Logs::default();
    let mut cfg = dispatch_only_config(&dir, &c, OfflineMode::Always);
    cfg.set_api_key("wrong").unwrap();
    cfg.set_offline_mode(OfflineMode::Required);
    cfg.set_flush_threshold(1);
    drops.attach(&mut cfg);
    logs.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    track_n(&t, "e", 3);
    assert!(c.wait_for_requests(1, WAIT));
    wait_until("the pause is visible", || t.stats().unwrap().key_rejected == 401);
    assert_eq!(t.offline_count().unwrap(), 3, "the hits carry no key: they are kept");
    assert_eq!(retry_counts(&t), vec![0; 3]);
    // No retry storm: more hits, more triggers, no request.
    track_n(&t, "e", 5);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.requests().len(), 1, "sending is paused");
    let r = flush(&t);
    let e = r.status.unwrap_err();
    assert_eq!(e.status, Status::KeyRejected, "{}", e.message);
    assert!(e.message.contains("rejected the api key"), "{}", e.message);
    assert!(t.last_send_error().unwrap().unwrap().contains("HTTP 401"));
    wait_until("the ERROR is logged", || logs.find(LogLevel::Error, "rejected the api key").is_some());
    let errors = logs.0.lock().unwrap().iter().filter(|(l, _)| *l == LogLevel::Error).count();
    assert_eq!(errors, 1, "ERROR once");
    assert!(logs.find(LogLevel::Warn, "next attempt in").is_none(), "no 'next attempt' for a refused key");

    t.set_api_key("right").unwrap();
    assert!(c.wait_for_events(8, WAIT), "a new key resumes sending; every hit arrives");
    wait_until("the store empties", || t.offline_count().unwrap() == 0);
    assert_eq!(t.stats().unwrap().key_rejected, 0);
    assert_eq!(t.last_send_error().unwrap(), None);
    assert!(drops.0.lock().unwrap().is_empty());
    assert_eq!(t.set_api_key("has space").unwrap_err().status, Status::InvalidArgument);
}

#[test]
fn a_403_at_dispatch_says_rejected_key_not_network() {
    let c = Collector::start();
    c.set_fault(Fault::Status(403));
    let dir = TempDir::new("key-403");
    let t = Tracker::new(dispatch_only_config(&dir, &c, OfflineMode::Always)).unwrap();
    track_n(&t, "e", 2);
    let r = dispatch(&t);
    assert_eq!(r.status.unwrap_err().status, Status::KeyRejected);
    assert_eq!((r.sent, r.failed, r.dropped), (0, 0, 0));
    assert_eq!(t.offline_count().unwrap(), 2);
    assert_eq!(t.stats().unwrap().key_rejected, 403);
}

#[test]
fn a_wall_clock_jump_during_an_outage_strands_nothing_in_this_process_or_the_next() {
    let c = Collector::start();
    let dir = TempDir::new("clock-jump");
    let clock = TwoClocks::start();
    let logs = Logs::default();
    let mut cfg = dispatch_only_config(&dir, &c, OfflineMode::Always);
    cfg.set_offline_mode(OfflineMode::Required);
    cfg.set_flush_threshold(1);
    cfg.set_flush_interval_ms(30_000);
    logs.attach(&mut cfg);
    let t = Tracker::with_clock(cfg.clone(), clock.clone()).unwrap();
    c.set_fault(Fault::Status(503));
    t.track_event("before", None, None).unwrap();
    wait_until("the first failure is settled", || t.stats().unwrap().failed == 1);
    // The player sets the date a year ahead; the retry fails there too.
    clock.jump_wall(365 * 86_400_000);
    clock.pass(Duration::from_secs(2));
    t.nudge();
    wait_until("backoff runs on the monotonic clock", || t.stats().unwrap().failed == 2);
    wait_until("the jump is logged", || logs.find(LogLevel::Warn, "wall clock moved").is_some());
    // The date is set back; the server recovers.
    clock.jump_wall(-365 * 86_400_000);
    c.set_fault(Fault::None);
    clock.pass(Duration::from_secs(5));
    t.nudge();
    assert!(
        c.wait_for_events(1, WAIT),
        "the hit that failed a year ahead is sent: {:?} {:?}",
        logs.0.lock().unwrap(),
        c.requests().iter().map(|r| r.status).collect::<Vec<_>>()
    );

    // Stored next-attempt times a year ahead (as a jumped clock leaves them)
    // are due at the next start.
    c.set_fault(Fault::Status(503));
    t.track_event("after", None, None).unwrap();
    wait_until("the new hit fails", || t.stats().unwrap().failed == 3);
    clock.jump_wall(365 * 86_400_000);
    clock.pass(Duration::from_secs(60));
    t.nudge();
    wait_until("it fails a year ahead", || t.stats().unwrap().failed == 4);
    wait_until("settled", || t.offline_get().unwrap().iter().all(|h| h.retry_count >= 2));
    drop(t);
    clock.jump_wall(-365 * 86_400_000);
    c.set_fault(Fault::None);
    let t = Tracker::with_clock(cfg, clock.clone()).unwrap();
    t.track_event("trigger", None, None).unwrap();
    assert!(c.wait_for_events(3, WAIT), "the stranded hit goes with the next send");
    wait_until("the store empties", || t.offline_count().unwrap() == 0);
}

#[test]
fn a_hit_older_than_max_hit_age_that_fails_is_dropped_as_expired() {
    let c = Collector::start();
    let dir = TempDir::new("expired");
    let clock = TwoClocks::start();
    let drops = Drops::default();
    let mut cfg = dispatch_only_config(&dir, &c, OfflineMode::Always);
    cfg.set_max_hit_age_ms(3_600_000);
    drops.attach(&mut cfg);
    let t = Tracker::with_clock(cfg, clock.clone()).unwrap();
    t.track_event("old", None, None).unwrap();
    clock.pass(Duration::from_secs(1800));
    t.track_event("young", None, None).unwrap();
    clock.pass(Duration::from_secs(1801));
    c.set_fault(Fault::Status(503));
    let r = dispatch(&t);
    assert_eq!((r.failed, r.dropped), (2, 1));
    assert_eq!(drops.ids(DropReason::Expired).len(), 1);
    assert_eq!(t.stats().unwrap().dropped_expired, 1);
    c.set_fault(Fault::None);
    assert_eq!(dispatch(&t).sent, 1);
    assert_eq!(c.events()[0]["event"], "young");
}
