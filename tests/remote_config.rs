//! Remote configuration against the test collector serving the document: the
//! last-good cache, refusals, 304, the kill switch, sampling, the endpoint rule.

mod common;

use std::sync::mpsc;

use attracker::{Config, LogLevel, OfflineMode, Status, Tracker};
use common::collector::{Collector, Fault};
use common::{collector_config, dispatch, wait_until, Logs, TempDir, WAIT};

/// `collector_config`, fetching the collector's `/config` every 150 ms.
fn polling_config(dir: &TempDir, c: &Collector) -> Config {
    let mut cfg = collector_config(dir, c);
    cfg.set_remote_config_url(Some(&format!("{}/config", c.url()))).unwrap();
    cfg.set_remote_config_interval_ms(150).unwrap();
    cfg
}

fn doc(body: &str) -> String {
    format!(r#"{{"schema_version":1,{body}}}"#)
}

/// Serves `body` with an ETag derived from it.
fn serve(c: &Collector, body: &str) {
    c.set_config("/config", Some(body.to_owned()), Some(format!("\"{}\"", body.len())));
}

#[test]
fn first_start_without_network_uses_the_built_in_settings() {
    let dir = TempDir::new("rc-offline");
    let c = Collector::start();
    let mut cfg = polling_config(&dir, &c);
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/config", l.local_addr().unwrap())
    };
    cfg.set_remote_config_url(Some(&refused)).unwrap();
    let logs = Logs::default();
    logs.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    wait_until("a failed fetch", || logs.wait_for(LogLevel::Warn, "remote config fetch failed").is_some());
    assert!(logs.wait_for(LogLevel::Warn, "built-in settings").is_some());
    assert_eq!(t.remote_config_json(), None);
    t.track_event("e", None, None).unwrap();
    assert_eq!(t.offline_count().unwrap(), 1);
}

#[test]
fn the_last_good_document_applies_after_a_restart_during_an_outage() {
    let dir = TempDir::new("rc-lastgood");
    let c = Collector::start();
    let body = doc(r#""tracking_enabled":false,"mine":{"theme":"dark"}"#);
    serve(&c, &body);
    let (tx, rx) = mpsc::channel();
    let mut cfg = polling_config(&dir, &c);
    cfg.set_remote_config_callback(Some(std::sync::Arc::new(move |d: &str| tx.send(d.to_owned()).unwrap())));
    let t = Tracker::new(cfg).unwrap();
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), body, "the callback gets the document");
    assert_eq!(t.remote_config_json().as_deref(), Some(body.as_str()));
    assert_eq!(t.track_event("e", None, None).unwrap_err().status, Status::Suppressed);
    drop(t);

    // The collector is down: the cached document is in force from the start.
    c.set_fault(Fault::Status(503));
    let logs = Logs::default();
    let mut cfg = polling_config(&dir, &c);
    logs.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    assert_eq!(t.remote_config_json().as_deref(), Some(body.as_str()));
    let err = t.track_event("e", None, None).unwrap_err();
    assert_eq!(err.status, Status::Suppressed);
    assert!(err.message.contains("remote configuration"), "{}", err.message);
    wait_until("a failed fetch", || logs.wait_for(LogLevel::Warn, "keeping the last good one").is_some());
    assert_eq!(t.offline_count().unwrap(), 0, "nothing buffered while switched off");

    // Back up, with collection switched on again (a new ETag).
    c.set_fault(Fault::None);
    let on = doc(r#""tracking_enabled":true"#);
    serve(&c, &on);
    wait_until("the new document", || t.remote_config_json().as_deref() == Some(on.as_str()));
    t.track_event("e", None, None).unwrap();
    assert_eq!(t.offline_count().unwrap(), 1);
}

