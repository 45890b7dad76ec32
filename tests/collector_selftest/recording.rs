//! What the collector records (batches, events, GET hits, headers, gzip and
//! chunked bodies, duplicates) and what it rejects (invalid requests, poison,
//! a missing or wrong `Authorization`).

use std::time::Duration;

use curl::easy::List;
use serde_json::{json, Value};

use crate::client::{batch, client, get, gzip, perform, post, post_with};
use crate::collector::Collector;

#[test]
fn post_batch_is_recorded_with_headers_and_body() {
    let c = Collector::start();
    assert!(c.url().starts_with("http://127.0.0.1:"));
    assert!(!c.url().ends_with('/'));
    let mut e = client();
    let body = batch(&[("screen_view", "m1"), ("tap", "m2")]);
    let r = post_with(
        &mut e,
        &format!("{}/v1/batch", c.url()),
        &body,
        &["Content-Type: application/json", "Authorization: Bearer key-1", "User-Agent: selftest/1"],
    )
    .unwrap();
    assert_eq!(r.code, 200);
    assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap(), json!({"success": true}));

    let batches = c.batches();
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(b.header("Authorization"), Some("Bearer key-1"));
    assert_eq!(b.header("user-agent"), Some("selftest/1"));
    assert_eq!(b.header("content-type"), Some("application/json"));
    assert!(b.headers.iter().all(|(n, _)| *n == n.to_ascii_lowercase()));
    assert!(!b.gzip);
    assert_eq!(b.body_bytes, body.len());
    assert_eq!(b.decoded_bytes, body.len());
    assert_eq!(b.body["sentAt"], "2026-11-22T16:46:40.123Z");
    assert_eq!(b.events().len(), 2);
    assert_eq!(b.events()[1]["event"], "tap");

    let events = c.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["messageId"], "m1");
    assert_eq!(c.unique_message_ids().len(), 2);
    assert_eq!(c.duplicates(), 0);
    assert!(c.wait_for_events(2, Duration::ZERO));

    let reqs = c.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/v1/batch");
    assert_eq!(reqs[0].status, 200);
    assert_eq!(reqs[0].event_count, 2);
    assert_eq!(reqs[0].header("authorization"), Some("Bearer key-1"));
    assert!(c.hits().is_empty());
}

#[test]
fn gzip_body_is_decoded() {
    let c = Collector::start();
    let mut e = client();
    let json = batch(&[("a", "g1"), ("b", "g2"), ("c", "g3")]);
    let zipped = gzip(&json);
    let r = post_with(
        &mut e,
        &format!("{}/v1/batch", c.url()),
        &zipped,
        &["Content-Type: application/json", "Content-Encoding: gzip"],
    )
    .unwrap();
    assert_eq!(r.code, 200);
    let b = &c.batches()[0];
    assert!(b.gzip);
    assert_eq!(b.body_bytes, zipped.len());
    assert_eq!(b.decoded_bytes, json.len());
    assert_eq!(b.events().len(), 3);
    assert_eq!(b.header("content-encoding"), Some("gzip"));

    // Not actually gzip: 400, not recorded.
    let r = post_with(
        &mut e,
        &format!("{}/v1/batch", c.url()),
        &json,
        &["Content-Type: application/json", "Content-Encoding: gzip"],
    )
    .unwrap();
    assert_eq!(r.code, 400);
    assert_eq!(c.batches().len(), 1);
}

#[test]
fn chunked_request_body_is_decoded() {
    let c = Collector::start();
    let mut e = client();
    let body = batch(&[("chunky", "c1")]);
    e.url(&format!("{}/v1/batch", c.url())).unwrap();
    e.post(true).unwrap();
    let mut list = List::new();
    list.append("Content-Type: application/json").unwrap();
    list.append("Transfer-Encoding: chunked").unwrap();
    e.http_headers(list).unwrap();
    let r = perform(&mut e, Some(body.clone())).unwrap();
    assert_eq!(r.code, 200);
    let reqs = c.requests();
    assert_eq!(reqs[0].header("transfer-encoding"), Some("chunked"));
    let b = &c.batches()[0];
    assert_eq!(b.events()[0]["event"], "chunky");
    assert_eq!(b.body_bytes, body.len());
}

#[test]
fn large_post_gets_100_continue() {
    // libcurl sends `Expect: 100-continue` on its own for bodies over 1 MB;
    // ask for it explicitly too, so the test does not depend on that threshold.
    let c = Collector::start();
    let mut e = client();
    let ids: Vec<String> = (0..12_000).map(|i| format!("big-{i:05}-{}", "x".repeat(80))).collect();
    let pairs: Vec<(&str, &str)> = ids.iter().map(|id| ("bulk", id.as_str())).collect();
    let body = batch(&pairs);
    assert!(body.len() > 1_100_000, "{}", body.len());
    let r = post_with(
        &mut e,
        &format!("{}/v1/batch", c.url()),
        &body,
        &["Content-Type: application/json", "Expect: 100-continue"],
    )
    .unwrap();
    assert_eq!(r.code, 200);
    assert!(r.status_lines.iter().any(|l| l.starts_with("HTTP/1.1 100")), "{:?}", r.status_lines);
    assert_eq!(c.requests()[0].header("expect"), Some("100-continue"));
    assert_eq!(c.batches()[0].events().len(), 12_000);
    assert_eq!(c.unique_message_ids().len(), 12_000);
}

