//! The host's own HTTP stack (`Config::transport`) and exported batches: the
//! library keeps batching, retries and leases; the host moves the bytes.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use attracker::{CallbackMode, Config, HostAnswer, HostRequest, Method, OfflineMode, Status, Tracker};
use common::collector::{Collector, Fault};
use common::{collector_config, dispatch, TempDir};

/// What a host stack does: perform the request on its own thread, report later.
fn perform(req: HostRequest) {
    std::thread::spawn(move || {
        let mut easy = curl::easy::Easy::new();
        easy.url(&req.url).unwrap();
        let mut list = curl::easy::List::new();
        for (n, v) in &req.headers {
            list.append(&format!("{n}: {v}")).unwrap();
        }
        easy.http_headers(list).unwrap();
        if req.method == Method::Post {
            easy.post(true).unwrap();
            easy.post_fields_copy(&req.body).unwrap();
        }
        let answer = match easy.perform() {
            Ok(()) => HostAnswer::Status { status: easy.response_code().unwrap() as u16, retry_after: None },
            Err(e) if e.is_couldnt_connect() => HostAnswer::Unreachable(e.to_string()),
            Err(e) => HostAnswer::Failed(e.to_string()),
        };
        req.complete(answer);
    });
}

/// `collector_config` whose transport is the host stack above.
fn host_config(dir: &TempDir, c: &Collector) -> Config {
    let mut cfg = collector_config(dir, c);
    cfg.set_api_key("k1").unwrap();
    cfg.set_transport(Some(Arc::new(perform)));
    cfg
}

