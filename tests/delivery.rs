//! Delivery against the real test collector on 127.0.0.1: wire format, batching,
//! retries and backoff, triggers, dispatch, drops, leases and shutdown.

mod common;

use std::collections::HashSet;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use attracker::{AuthScheme, Clock, DropReason, LogLevel, OfflineMode, Status, Tracker};
use common::collector::{self, Collector, Fault};
use common::{bulk_config, dispatch, flush, track_n, wait_until, Drops, Logs, ManualClock, TempDir, WAIT};

#[test]
fn events_are_posted_in_the_documented_batch_format() {
    let c = Collector::start();
    let dir = TempDir::new("wire");
    let mut cfg = bulk_config(&dir, &c, OfflineMode::Always);
    cfg.set_api_key("sk_test_123").unwrap();
    let t = Tracker::new(cfg).unwrap();
    t.track_event("screen_view", Some(r#"{"screen":"home","n":[1,2]}"#), None).unwrap();
    let stored = t.offline_oldest().unwrap().unwrap();
    let before = attracker::SystemClock.now_ms();
    let r = dispatch(&t);
    assert_eq!((r.status.clone(), r.sent, r.failed, r.dropped), (Ok(()), 1, 0, 0));
    let batch = &c.batches()[0];
    assert_eq!(batch.header("content-type"), Some("application/json"));
    assert_eq!(batch.header("authorization"), Some("Bearer sk_test_123"));
    let ev = &batch.events()[0];
    assert_eq!(ev["type"], "track");
    assert_eq!(ev["event"], "screen_view");
    assert_eq!(ev["messageId"], stored.message_id.as_str());
    assert_eq!(ev["anonymousId"], t.visitor_id());
    assert_eq!(ev["properties"], serde_json::json!({"screen": "home", "n": [1, 2]}));
    assert_eq!(ev["context"]["library"]["name"], "attracker");
    assert_eq!(ev["retryCount"], 0);
    let ts = ev["timestamp"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.len() == 24, "{ts}");
    let sent_at = batch.body["sentAt"].as_str().unwrap();
    assert!(sent_at >= ts, "sentAt {sent_at} is not before timestamp {ts}");
    assert!(before > 0);
    assert_eq!(t.offline_count().unwrap(), 0, "acknowledged hits leave the store");
    assert_eq!(t.stats().unwrap().sent, 1);
}

#[test]
fn url_hits_are_sent_as_given_by_get() {
    let c = Collector::start();
    let dir = TempDir::new("urlhit");
    let t = Tracker::new(bulk_config(&dir, &c, OfflineMode::Always)).unwrap();
    let url = format!("{}/hit.xiti?s=123&p=home&stc=%7B%22a%22%3A1%7D", c.url());
    t.send_hit(&url, "screen", None).unwrap();
    assert_eq!(dispatch(&t).sent, 1);
    assert_eq!(c.hits(), vec!["/hit.xiti?s=123&p=home&stc=%7B%22a%22%3A1%7D".to_string()]);
    assert!(c.batches().is_empty());
}

#[test]
fn basic_auth_and_gzip_are_selectable() {
    let c = Collector::start();
    let dir = TempDir::new("gzip");
    let mut cfg = bulk_config(&dir, &c, OfflineMode::Always);
    cfg.set_api_key("wk_123").unwrap();
    cfg.set_auth_scheme(AuthScheme::Basic);
    cfg.set_gzip(true);
    let t = Tracker::new(cfg).unwrap();
    track_n(&t, "e", 50);
    assert_eq!(dispatch(&t).sent, 50);
    let b = &c.batches()[0];
    assert!(b.gzip);
    assert!(b.body_bytes * 2 < b.decoded_bytes, "compressed {} of {}", b.body_bytes, b.decoded_bytes);
    // base64("wk_123:")
    assert_eq!(b.header("authorization"), Some("Basic d2tfMTIzOg=="));
}

#[test]
fn batches_split_at_500_events_and_reuse_kept_alive_connections() {
    let c = Collector::start();
    let dir = TempDir::new("split");
    let t = Tracker::new(bulk_config(&dir, &c, OfflineMode::Always)).unwrap();
    track_n(&t, "e", 1200);
    let r = dispatch(&t);
    assert_eq!(r.sent, 1200);
    // The first batch goes alone; the next two side by side (either may
    // arrive first).
    let mut sizes: Vec<usize> = c.batches().iter().map(|b| b.events().len()).collect();
    assert_eq!(sizes[0], 500);
    sizes.sort_unstable();
    assert_eq!(sizes, vec![200, 500, 500]);
    assert!(c.connections() <= 2, "keep-alive: {} connections for 3 requests", c.connections());
    assert_eq!(c.unique_message_ids().len(), 1200);
}

#[test]
fn batches_stay_under_the_byte_cap_and_an_event_over_it_alone_is_dropped() {
    let c = Collector::start();
    let dir = TempDir::new("bytes");
    let mut cfg = bulk_config(&dir, &c, OfflineMode::Always);
    cfg.set_max_batch_bytes(20_000).unwrap();
    let drops = Drops::default();
    drops.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    let pad = "x".repeat(1000);
    for i in 0..60 {
        t.track_event("e", Some(&format!(r#"{{"i":{i},"pad":"{pad}"}}"#)), None).unwrap();
    }
    t.track_event("huge", Some(&format!(r#"{{"pad":"{}"}}"#, "y".repeat(30_000))), None).unwrap();
    let r = dispatch(&t);
    assert_eq!((r.sent, r.dropped), (60, 1));
    assert!(c.batches().len() >= 4);
    assert!(c.batches().iter().all(|b| b.decoded_bytes <= 20_000));
    t.close(Duration::from_secs(2)).unwrap();
    assert_eq!(drops.ids(DropReason::TooLarge).len(), 1);
}

#[test]
fn a_poison_event_is_bisected_out_and_everything_else_arrives() {
    let c = Collector::start();
    c.set_poison(Some("poison".into()));
    let dir = TempDir::new("poison");
    let mut cfg = bulk_config(&dir, &c, OfflineMode::Always);
    let drops = Drops::default();
    drops.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    track_n(&t, "e", 100);
    t.track_event("poison", Some("{}"), None).unwrap();
    let poison_id = t.offline_latest().unwrap().unwrap().message_id;
    track_n(&t, "e", 100);
    let r = dispatch(&t);
    assert_eq!((r.sent, r.dropped, r.failed), (200, 1, 0));
    assert_eq!(c.unique_message_ids().len(), 200);
    assert!(!c.unique_message_ids().contains(&poison_id));
    assert_eq!(t.offline_count().unwrap(), 0, "the poison does not block the queue");
    let requests = c.requests().len();
    assert!(requests <= 2 * 9 + 1, "bisection takes about 2·log2(201) requests, took {requests}");
    t.close(Duration::from_secs(2)).unwrap();
    assert_eq!(drops.ids(DropReason::Rejected), vec![poison_id]);
}

#[test]
fn a_413_splits_the_batch_further() {
    let c = Collector::start();
    c.push_faults(vec![Fault::Status(413)]);
    let dir = TempDir::new("413");
    let t = Tracker::new(bulk_config(&dir, &c, OfflineMode::Always)).unwrap();
    track_n(&t, "e", 10);
    let r = dispatch(&t);
    assert_eq!((r.sent, r.dropped), (10, 0));
    let sizes: Vec<usize> = c.batches().iter().map(|b| b.events().len()).collect();
    assert_eq!(sizes, vec![5, 5]);
}

#[test]
fn unauthorized_keeps_what_was_sent_and_logs_an_error_without_the_key() {
    let c = Collector::start();
    c.set_required_auth(Some("Bearer right".into()));
    let dir = TempDir::new("401");
    let mut cfg = bulk_config(&dir, &c, OfflineMode::Always);
    cfg.set_api_key("wrong").unwrap();
    let logs = Logs::default();
    logs.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    track_n(&t, "e", 3);
    let r = dispatch(&t);
    assert_eq!((r.sent, r.dropped), (0, 0));
    assert_eq!(r.status.unwrap_err().status, Status::KeyRejected);
    assert_eq!(t.offline_count().unwrap(), 3, "kept for a corrected key");
    t.close(Duration::from_secs(2)).unwrap();
    let line = logs.wait_for(LogLevel::Error, "401").expect("an ERROR line");
    assert!(!line.contains("wrong"), "the api key is never logged: {line}");
    assert!(logs.0.lock().unwrap().iter().all(|(_, m)| !m.contains("wrong")));
}

#[test]
fn server_errors_are_retried_and_drop_after_max_attempts() {
    let c = Collector::start();
    c.set_fault(Fault::Status(500));
    let dir = TempDir::new("5xx");
    let mut cfg = bulk_config(&dir, &c, OfflineMode::Always);
    cfg.set_max_attempts(3); // the default is unlimited (tests/never_lost.rs)
    let drops = Drops::default();
    drops.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    track_n(&t, "e", 2);
    for attempt in 1..=2 {
        let r = dispatch(&t);
        assert_eq!((r.sent, r.failed, r.dropped), (0, 2, 0), "attempt {attempt}");
        let hits = t.offline_get().unwrap();
        assert!(hits.iter().all(|h| h.retry_count == attempt), "{hits:?}");
    }
    let r = dispatch(&t);
    assert_eq!((r.failed, r.dropped), (2, 2), "the third failure is the last (max_attempts 3)");
    assert_eq!(t.offline_count().unwrap(), 0);
    let stats = t.stats().unwrap();
    assert_eq!((stats.failed, stats.dropped_attempts), (6, 2));
    t.close(Duration::from_secs(2)).unwrap();
    assert_eq!(drops.ids(DropReason::AttemptsExhausted).len(), 2);
}

#[test]
fn the_retry_count_reaches_the_collector() {
    let c = Collector::start();
    c.push_faults(vec![Fault::Status(503)]);
    let dir = TempDir::new("retrycount");
    let t = Tracker::new(bulk_config(&dir, &c, OfflineMode::Always)).unwrap();
    track_n(&t, "e", 1);
    assert_eq!(dispatch(&t).failed, 1);
    assert_eq!(dispatch(&t).sent, 1);
    assert_eq!(c.events()[0]["retryCount"], 1);
}

#[test]
fn an_unreachable_collector_consumes_no_attempt_and_marks_hits_offline() {
    let c = Collector::start();
    let url = c.url();
    drop(c); // nothing listens there now
    let dir = TempDir::new("unreach");
    let mut cfg = common::config(&dir.db());
    cfg.set_endpoint(&url).unwrap();
    let t = Tracker::new(cfg).unwrap();
    track_n(&t, "e", 3);
    for _ in 0..4 {
        let r = dispatch(&t);
        assert_eq!((r.sent, r.failed, r.dropped), (0, 0, 0));
        assert_eq!(r.status.unwrap_err().status, Status::Network);
    }
    let hits = t.offline_get().unwrap();
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h.is_offline && h.retry_count == 0));
}

#[test]
fn retry_after_pauses_the_pipeline_in_seconds_or_as_a_date() {
    for retry_after in ["120".to_string(), collector::http_date(std::time::SystemTime::UNIX_EPOCH)] {
        let c = Collector::start();
        let dir = TempDir::new("retryafter");
        let clock = ManualClock::start();
        let mut cfg = bulk_config(&dir, &c, OfflineMode::Required);
        cfg.set_flush_threshold(5);
        let seconds = retry_after == "120";
        if !seconds {
            // An HTTP date 120 s after the tracker's clock.
            let at = std::time::UNIX_EPOCH + Duration::from_millis(clock.now_ms() as u64 + 120_000);
            c.push_faults(vec![Fault::RetryAfter(429, collector::http_date(at))]);
        } else {
            c.push_faults(vec![Fault::RetryAfter(429, retry_after.clone())]);
        }
        let t = Tracker::with_clock(cfg, clock.clone()).unwrap();
        track_n(&t, "e", 5);
        assert!(c.wait_for_requests(1, WAIT));
        std::thread::sleep(Duration::from_millis(100));
        for _ in 0..10 {
            clock.advance(Duration::from_secs(10)); // up to 100 s: still paused
            t.nudge();
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(c.requests().len(), 1, "no request before Retry-After ({retry_after})");
        let r = flush(&t);
        assert_eq!(r.status.unwrap_err().status, Status::Network, "flush honours the pause");
        clock.advance(Duration::from_secs(25));
        t.nudge();
        assert!(c.wait_for_events(5, WAIT), "sent once the pause is over ({retry_after})");
    }
}

#[test]
fn required_mode_sends_on_the_threshold() {
    let c = Collector::start();
    let dir = TempDir::new("threshold");
    let mut cfg = bulk_config(&dir, &c, OfflineMode::Required);
    cfg.set_flush_threshold(20);
    let t = Tracker::new(cfg).unwrap();
    track_n(&t, "e", 19);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.requests().len(), 0, "19 < threshold");
    track_n(&t, "e", 1);
    assert!(c.wait_for_events(20, WAIT));
}

#[test]
fn required_mode_sends_on_the_timer_counted_from_the_first_waiting_hit() {
    let c = Collector::start();
    let dir = TempDir::new("timer");
    let clock = ManualClock::start();
    let mut cfg = bulk_config(&dir, &c, OfflineMode::Required);
    cfg.set_flush_interval_ms(30_000);
    let t = Tracker::with_clock(cfg, clock.clone()).unwrap();
    clock.advance(Duration::from_secs(120)); // idle time does not count
    t.nudge();
    track_n(&t, "e", 3);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(c.requests().len(), 0);
    clock.advance(Duration::from_secs(29));
    t.nudge();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(c.requests().len(), 0);
    clock.advance(Duration::from_secs(2));
    t.nudge();
    assert!(c.wait_for_events(3, WAIT));
}

#[test]
fn flush_sends_what_is_due_in_required_mode_and_nothing_in_always_mode() {
    let c = Collector::start();
    let dir = TempDir::new("flush");
    let t = Tracker::new(bulk_config(&dir, &c, OfflineMode::Required)).unwrap();
    track_n(&t, "e", 7);
    let r = flush(&t);
    assert_eq!((r.status, r.sent), (Ok(()), 7));
    let (tx, rx) = mpsc::channel();
    t.set_offline_mode(OfflineMode::Always, Some(Box::new(move |r| tx.send(r).unwrap()))).unwrap();
    rx.recv_timeout(WAIT).unwrap().unwrap();
    track_n(&t, "e", 4);
    let r = flush(&t);
    assert_eq!((r.status, r.sent), (Ok(()), 0));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(t.offline_count().unwrap(), 4, "ALWAYS never sends by itself");
    assert_eq!(dispatch(&t).sent, 4);
    assert_eq!(c.unique_message_ids().len(), 11);
}

#[test]
fn network_restored_triggers_a_send() {
    let c = Collector::start();
    let dir = TempDir::new("restored");
    let mut cfg = bulk_config(&dir, &c, OfflineMode::Required);
    cfg.set_flush_threshold(1);
    let t = Tracker::new(cfg).unwrap();
    t.set_network_reachable(false).unwrap();
    track_n(&t, "e", 5);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.requests().len(), 0, "paused while unreachable");
    assert_eq!(flush(&t).status.unwrap_err().status, Status::Network);
    assert!(t.offline_get().unwrap().iter().all(|h| h.is_offline));
    t.set_network_reachable(true).unwrap();
    assert!(c.wait_for_events(5, WAIT));
}

#[test]
fn never_mode_sends_from_memory_and_completes_each_hit() {
    let c = Collector::start();
    let dir = TempDir::new("nevermode");
    let t = Tracker::new(bulk_config(&dir, &c, OfflineMode::Never)).unwrap();
    let (tx, rx) = mpsc::channel();
    for i in 0..10 {
        let tx = tx.clone();
        t.track_event("e", Some(&format!(r#"{{"i":{i}}}"#)), Some(Box::new(move |r| tx.send(r).unwrap())))
            .unwrap();
    }
    for _ in 0..10 {
        rx.recv_timeout(WAIT).unwrap().unwrap();
    }
    assert_eq!(c.unique_message_ids().len(), 10);
    assert_eq!(t.offline_count().unwrap(), 0);
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let rows: i64 = conn.query_row("SELECT count(*) FROM hits", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0, "never written to disk");
}

#[test]
fn memory_only_hits_are_still_sent_after_switching_to_a_storing_mode() {
    let c = Collector::start();
    c.set_fault(Fault::Delay(Duration::from_millis(300)));
    let dir = TempDir::new("neverswitch");
    let t = Tracker::new(bulk_config(&dir, &c, OfflineMode::Never)).unwrap();
    track_n(&t, "e", 600); // more than one batch: the second waits while the first is slow
    t.set_offline_mode(OfflineMode::Always, None).unwrap();
    assert!(c.wait_for_events(600, WAIT));
    assert_eq!(t.offline_count().unwrap(), 0, "they were never stored");
}

#[test]
fn eight_threads_track_while_dispatch_runs_and_every_hit_arrives() {
    let c = Collector::start();
    let dir = TempDir::new("concurrent");
    let t = Arc::new(Tracker::new(bulk_config(&dir, &c, OfflineMode::Always)).unwrap());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let dispatcher = {
        let (t, stop) = (Arc::clone(&t), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(SeqCst) {
                dispatch(&t);
            }
        })
    };
    let trackers: Vec<_> = (0..8)
        .map(|n| {
            let t = Arc::clone(&t);
            std::thread::spawn(move || {
                for i in 0..300 {
                    t.track_event("e", Some(&format!(r#"{{"t":{n},"i":{i}}}"#)), None).unwrap();
                }
            })
        })
        .collect();
    for h in trackers {
        h.join().unwrap();
    }
    stop.store(true, SeqCst);
    dispatcher.join().unwrap();
    dispatch(&t);
    assert!(c.wait_for_events(2400, WAIT), "{} of 2400", c.unique_message_ids().len());
    assert_eq!(t.offline_count().unwrap(), 0);
    assert_eq!(c.duplicates(), 0, "nothing sent twice without a failure");
}

#[test]
fn close_during_a_slow_request_returns_in_time_and_keeps_the_hits() {
    let c = Collector::start();
    c.set_fault(Fault::Delay(Duration::from_secs(20)));
    let dir = TempDir::new("slowclose");
    let t = Tracker::new(bulk_config(&dir, &c, OfflineMode::Always)).unwrap();
    track_n(&t, "e", 5);
    let (tx, rx) = mpsc::channel();
    t.offline_dispatch(Some(Box::new(move |r| tx.send(r).unwrap()))).unwrap();
    assert!(c.wait_for_requests(1, WAIT));
    let start = Instant::now();
    t.close(Duration::from_millis(500)).unwrap();
    let took = start.elapsed();
    assert!(took < Duration::from_millis(1500), "close took {took:?}");
    let r = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(r.status.unwrap_err().status, Status::Cancelled);
    assert!(rx.try_recv().is_err(), "exactly once");
    drop(t);
    let t = Tracker::new(common::config(&dir.db())).unwrap();
    assert_eq!(t.offline_count().unwrap(), 5, "unacknowledged hits stay stored");
    assert_eq!(t.open_report().recovered_in_flight, 0, "released at close, not left in flight");
}

#[test]
fn a_second_tracker_on_the_same_store_never_sends_the_same_rows() {
    let c = Collector::start();
    let dir = TempDir::new("twosenders");
    let a = Tracker::new(bulk_config(&dir, &c, OfflineMode::Always)).unwrap();
    let b = Tracker::new(bulk_config(&dir, &c, OfflineMode::Always)).unwrap();
    track_n(&a, "e", 50);
    track_n(&b, "e", 50);
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| dispatch(&a));
        let hb = s.spawn(|| dispatch(&b));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    assert_eq!(ra.sent + rb.sent, 100);
    assert_eq!(rb.sent, 0, "only the sender sends");
    assert_eq!(c.duplicates(), 0);
    // The sender goes away: the other takes over.
    drop(a);
    track_n(&b, "e", 10);
    assert_eq!(dispatch(&b).sent, 10);
    assert_eq!(c.unique_message_ids().len(), 110);
}

#[test]
fn an_outage_of_minutes_keeps_attempts_within_the_backoff_schedule() {
    let c = Collector::start();
    c.set_fault(Fault::Status(503));
    let dir = TempDir::new("outage");
    let clock = ManualClock::start();
    let mut cfg = bulk_config(&dir, &c, OfflineMode::Required);
    cfg.set_flush_threshold(1);
    cfg.set_max_attempts(0);
    let t = Tracker::with_clock(cfg, clock.clone()).unwrap();
    track_n(&t, "e", 10);
    assert!(c.wait_for_requests(1, WAIT));
    // Ten simulated minutes in 2 s steps, tracking all along.
    for step in 0..300 {
        clock.advance(Duration::from_secs(2));
        if step % 10 == 0 {
            track_n(&t, "e", 1);
        }
        t.nudge();
        std::thread::sleep(Duration::from_millis(5));
    }
    let attempts = c.requests().len();
    // 1+2+4+8+16+32 s, then one per 32..48 s: at most ~6 + 540/32 ≈ 23.
    assert!((8..=24).contains(&attempts), "{attempts} requests in 10 minutes");
    c.set_fault(Fault::None);
    clock.advance(Duration::from_secs(60));
    t.nudge();
    assert!(c.wait_for_events(40, WAIT), "everything arrives once the server is back");
    wait_until("the store drains", || t.offline_count().unwrap() == 0);
}

#[test]
fn track_and_inspection_never_wait_for_a_slow_collector() {
    let c = Collector::start();
    c.set_fault(Fault::Delay(Duration::from_secs(3)));
    let dir = TempDir::new("nostall");
    let mut cfg = bulk_config(&dir, &c, OfflineMode::Required);
    cfg.set_flush_threshold(1);
    let t = Tracker::new(cfg).unwrap();
    track_n(&t, "e", 1);
    assert!(c.wait_for_requests(1, WAIT));
    let start = Instant::now();
    track_n(&t, "e", 50);
    let _ = t.offline_get().unwrap();
    let _ = t.offline_count().unwrap();
    assert!(start.elapsed() < Duration::from_millis(1500), "host calls waited {:?}", start.elapsed());
    t.close(Duration::from_millis(200)).unwrap();
}

#[test]
fn an_ambiguous_timeout_resends_the_same_message_ids() {
    let c = Collector::start();
    c.push_faults(vec![Fault::ProcessThenDelay(Duration::from_secs(5))]);
    let dir = TempDir::new("ambiguous");
    let mut cfg = bulk_config(&dir, &c, OfflineMode::Always);
    cfg.set_timeouts_ms(1000, 1000).unwrap();
    let t = Tracker::new(cfg).unwrap();
    track_n(&t, "e", 5);
    let ids: HashSet<String> = t.offline_get().unwrap().into_iter().map(|h| h.message_id).collect();
    let r = dispatch(&t);
    assert_eq!((r.sent, r.failed), (0, 5), "a timeout after connecting is a failed attempt");
    assert_eq!(dispatch(&t).sent, 5);
    assert_eq!(c.unique_message_ids(), ids, "the resend carries the same messageIds");
    assert_eq!(c.duplicates(), 5, "the collector deduplicates them");
}

#[test]
fn a_connection_reset_is_retried() {
    let c = Collector::start();
    c.set_fault(Fault::Reset);
    let dir = TempDir::new("reset");
    let t = Tracker::new(bulk_config(&dir, &c, OfflineMode::Always)).unwrap();
    track_n(&t, "e", 3);
    let r = dispatch(&t);
    assert_eq!((r.sent, r.failed), (0, 3));
    assert_eq!(r.status.unwrap_err().status, Status::Network);
    c.set_fault(Fault::None);
    assert_eq!(dispatch(&t).sent, 3);
    assert_eq!(c.unique_message_ids().len(), 3);
}

#[test]
fn dropped_hits_reach_the_drop_callback_with_their_ids() {
    let c = Collector::start();
    c.set_poison(Some("bad".into()));
    let dir = TempDir::new("dropcb");
    let mut cfg = bulk_config(&dir, &c, OfflineMode::Always);
    let drops = Drops::default();
    drops.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    t.track_event("bad", None, None).unwrap();
    let id = t.offline_oldest().unwrap().unwrap().message_id;
    dispatch(&t);
    assert_eq!(t.stats().unwrap().dropped_rejected, 1);
    t.close(Duration::from_secs(1)).unwrap();
    assert_eq!(drops.ids(DropReason::Rejected), vec![id]);
}

const CHILD_DB: &str = "ATTRACKER_TEST_SEND_CHILD_DB";
const CHILD_URL: &str = "ATTRACKER_TEST_SEND_CHILD_URL";

/// Not a test on its own: the child process killed in the middle of a send.
#[test]
fn child_process_sending_until_killed() {
    let (Ok(db), Ok(url)) = (std::env::var(CHILD_DB), std::env::var(CHILD_URL)) else { return };
    let mut c = common::config(db.as_ref());
    c.set_endpoint(&url).unwrap();
    let t = Tracker::new(c).unwrap();
    track_n(&t, "e", 25);
    let _ = t.offline_dispatch(None);
    std::thread::sleep(Duration::from_secs(30));
}

#[test]
fn a_crash_in_the_middle_of_a_send_leaves_the_hits_to_be_sent_again() {
    let c = Collector::start();
    // The collector keeps the batch but answers late: the child dies before knowing.
    c.set_fault(Fault::ProcessThenDelay(Duration::from_secs(10)));
    let dir = TempDir::new("crashsend");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_sending_until_killed", "--test-threads=1"])
        .env(CHILD_DB, dir.db())
        .env(CHILD_URL, c.url())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(c.wait_for_events(25, WAIT), "the child's batch reached the collector");
    child.kill().unwrap();
    child.wait().unwrap();
    c.set_fault(Fault::None);

    let mut cfg = bulk_config(&dir, &c, OfflineMode::Always);
    cfg.set_endpoint(&c.url()).unwrap();
    let t = Tracker::new(cfg).unwrap();
    assert_eq!(t.open_report().recovered_in_flight, 25, "the leased rows come back");
    assert_eq!(dispatch(&t).sent, 25);
    assert_eq!(c.unique_message_ids().len(), 25);
    assert_eq!(c.duplicates(), 25, "at-least-once: resent, deduplicated by messageId");
}

#[test]
fn the_default_500_kb_cap_splits_large_batches() {
    let c = Collector::start();
    let dir = TempDir::new("500kb");
    let t = Tracker::new(bulk_config(&dir, &c, OfflineMode::Always)).unwrap();
    let pad = "z".repeat(1200);
    for i in 0..1000 {
        t.track_event("e", Some(&format!(r#"{{"i":{i},"pad":"{pad}"}}"#)), None).unwrap();
    }
    assert_eq!(dispatch(&t).sent, 1000);
    let batches = c.batches();
    assert!(batches.len() >= 3, "{} batches", batches.len());
    assert!(batches.iter().all(|b| b.decoded_bytes <= 500_000 && b.events().len() <= 500));
    assert_eq!(c.unique_message_ids().len(), 1000);
}

#[test]
fn a_successful_probe_after_transport_errors_restores_sending() {
    let c = Collector::start();
    let addr = c.addr();
    drop(c);
    let dir = TempDir::new("probe");
    let clock = ManualClock::start();
    let mut cfg = common::config(&dir.db());
    cfg.set_endpoint(&format!("http://{addr}")).unwrap();
    cfg.set_offline_mode(OfflineMode::Required);
    cfg.set_flush_threshold(1);
    let logs = Logs::default();
    logs.attach(&mut cfg);
    let t = Tracker::with_clock(cfg, clock.clone()).unwrap();
    track_n(&t, "e", 3);
    wait_until("the hits are marked offline", || t.offline_oldest().unwrap().unwrap().is_offline);
    assert_eq!(t.stats().unwrap().requests, 1, "then paused: no retry storm");
    // The collector comes back; nobody tells the tracker. The next probe finds it.
    let c = Collector::start_on(&addr.to_string()).unwrap();
    clock.advance(Duration::from_secs(2));
    t.nudge();
    assert!(c.wait_for_events(3, WAIT));
    wait_until("the store drains", || t.offline_count().unwrap() == 0);
    t.close(Duration::from_secs(1)).unwrap();
    assert!(logs.wait_for(LogLevel::Info, "reachable again").is_some());
}

#[test]
fn freeing_during_a_hung_request_returns_within_the_default_bound() {
    let c = Collector::start();
    c.set_fault(Fault::Delay(Duration::from_secs(30)));
    let dir = TempDir::new("freebound");
    let t = Tracker::new(bulk_config(&dir, &c, OfflineMode::Always)).unwrap();
    track_n(&t, "e", 3);
    t.offline_dispatch(None).unwrap();
    assert!(c.wait_for_requests(1, WAIT));
    let start = Instant::now();
    drop(t); // what at_tracker_free does: close with the default 2000 ms
    let took = start.elapsed();
    assert!(took < Duration::from_millis(2600), "free took {took:?}");
    let t = Tracker::new(common::config(&dir.db())).unwrap();
    assert_eq!(t.offline_count().unwrap(), 3);
}