#[test]
fn an_invalid_document_keeps_the_previous_one_with_a_warning() {
    let dir = TempDir::new("rc-invalid");
    let c = Collector::start();
    let good = doc(r#""flush_threshold":7"#);
    serve(&c, &good);
    let logs = Logs::default();
    let mut cfg = polling_config(&dir, &c);
    logs.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    wait_until("the first document", || t.remote_config_json().is_some());
    for (bad, why) in [
        ("{not json", "not valid JSON"),
        (r#"{"schema_version":2,"tracking_enabled":false}"#, "schema_version is 2"),
        ("[]", "not a JSON object"),
    ] {
        serve(&c, bad);
        wait_until(why, || logs.find(LogLevel::Warn, why).is_some());
        assert_eq!(t.remote_config_json().as_deref(), Some(good.as_str()));
    }
    t.track_event("e", None, None).unwrap();
    drop(t);
    let stored: String = rusqlite::Connection::open(dir.db())
        .unwrap()
        .query_row("SELECT value FROM meta WHERE key = 'remote_config'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, good, "the store keeps the last good document");
}

#[test]
fn values_out_of_range_are_ignored_one_by_one() {
    let dir = TempDir::new("rc-range");
    let c = Collector::start();
    serve(
        &c,
        &doc(
            r#""sample_rate":7,"flush_threshold":"x","endpoint":"http://plain.example.com","tracking_enabled":false"#,
        ),
    );
    let logs = Logs::default();
    let mut cfg = polling_config(&dir, &c);
    logs.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    wait_until("the document", || t.remote_config_json().is_some());
    for key in ["sample_rate", "flush_threshold", "endpoint"] {
        // Logs reach the host on the callback thread, after the document.
        wait_until(key, || logs.find(LogLevel::Warn, &format!("{key} ignored")).is_some());
    }
    assert_eq!(
        t.track_event("e", None, None).unwrap_err().status,
        Status::Suppressed,
        "the good value applies"
    );
}

#[test]
fn an_unchanged_document_is_not_downloaded_again() {
    let dir = TempDir::new("rc-304");
    let c = Collector::start();
    let body = doc(r#""flush_threshold":9"#);
    serve(&c, &body);
    let t = Tracker::new(polling_config(&dir, &c)).unwrap();
    wait_until("two 304 answers", || c.config_not_modified() >= 2);
    assert_eq!(t.remote_config_json().as_deref(), Some(body.as_str()));
    assert!(c.config_fetches() >= 3);
}

#[test]
fn a_threshold_from_the_document_drives_automatic_sends() {
    let dir = TempDir::new("rc-threshold");
    let c = Collector::start();
    serve(&c, &doc(r#""flush_threshold":3,"flush_interval_ms":0"#));
    let mut cfg = polling_config(&dir, &c);
    cfg.set_offline_mode(OfflineMode::Required);
    cfg.set_flush_threshold(1000);
    cfg.set_flush_interval_ms(0);
    let t = Tracker::new(cfg).unwrap();
    wait_until("the document", || t.remote_config_json().is_some());
    for _ in 0..3 {
        t.track_event("e", None, None).unwrap();
    }
    assert!(c.wait_for_events(3, WAIT), "three hits reach the remote threshold");
}

#[test]
fn sampling_keeps_each_visitor_in_or_out_across_restarts() {
    let dir = TempDir::new("rc-sample");
    let c = Collector::start();
    serve(&c, &doc(r#""sample_rate":0.5"#));
    let decide = |t: &Tracker| -> Vec<bool> {
        (0..60)
            .map(|i| {
                t.set_visitor_id(&format!("visitor-{i}")).unwrap();
                match t.track_event("e", None, None) {
                    Ok(()) => true,
                    Err(e) if e.status == Status::Suppressed => false,
                    Err(e) => panic!("{e:?}"),
                }
            })
            .collect()
    };
    let t = Tracker::new(polling_config(&dir, &c)).unwrap();
    wait_until("the document", || t.remote_config_json().is_some());
    let first = decide(&t);
    drop(t);
    c.set_fault(Fault::Status(500)); // the cached document decides alone
    let t = Tracker::new(polling_config(&dir, &c)).unwrap();
    assert_eq!(decide(&t), first, "each visitor is in or out consistently");
    let inside = first.iter().filter(|&&x| x).count();
    assert!((15..=45).contains(&inside), "{inside} of 60 visitors sampled at 0.5");
}

#[test]
fn an_https_endpoint_on_an_allowed_host_is_taken() {
    let dir = TempDir::new("rc-endpoint");
    let c = Collector::start();
    // An allowed https host on loopback where nothing listens: batches go there
    // (and fail), not to the collector any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    serve(&c, &doc(&format!(r#""endpoint":"https://localhost:{port}""#)));
    let mut cfg = polling_config(&dir, &c);
    cfg.add_allowed_endpoint_host("localhost").unwrap();
    let t = Tracker::new(cfg).unwrap();
    wait_until("the document", || t.remote_config_json().is_some());
    t.track_event("e", None, None).unwrap();
    let r = dispatch(&t);
    assert_eq!((r.sent, c.unique_message_ids().len()), (0, 0), "nothing went to the old endpoint");
    assert_eq!(r.status.unwrap_err().status, Status::Network);
    assert_eq!(t.offline_count().unwrap(), 1, "kept for the new one");
}