#[test]
fn a_host_transport_carries_batches_and_url_hits() {
    let c = Collector::start();
    let dir = TempDir::new("hosttransport");
    let mut cfg = host_config(&dir, &c);
    let calls = Arc::new(AtomicUsize::new(0));
    let n = Arc::clone(&calls);
    cfg.set_transport(Some(Arc::new(move |req| {
        n.fetch_add(1, SeqCst);
        perform(req)
    })));
    let t = Tracker::new(cfg).unwrap();
    for _ in 0..700 {
        t.track_event("e", Some(r#"{"x":1}"#), None).unwrap();
    }
    t.send_hit(&format!("{}/pixel?p=1", c.url()), "screen", None).unwrap();
    let r = dispatch(&t);
    assert_eq!((r.status, r.sent), (Ok(()), 701));
    assert_eq!(calls.load(SeqCst), 3, "two batches (500 + 200) and one GET");
    assert_eq!(c.batches()[0].header("authorization"), Some("Bearer k1"));
    assert_eq!(c.hits(), vec!["/pixel?p=1".to_string()]);
}

#[test]
fn host_failures_follow_the_retry_policy() {
    let c = Collector::start();
    c.push_faults(vec![Fault::Status(503)]);
    let dir = TempDir::new("hostretry");
    let mut cfg = host_config(&dir, &c);
    cfg.set_transport(Some(Arc::new(perform)));
    let t = Tracker::new(cfg).unwrap();
    t.track_event("e", None, None).unwrap();
    let r = dispatch(&t);
    assert_eq!((r.sent, r.failed), (0, 1));
    assert_eq!(t.offline_oldest().unwrap().unwrap().retry_count, 1);
    assert_eq!(dispatch(&t).sent, 1);
    // A host reporting "not reached" consumes no attempt.
    let mut cfg = host_config(&dir, &c);
    cfg.set_transport(Some(Arc::new(|req: HostRequest| {
        req.complete(HostAnswer::Unreachable("offline".into()))
    })));
    drop(t);
    let t = Tracker::new(cfg).unwrap();
    t.track_event("e", None, None).unwrap();
    let r = dispatch(&t);
    assert_eq!(r.status.unwrap_err().status, Status::Network);
    let h = t.offline_oldest().unwrap().unwrap();
    assert_eq!((h.retry_count, h.is_offline), (0, true));
}

#[test]
fn in_polled_mode_the_host_send_function_runs_on_the_polling_thread() {
    let c = Collector::start();
    let dir = TempDir::new("hostpolled");
    let mut cfg = host_config(&dir, &c);
    cfg.set_callback_mode(CallbackMode::Polled);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    cfg.set_transport(Some(Arc::new(move |req| {
        s.lock().unwrap().push(std::thread::current().id());
        perform(req)
    })));
    let t = Tracker::new(cfg).unwrap();
    t.track_event("e", None, None).unwrap();
    let (tx, rx) = mpsc::channel();
    t.offline_dispatch(Some(Box::new(move |r| tx.send(r).unwrap()))).unwrap();
    let report = loop {
        t.poll(0); // a game loop's frame
        if let Ok(r) = rx.try_recv() {
            break r;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(report.sent, 1);
    assert_eq!(*seen.lock().unwrap(), vec![std::thread::current().id()]);
}

#[test]
fn an_unanswered_host_request_fails_after_the_request_timeout() {
    let c = Collector::start();
    let dir = TempDir::new("hostsilent");
    let mut cfg = host_config(&dir, &c);
    cfg.set_timeouts_ms(1000, 300).unwrap();
    let kept = Arc::new(Mutex::new(Vec::new()));
    let k = Arc::clone(&kept);
    cfg.set_transport(Some(Arc::new(move |req| k.lock().unwrap().push(req)))); // never answered
    let t = Tracker::new(cfg).unwrap();
    t.track_event("e", None, None).unwrap();
    let r = dispatch(&t);
    assert_eq!((r.sent, r.failed), (0, 1));
    // A late answer after the timeout changes nothing and does not crash.
    for req in kept.lock().unwrap().drain(..) {
        req.complete(HostAnswer::Status { status: 200, retry_after: None });
    }
    assert_eq!(t.offline_count().unwrap(), 1);
}

#[test]
fn an_exported_batch_is_leased_until_acknowledged() {
    let c = Collector::start();
    let dir = TempDir::new("export");
    let mut cfg = host_config(&dir, &c);
    cfg.set_max_batch_events(3).unwrap();
    let t = Tracker::new(cfg).unwrap();
    for i in 0..5 {
        t.track_event("e", Some(&format!(r#"{{"i":{i}}}"#)), None).unwrap();
    }
    t.send_hit(&format!("{}/pixel", c.url()), "", None).unwrap();
    let first = t.offline_export_batch().unwrap().expect("a batch");
    assert_eq!(first.ids.len(), 3);
    assert_eq!(first.url, format!("{}/v1/batch", c.url()));
    let second = t.offline_export_batch().unwrap().expect("the next batch, not the same rows");
    assert_eq!(second.ids.len(), 2);
    assert!(t.offline_export_batch().unwrap().is_none(), "URL hits are never exported");
    // The host uploads the first one itself, then acknowledges it.
    let mut easy = curl::easy::Easy::new();
    easy.url(&first.url).unwrap();
    let mut list = curl::easy::List::new();
    for (n, v) in &first.headers {
        list.append(&format!("{n}: {v}")).unwrap();
    }
    easy.http_headers(list).unwrap();
    easy.post(true).unwrap();
    easy.post_fields_copy(&first.body).unwrap();
    easy.perform().unwrap();
    assert_eq!(easy.response_code().unwrap(), 200);
    t.offline_ack_batch(&first, true).unwrap();
    t.offline_ack_batch(&second, false).unwrap();
    assert_eq!(t.offline_count().unwrap(), 3, "2 released events + the URL hit");
    assert_eq!(c.unique_message_ids().len(), 3);
    let r = dispatch(&t);
    assert_eq!(r.sent, 3);
    assert_eq!(c.duplicates(), 0);
}

#[test]
fn exported_rows_come_back_after_a_crash() {
    let dir = TempDir::new("exportcrash");
    let c = Collector::start();
    let t = Tracker::new(host_config(&dir, &c)).unwrap();
    t.track_event("e", None, None).unwrap();
    let batch = t.offline_export_batch().unwrap().unwrap();
    std::mem::forget(batch);
    // Never acknowledged: the lease's span stays in the file, as after a crash.
    drop(t);
    let mut cfg = host_config(&dir, &c);
    cfg.set_offline_mode(OfflineMode::Always);
    let t = Tracker::new(cfg).unwrap();
    assert_eq!(t.open_report().recovered_in_flight, 1);
    assert_eq!(dispatch(&t).sent, 1);
}

#[test]
fn closing_a_polled_tracker_runs_the_host_sends_of_its_final_flush() {
    let c = Collector::start();
    let dir = TempDir::new("hostpolledclose");
    let mut cfg = host_config(&dir, &c);
    cfg.set_offline_mode(OfflineMode::Required);
    cfg.set_callback_mode(CallbackMode::Polled);
    cfg.set_transport(Some(Arc::new(perform)));
    let t = Tracker::new(cfg).unwrap();
    for _ in 0..3 {
        t.track_event("e", None, None).unwrap();
    }
    // The host never polls; closing from its thread still sends what it can.
    t.close(Duration::from_secs(3)).unwrap();
    assert_eq!(c.unique_message_ids().len(), 3);
    drop(t);
    let t = Tracker::new(host_config(&dir, &c)).unwrap();
    assert_eq!(t.offline_count().unwrap(), 0);
}

/// Built without libcurl (`--no-default-features`), a tracker needs the host's
/// transport, and says so.
#[cfg(not(feature = "curl-transport"))]
#[test]
fn without_libcurl_the_host_transport_is_required() {
    let dir = TempDir::new("nocurl");
    let err = Tracker::new(common::config(&dir.db())).err().expect("refused");
    assert_eq!(err.status, Status::InvalidArgument);
    assert!(err.message.contains("at_config_set_transport"), "{}", err.message);
}
