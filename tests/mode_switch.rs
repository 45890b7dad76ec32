//! Run-time switches of the offline mode and of the host's reachability report
//! leave the automatic triggers working: once back in `Required` and reachable,
//! the threshold and the timer send what is stored, without any flush call.

mod common;

use std::time::{Duration, Instant};

use attracker::{Config, OfflineMode, Tracker};
use common::collector::{Collector, Fault};
use common::rng::{seed, Rng};
use common::{collector_config, track_n, TempDir};

/// The flush timer of these tests.
const TIMER: Duration = Duration::from_millis(200);

/// `collector_config` in `Required` mode with the given automatic triggers.
fn triggered_config(dir: &TempDir, c: &Collector, threshold: u32, timer: Duration) -> Config {
    let mut cfg = collector_config(dir, c);
    cfg.set_offline_mode(OfflineMode::Required);
    cfg.set_flush_threshold(threshold);
    cfg.set_flush_interval_ms(timer.as_millis() as u32);
    cfg.set_max_queue_size(100_000).unwrap();
    cfg
}

/// Waits (at most `within`) until the store is empty; false when it is not.
fn drains_within(t: &Tracker, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if t.offline_count().unwrap() == 0 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn required_always_required_the_timer_sends_what_was_stored_in_always() {
    let c = Collector::start();
    let dir = TempDir::new("mode-always-timer");
    let t = Tracker::new(triggered_config(&dir, &c, 0, TIMER)).unwrap();
    t.set_offline_mode(OfflineMode::Always, None).unwrap();
    track_n(&t, "always", 5);
    std::thread::sleep(TIMER * 2);
    assert_eq!(c.unique_events(), 0, "Always sends nothing by itself");
    t.set_offline_mode(OfflineMode::Required, None).unwrap();
    assert!(drains_within(&t, Duration::from_secs(5)), "the timer fires after the switch back");
    assert_eq!(c.unique_events(), 5);
}

#[test]
fn required_always_required_the_threshold_fires_again() {
    let c = Collector::start();
    let dir = TempDir::new("mode-always-threshold");
    // The timer is off: only the threshold can send.
    let t = Tracker::new(triggered_config(&dir, &c, 5, Duration::ZERO)).unwrap();
    track_n(&t, "required", 2); // below the threshold: waits
    t.set_offline_mode(OfflineMode::Always, None).unwrap();
    track_n(&t, "always", 10);
    t.set_offline_mode(OfflineMode::Required, None).unwrap();
    assert!(drains_within(&t, Duration::from_secs(5)), "12 stored >= threshold 5");
    track_n(&t, "after", 5);
    assert!(drains_within(&t, Duration::from_secs(5)), "and again for new hits");
    assert_eq!(c.unique_events(), 17);
    assert_eq!(c.events()[0]["event"], "required");
}

#[test]
fn required_never_required_around_unreachability_the_triggers_fire_again() {
    let c = Collector::start();
    let dir = TempDir::new("mode-never");
    let t = Tracker::new(triggered_config(&dir, &c, 3, TIMER)).unwrap();
    c.set_fault(Fault::Status(503));
    track_n(&t, "stored", 4);
    assert!(c.wait_for_requests(1, Duration::from_secs(5)));
    t.set_offline_mode(OfflineMode::Never, None).unwrap();
    t.set_network_reachable(false).unwrap();
    track_n(&t, "memory", 2); // memory-only, dropped as unreachable
    c.set_fault(Fault::None);
    t.set_offline_mode(OfflineMode::Required, None).unwrap();
    t.set_network_reachable(true).unwrap();
    assert!(drains_within(&t, Duration::from_secs(5)), "the stored hits go without a flush");
    track_n(&t, "later", 3);
    assert!(drains_within(&t, Duration::from_secs(5)), "the threshold fires for new hits");
    let names: Vec<String> =
        c.events().iter().map(|e| e["event"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(names.iter().filter(|n| *n == "stored").count(), 4);
    assert_eq!(names.iter().filter(|n| *n == "later").count(), 3);
}

#[test]
fn any_sequence_of_modes_reachability_tracking_and_flushes_ends_with_everything_sent() {
    let c = Collector::start();
    let base = seed("ATTRACKER_SEED", Some(0x5eed));
    let rounds = if std::env::var_os("ATTRACKER_LONG_TESTS").is_some() { 100 } else { 12 };
    let mut stored_total = 0usize;
    for round in 0..rounds {
        let seed = base.wrapping_add(round).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut rng = Rng::new(seed);
        let dir = TempDir::new("mode-prop");
        let threshold = [0, 1, 4][rng.below(3) as usize];
        let t = Tracker::new(triggered_config(&dir, &c, threshold, TIMER)).unwrap();
        let mut steps = Vec::new();
        for _ in 0..25 {
            let step = rng.below(8);
            steps.push(step);
            match step {
                0 => t.set_offline_mode(OfflineMode::Required, None).unwrap(),
                1 => t.set_offline_mode(OfflineMode::Always, None).unwrap(),
                2 => t.set_offline_mode(OfflineMode::Never, None).unwrap(),
                3 => t.set_network_reachable(false).unwrap(),
                4 => t.set_network_reachable(true).unwrap(),
                5 => t.flush(None).unwrap(),
                6 => std::thread::sleep(Duration::from_millis(rng.below(30))),
                _ => {
                    let mode = t.offline_mode().unwrap();
                    let n = 1 + rng.below(3) as usize;
                    track_n(&t, &format!("r{round}"), n);
                    if mode != OfflineMode::Never {
                        stored_total += n;
                    }
                }
            }
        }
        t.set_offline_mode(OfflineMode::Required, None).unwrap();
        t.set_network_reachable(true).unwrap();
        // Within the timer (plus a backoff of at most 1.5 s if a send failed
        // while the switches raced it, and scheduling slack).
        assert!(
            drains_within(&t, TIMER + Duration::from_secs(4)),
            "seed {seed:#x} (base {base}, round {round}), steps {steps:?}: {} hit(s) left stored",
            t.offline_count().unwrap()
        );
    }
    let sent = c.unique_message_ids().len();
    assert!(sent >= stored_total, "every stored hit arrived: {sent} of {stored_total}");
}