#[test]
fn get_hits_are_recorded() {
    let c = Collector::start();
    let mut e = client();
    let r = get(&mut e, &format!("{}/piwik.php?idsite=1&action_name=Home%20page", c.url())).unwrap();
    assert_eq!(r.code, 200);
    assert_eq!(r.header("content-length"), Some("0"));
    get(&mut e, &format!("{}/", c.url())).unwrap();
    assert!(c.wait_for_hits(2, Duration::ZERO));
    assert_eq!(c.hits(), vec!["/piwik.php?idsite=1&action_name=Home%20page".to_string(), "/".to_string()]);
    assert!(c.batches().is_empty());
    assert!(!c.wait_for_hits(3, Duration::from_millis(50)));
}

#[test]
fn invalid_requests_get_400_and_are_not_recorded() {
    let c = Collector::start();
    let mut e = client();
    let url = format!("{}/v1/batch", c.url());
    let good = batch(&[("a", "v1")]);
    let cases: Vec<(Vec<u8>, &str, u32)> = vec![
        (b"{not json".to_vec(), "Content-Type: application/json", 400),
        (br#"{"sentAt":"x"}"#.to_vec(), "Content-Type: application/json", 400),
        (br#"{"batch":{"a":1}}"#.to_vec(), "Content-Type: application/json", 400),
        (good.clone(), "Content-Type: text/plain", 400),
        (good.clone(), "X-No-Content-Type: 1", 400),
        (good.clone(), "Content-Type: application/json; charset=utf-8", 200),
    ];
    for (body, header, want) in &cases {
        let r = post_with(&mut e, &url, body, &[header]).unwrap();
        assert_eq!(r.code, *want, "{header} {}", String::from_utf8_lossy(body));
    }
    let r = post_with(&mut e, &format!("{}/v1/other", c.url()), &good, &["Content-Type: application/json"])
        .unwrap();
    assert_eq!(r.code, 404);
    e.custom_request("PUT").unwrap();
    let r = post(&mut e, &c, &good).unwrap();
    assert_eq!(r.code, 405);
    e.custom_request("POST").unwrap();

    assert_eq!(c.batches().len(), 1);
    let statuses: Vec<u16> = c.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![400, 400, 400, 400, 400, 200, 404, 405]);
    // One connection for all of them: errors keep the connection.
    assert_eq!(c.connections(), 1);
}

#[test]
fn poison_rejects_only_batches_containing_it() {
    let c = Collector::start();
    let mut e = client();
    c.set_poison(Some("bad".into()));
    assert_eq!(post(&mut e, &c, &batch(&[("good", "p1"), ("bad", "p2"), ("good", "p3")])).unwrap().code, 400);
    assert_eq!(post(&mut e, &c, &batch(&[("good", "p1")])).unwrap().code, 200);
    assert_eq!(post(&mut e, &c, &batch(&[("bad", "p2")])).unwrap().code, 400);
    assert_eq!(post(&mut e, &c, &batch(&[("good", "p3")])).unwrap().code, 200);
    assert_eq!(c.batches().len(), 2);
    let ids = c.unique_message_ids();
    assert!(ids.contains("p1") && ids.contains("p3") && !ids.contains("p2"));
    let counts: Vec<(u16, usize)> = c.requests().iter().map(|r| (r.status, r.event_count)).collect();
    assert_eq!(counts, vec![(400, 3), (200, 1), (400, 1), (200, 1)]);

    c.set_poison(None);
    assert_eq!(post(&mut e, &c, &batch(&[("bad", "p2")])).unwrap().code, 200);
}

#[test]
fn required_auth_gives_401() {
    let c = Collector::start();
    let mut e = client();
    let url = format!("{}/v1/batch", c.url());
    let body = batch(&[("a", "au1")]);
    c.set_required_auth(Some("Bearer right".into()));
    let ct = "Content-Type: application/json";
    assert_eq!(post_with(&mut e, &url, &body, &[ct]).unwrap().code, 401);
    assert_eq!(post_with(&mut e, &url, &body, &[ct, "Authorization: Bearer wrong"]).unwrap().code, 401);
    assert_eq!(post_with(&mut e, &url, &body, &[ct, "Authorization: Bearer right"]).unwrap().code, 200);
    assert_eq!(get(&mut e, &format!("{}/h", c.url())).unwrap().code, 401);
    assert_eq!(c.batches().len(), 1);
    assert!(c.hits().is_empty());
    c.set_required_auth(None);
    assert_eq!(post_with(&mut e, &url, &body, &[ct]).unwrap().code, 200);
}

#[test]
fn duplicates_count_resent_message_ids() {
    let c = Collector::start();
    let mut e = client();
    post(&mut e, &c, &batch(&[("a", "m1"), ("b", "m2")])).unwrap();
    post(&mut e, &c, &batch(&[("b", "m2"), ("c", "m3")])).unwrap();
    post(&mut e, &c, &batch(&[("a", "m1")])).unwrap();
    assert_eq!(c.events().len(), 5);
    assert_eq!(c.unique_message_ids().len(), 3);
    assert_eq!(c.duplicates(), 2);
    assert!(c.wait_for_events(3, Duration::ZERO));
    assert!(!c.wait_for_events(4, Duration::from_millis(50)));
}
