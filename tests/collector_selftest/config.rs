//! The served remote configuration: 200 with an ETag, 304, 404, and faults and
//! auth applied to its fetches.

use std::time::{Duration, Instant};

use crate::client::{client, get, get_with, post_with};
use crate::collector::{Collector, Fault};

pub(crate) const CONFIG_V1: &str = r#"{"flushAt":20,"sampling":1.0}"#;
const CONFIG_V2: &str = r#"{"flushAt":50,"sampling":0.5}"#;

#[test]
fn config_is_served_with_etag_and_304() {
    let c = Collector::start();
    let mut e = client();
    let url = format!("{}/v1/config", c.url());
    c.set_config("/v1/config", Some(CONFIG_V1.into()), Some("\"v1\"".into()));

    // 200 with the body and the ETag; a query does not matter.
    let r = get(&mut e, &format!("{url}?app=demo")).unwrap();
    assert_eq!(r.code, 200);
    assert_eq!(r.body, CONFIG_V1.as_bytes());
    assert_eq!(r.header("etag"), Some("\"v1\""));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-length"), Some(CONFIG_V1.len().to_string().as_str()));

    // A matching If-None-Match: 304, the ETag, no body.
    let r = get_with(&mut e, &url, &["If-None-Match: \"v1\""]).unwrap();
    assert_eq!(r.code, 304);
    assert_eq!(r.status_lines.last().map(String::as_str), Some("HTTP/1.1 304 Not Modified"));
    assert_eq!(r.header("etag"), Some("\"v1\""));
    assert!(r.body.is_empty());
    assert!(r.header("date").is_some());
    // A different one: 200.
    let r = get_with(&mut e, &url, &["If-None-Match: \"v0\""]).unwrap();
    assert_eq!((r.code, r.body.as_slice()), (200, CONFIG_V1.as_bytes()));

    // A new document and etag: the old etag gets 200 and the new document.
    c.set_config("/v1/config", Some(CONFIG_V2.into()), Some("\"v2\"".into()));
    let r = get_with(&mut e, &url, &["If-None-Match: \"v1\""]).unwrap();
    assert_eq!(r.code, 200);
    assert_eq!(r.body, CONFIG_V2.as_bytes());
    assert_eq!(r.header("etag"), Some("\"v2\""));
    let r = get_with(&mut e, &url, &["If-None-Match: \"v2\""]).unwrap();
    assert_eq!(r.code, 304);

    // Other GETs are still hits; config GETs are logged but are not hits.
    assert_eq!(get(&mut e, &format!("{}/v1/config2?x", c.url())).unwrap().code, 200);
    assert_eq!(c.hits(), vec!["/v1/config2?x".to_string()]);
    assert_eq!(c.config_fetches(), 5);
    assert_eq!(c.config_not_modified(), 2);
    let log: Vec<(String, u16)> = c.requests().iter().map(|r| (r.path.clone(), r.status)).collect();
    assert_eq!(
        log,
        vec![
            ("/v1/config?app=demo".to_string(), 200),
            ("/v1/config".to_string(), 304),
            ("/v1/config".to_string(), 200),
            ("/v1/config".to_string(), 200),
            ("/v1/config".to_string(), 304),
            ("/v1/config2?x".to_string(), 200),
        ]
    );
    assert_eq!(c.requests()[1].header("if-none-match"), Some("\"v1\""));
    // The 304 (no body, no Content-Length) kept the connection usable.
    assert_eq!(c.connections(), 1);
    // A POST to the config path is not the config.
    let r = post_with(&mut e, &url, b"{}", &["Content-Type: application/json"]).unwrap();
    assert_eq!(r.code, 404);
    assert_eq!(c.config_fetches(), 5);
}

#[test]
fn config_without_etag_and_without_body() {
    let c = Collector::start();
    let mut e = client();
    let url = format!("{}/cfg.json", c.url());
    c.set_config("/cfg.json", Some(CONFIG_V1.into()), None);
    let r = get_with(&mut e, &url, &["If-None-Match: \"v1\""]).unwrap();
    assert_eq!(r.code, 200);
    assert_eq!(r.body, CONFIG_V1.as_bytes());
    assert!(r.header("etag").is_none());

    // No document: 404, still a config fetch, not a hit.
    c.set_config("/cfg.json", None, Some("\"v1\"".into()));
    let r = get_with(&mut e, &url, &["If-None-Match: \"v1\""]).unwrap();
    assert_eq!(r.code, 404);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), Some("0"));

    // Moved to another path: the old one is a plain hit again.
    c.set_config("/v2/cfg", Some(CONFIG_V2.into()), Some("\"w\"".into()));
    assert_eq!(get(&mut e, &url).unwrap().code, 200);
    assert_eq!(get(&mut e, &format!("{}/v2/cfg", c.url())).unwrap().body, CONFIG_V2.as_bytes());
    assert_eq!(c.hits(), vec!["/cfg.json".to_string()]);
    assert_eq!(c.config_fetches(), 3);
    assert_eq!(c.config_not_modified(), 0);
}

#[test]
fn faults_apply_to_config_fetches() {
    let c = Collector::start();
    let mut e = client();
    let url = format!("{}/v1/config", c.url());
    c.set_config("/v1/config", Some(CONFIG_V1.into()), Some("\"v1\"".into()));

    c.set_fault(Fault::Status(503));
    let r = get(&mut e, &url).unwrap();
    assert_eq!(r.code, 503);
    assert!(r.body.is_empty());
    assert!(r.header("etag").is_none());
    // Even a matching If-None-Match gets the fault, not a 304.
    assert_eq!(get_with(&mut e, &url, &["If-None-Match: \"v1\""]).unwrap().code, 503);

    c.set_fault(Fault::RetryAfter(429, "7".into()));
    let r = get(&mut e, &url).unwrap();
    assert_eq!((r.code, r.header("retry-after")), (429, Some("7")));

    c.set_fault(Fault::None);
    let mut fresh = client();
    c.push_faults(vec![Fault::Reset]);
    assert!(get(&mut fresh, &url).is_err());
    c.push_faults(vec![Fault::AcceptThenClose]);
    assert!(get(&mut client(), &url).is_err());

    c.push_faults(vec![Fault::Delay(Duration::from_millis(200))]);
    let t0 = Instant::now();
    let r = get(&mut e, &url).unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(200));
    assert_eq!((r.code, r.body.as_slice()), (200, CONFIG_V1.as_bytes()));

    assert!(c.hits().is_empty());
    // 503, 503, 429, the reset one, the delayed one; the connection closed at
    // accept carried no request.
    assert_eq!(c.config_fetches(), 5);
    assert_eq!(c.config_not_modified(), 0);
    let statuses: Vec<u16> = c.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 503, 429, 0, 0, 200]);

    // Required auth too.
    c.set_required_auth(Some("Bearer k".into()));
    assert_eq!(get(&mut e, &url).unwrap().code, 401);
    assert_eq!(get_with(&mut e, &url, &["Authorization: Bearer k"]).unwrap().code, 200);
    assert_eq!(c.config_fetches(), 7);
}
