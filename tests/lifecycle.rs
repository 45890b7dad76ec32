//! App lifecycle: lifecycle events, the bounded flush on entering background,
//! coalescing, and timers resuming in the foreground.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use attracker::{DispatchReport, OfflineMode, Status, Tracker};
use common::collector::{Collector, Fault};
use common::{dispatch_only_config, TempDir, WAIT};

fn background(t: &Tracker, deadline: Duration) -> mpsc::Receiver<(DispatchReport, Instant)> {
    let (tx, rx) = mpsc::channel();
    t.app_did_enter_background(deadline, Some(Box::new(move |r| tx.send((r, Instant::now())).unwrap())))
        .unwrap();
    rx
}

fn event_names(c: &Collector) -> Vec<String> {
    c.events().iter().map(|e| e["event"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn entering_background_records_the_event_and_flushes_before_the_deadline() {
    let c = Collector::start();
    let dir = TempDir::new("bg");
    let t = Tracker::new(dispatch_only_config(&dir, &c, OfflineMode::Required)).unwrap();
    for _ in 0..5 {
        t.track_event("e", None, None).unwrap();
    }
    let start = Instant::now();
    let (r, at) = background(&t, Duration::from_secs(2)).recv_timeout(WAIT).unwrap();
    assert_eq!((r.status, r.sent), (Ok(()), 6));
    assert!(at - start < Duration::from_secs(2));
    assert_eq!(event_names(&c).last().map(String::as_str), Some("Application Backgrounded"));
    assert_eq!(t.offline_count().unwrap(), 0);
}

#[test]
fn a_slow_collector_is_cut_off_at_the_deadline_and_the_hits_stay_stored() {
    let c = Collector::start();
    c.set_fault(Fault::Delay(Duration::from_secs(10)));
    let dir = TempDir::new("bgslow");
    let t = Tracker::new(dispatch_only_config(&dir, &c, OfflineMode::Required)).unwrap();
    for _ in 0..5 {
        t.track_event("e", None, None).unwrap();
    }
    let start = Instant::now();
    let (r, at) = background(&t, Duration::from_millis(600)).recv_timeout(WAIT).unwrap();
    assert!(at - start < Duration::from_millis(600), "completed after {:?}", at - start);
    assert_eq!(r.status.unwrap_err().status, Status::Cancelled);
    assert_eq!(r.sent, 0);
    assert_eq!(t.offline_count().unwrap(), 6, "unsent hits (and the event) stay stored");
    assert_eq!(t.stats().unwrap().failed, 0, "an aborted transfer is no failed attempt");
    t.close(Duration::from_millis(100)).unwrap();
}

#[test]
fn repeated_background_notifications_coalesce_into_one_upload() {
    let c = Collector::start();
    c.set_fault(Fault::Delay(Duration::from_millis(300)));
    let dir = TempDir::new("bgcoalesce");
    let t = Tracker::new(dispatch_only_config(&dir, &c, OfflineMode::Required)).unwrap();
    for _ in 0..5 {
        t.track_event("e", None, None).unwrap();
    }
    let receivers: Vec<_> = (0..3).map(|_| background(&t, Duration::from_secs(3))).collect();
    let reports: Vec<DispatchReport> = receivers.iter().map(|rx| rx.recv_timeout(WAIT).unwrap().0).collect();
    assert!(reports.iter().all(|r| r.sent == 6 && r.status.is_ok()), "{reports:?}");
    assert_eq!(c.requests().len(), 1, "one upload for the batch, never two");
    assert_eq!(c.duplicates(), 0);
    let backgrounded = event_names(&c).iter().filter(|n| *n == "Application Backgrounded").count();
    assert_eq!(backgrounded, 1, "one event for repeated notifications");
}

#[test]
fn background_pauses_automatic_sends_and_foreground_resumes_them() {
    let c = Collector::start();
    let dir = TempDir::new("bgpause");
    let mut cfg = dispatch_only_config(&dir, &c, OfflineMode::Required);
    cfg.set_flush_threshold(1);
    cfg.set_flush_on_background(false);
    let t = Tracker::new(cfg).unwrap();
    let (r, _) = background(&t, Duration::from_secs(2)).recv_timeout(WAIT).unwrap();
    assert_eq!((r.status, r.sent), (Ok(()), 0), "no flush: hits wait for the foreground");
    for _ in 0..3 {
        t.track_event("e", None, None).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.requests().len(), 0, "no automatic send in the background");
    t.app_will_enter_foreground().unwrap();
    assert!(c.wait_for_events(5, WAIT), "3 hits + Backgrounded + Opened");
    let names = event_names(&c);
    assert!(names.contains(&"Application Opened".to_string()), "{names:?}");
}

#[test]
fn lifecycle_events_can_be_turned_off() {
    let c = Collector::start();
    let dir = TempDir::new("bgnoevents");
    let mut cfg = dispatch_only_config(&dir, &c, OfflineMode::Required);
    cfg.set_track_lifecycle_events(false);
    let t = Tracker::new(cfg).unwrap();
    let (r, _) = background(&t, Duration::from_secs(1)).recv_timeout(WAIT).unwrap();
    assert_eq!(r.sent, 0);
    t.app_will_enter_foreground().unwrap();
    assert_eq!(t.offline_count().unwrap(), 0);
}
