//! Tests of the test collector itself (tests/support/collector.rs), with
//! libcurl (the `curl` crate) as the client, on loopback only. The delivery
//! tests trust the collector; these make that trust earned.

#[path = "support/collector/mod.rs"]
mod collector;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use collector::{http_date, Collector, Fault};
use curl::easy::{Easy, List};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// A small curl client

struct Resp {
    code: u32,
    /// Header lines of every response seen (1xx included), names lowercased.
    headers: Vec<(String, String)>,
    /// Status lines seen, e.g. "HTTP/1.1 100 Continue".
    status_lines: Vec<String>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

fn client() -> Easy {
    let mut e = Easy::new();
    e.noproxy("*").unwrap();
    e.timeout(Duration::from_secs(5)).unwrap();
    e.connect_timeout(Duration::from_secs(2)).unwrap();
    e
}

fn perform(e: &mut Easy, upload: Option<Vec<u8>>) -> Result<Resp, curl::Error> {
    let mut headers = Vec::new();
    let mut status_lines = Vec::new();
    let mut body = Vec::new();
    let mut upload = upload.map(std::io::Cursor::new);
    {
        let mut t = e.transfer();
        t.header_function(|line| {
            let line = String::from_utf8_lossy(line).trim_end().to_string();
            if line.starts_with("HTTP/") {
                status_lines.push(line);
            } else if let Some((n, v)) = line.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
            true
        })?;
        t.write_function(|d| {
            body.extend_from_slice(d);
            Ok(d.len())
        })?;
        if let Some(up) = upload.as_mut() {
            t.read_function(move |buf| Ok(up.read(buf).unwrap_or(0)))?;
        }
        t.perform()?;
    }
    Ok(Resp { code: e.response_code()?, headers, status_lines, body })
}

fn post_with(e: &mut Easy, url: &str, body: &[u8], extra_headers: &[&str]) -> Result<Resp, curl::Error> {
    e.url(url)?;
    e.post(true)?;
    e.post_fields_copy(body)?;
    let mut list = List::new();
    for h in extra_headers {
        list.append(h)?;
    }
    e.http_headers(list)?;
    perform(e, None)
}

/// POST {url}/v1/batch with a JSON body.
fn post(e: &mut Easy, c: &Collector, body: &[u8]) -> Result<Resp, curl::Error> {
    post_with(e, &format!("{}/v1/batch", c.url()), body, &["Content-Type: application/json"])
}

fn get(e: &mut Easy, url: &str) -> Result<Resp, curl::Error> {
    get_with(e, url, &[])
}

fn get_with(e: &mut Easy, url: &str, extra_headers: &[&str]) -> Result<Resp, curl::Error> {
    e.url(url)?;
    e.get(true)?;
    let mut list = List::new();
    for h in extra_headers {
        list.append(h)?;
    }
    e.http_headers(list)?;
    perform(e, None)
}

/// A batch body with one event per (event name, messageId).
fn batch(events: &[(&str, &str)]) -> Vec<u8> {
    let events: Vec<Value> = events
        .iter()
        .map(|(name, id)| {
            json!({"type": "track", "event": name, "messageId": id,
                   "anonymousId": "visitor-1", "timestamp": "2026-11-22T16:46:30.001Z",
                   "properties": {"k": "v"}, "retryCount": 0})
        })
        .collect();
    serde_json::to_vec(&json!({"sentAt": "2026-11-22T16:46:40.123Z", "batch": events})).unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

const SHORT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------
// Recording

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
fn raw_100_continue_comes_before_the_body_is_sent() {
    let c = Collector::start();
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.set_read_timeout(Some(SHORT)).unwrap();
    let body = batch(&[("raw", "r1")]);
    write!(
        s,
        "POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(&body).unwrap();
    let head = read_response_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(c.wait_for_events(1, SHORT));
}

/// Reads one response (head and its Content-Length body); returns the head.
fn read_response_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("Content-Length")
        .trim()
        .parse()
        .unwrap();
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    head
}

#[test]
fn raw_pipelined_requests_and_http10() {
    let c = Collector::start();
    // Two requests in one write, then `Connection: close` on the second.
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.set_read_timeout(Some(SHORT)).unwrap();
    s.write_all(
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert!(read_response_head(&mut s).starts_with("HTTP/1.1 200"));
    let second = read_response_head(&mut s);
    assert!(second.contains("Connection: close\r\n"), "{second}");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap(); // the server closed
    assert!(rest.is_empty());
    assert_eq!(c.hits(), vec!["/a".to_string(), "/b?q=1".to_string()]);

    // HTTP/1.0 without keep-alive: one request per connection.
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.set_read_timeout(Some(SHORT)).unwrap();
    s.write_all(b"GET /old HTTP/1.0\r\n\r\n").unwrap();
    assert!(read_response_head(&mut s).starts_with("HTTP/1.1 200"));
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());

    // Garbage: 400 and close.
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.set_read_timeout(Some(SHORT)).unwrap();
    s.write_all(b"hello there\r\n\r\n").unwrap();
    assert!(read_response_head(&mut s).starts_with("HTTP/1.1 400"));
    assert_eq!(c.connections(), 3);
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
fn every_response_has_date_and_content_length() {
    let c = Collector::start();
    let mut e = client();
    let good = batch(&[("a", "d1")]);
    let mut responses = vec![post(&mut e, &c, &good).unwrap(), post(&mut e, &c, b"{not json").unwrap()];
    c.set_fault(Fault::Status(503));
    responses.push(post(&mut e, &c, &good).unwrap());
    c.set_fault(Fault::RetryAfter(429, "1".into()));
    responses.push(get(&mut e, &format!("{}/x", c.url())).unwrap());
    let codes: Vec<u32> = responses.iter().map(|r| r.code).collect();
    assert_eq!(codes, vec![200, 400, 503, 429]);
    for r in &responses {
        let date = r.header("date").expect("Date");
        assert_eq!(date.len(), 29, "{date}");
        assert!(date.ends_with(" GMT"), "{date}");
        let len: usize = r.header("content-length").expect("Content-Length").parse().unwrap();
        assert_eq!(len, r.body.len());
    }
}

#[test]
fn http_date_format() {
    assert_eq!(http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(http_date(UNIX_EPOCH + Duration::from_secs(1_709_208_000)), "Thu, 29 Feb 2024 12:00:00 GMT");
    assert_eq!(
        collector::iso8601(UNIX_EPOCH + Duration::from_millis(1_795_366_000_123)),
        "2026-11-22T16:46:40.123Z"
    );
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

// ---------------------------------------------------------------------------
// Connections

#[test]
fn keep_alive_reuses_one_connection() {
    let c = Collector::start();
    let mut e = client();
    post(&mut e, &c, &batch(&[("a", "k1")])).unwrap();
    post(&mut e, &c, &batch(&[("b", "k2")])).unwrap();
    get(&mut e, &format!("{}/hit", c.url())).unwrap();
    assert_eq!(c.connections(), 1);
    let reqs = c.requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs.iter().all(|r| r.connection == 1));
    assert!(c.wait_for_events(2, Duration::ZERO));

    // A second handle is a second connection.
    let mut other = client();
    post(&mut other, &c, &batch(&[("c", "k3")])).unwrap();
    assert_eq!(c.connections(), 2);
}

#[test]
fn connection_close_is_honoured() {
    let c = Collector::start();
    let mut e = client();
    let url = format!("{}/v1/batch", c.url());
    for id in ["cc1", "cc2"] {
        let r = post_with(
            &mut e,
            &url,
            &batch(&[("a", id)]),
            &["Content-Type: application/json", "Connection: close"],
        )
        .unwrap();
        assert_eq!(r.code, 200);
        assert_eq!(r.header("connection"), Some("close"));
    }
    assert_eq!(c.connections(), 2);
    assert_eq!(c.unique_message_ids().len(), 2);
}

// ---------------------------------------------------------------------------
// Faults

#[test]
fn fault_status_answers_without_recording() {
    let c = Collector::start();
    let mut e = client();
    let body = batch(&[("a", "s1"), ("b", "s2")]);
    for status in [400u16, 401, 403, 413, 500, 503] {
        c.set_fault(Fault::Status(status));
        let r = post(&mut e, &c, &body).unwrap();
        assert_eq!(r.code, u32::from(status));
        assert!(r.header("retry-after").is_none());
    }
    assert!(c.batches().is_empty());
    assert!(c.events().is_empty());
    let reqs = c.requests();
    assert_eq!(reqs.len(), 6);
    assert!(reqs.iter().all(|r| r.event_count == 2 && r.path == "/v1/batch"));
    assert_eq!(reqs.iter().map(|r| r.status).collect::<Vec<_>>(), vec![400, 401, 403, 413, 500, 503]);

    c.set_fault(Fault::None);
    assert_eq!(post(&mut e, &c, &body).unwrap().code, 200);
    assert_eq!(c.batches().len(), 1);
    // Faults apply to GETs too.
    c.set_fault(Fault::Status(500));
    assert_eq!(get(&mut e, &format!("{}/h", c.url())).unwrap().code, 500);
    assert!(c.hits().is_empty());
    assert_eq!(c.connections(), 1);
}

#[test]
fn fault_retry_after_sends_the_header() {
    let c = Collector::start();
    let mut e = client();
    let body = batch(&[("a", "ra1")]);
    c.set_fault(Fault::RetryAfter(429, "2".into()));
    let r = post(&mut e, &c, &body).unwrap();
    assert_eq!(r.code, 429);
    assert_eq!(r.header("retry-after"), Some("2"));

    let when = http_date(SystemTime::now() + Duration::from_secs(3));
    c.set_fault(Fault::RetryAfter(503, when.clone()));
    let r = post(&mut e, &c, &body).unwrap();
    assert_eq!(r.code, 503);
    assert_eq!(r.header("retry-after"), Some(when.as_str()));
    assert!(c.batches().is_empty());
}

#[test]
fn fault_reset_gives_a_curl_error() {
    let c = Collector::start();
    let mut e = client();
    c.set_fault(Fault::Reset);
    let t0 = Instant::now();
    let err = post(&mut e, &c, &batch(&[("a", "rs1")])).err().expect("an error");
    assert!(t0.elapsed() < SHORT, "{:?}", t0.elapsed());
    assert!(!err.is_operation_timedout(), "{err}");
    let reqs = c.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].status, 0);
    assert_eq!(reqs[0].method, "POST");
    assert!(c.batches().is_empty());
    // A GET is reset too.
    assert!(get(&mut e, &format!("{}/h", c.url())).is_err());
    assert!(c.hits().is_empty());
}

#[test]
fn fault_accept_then_close_gives_a_curl_error() {
    let c = Collector::start();
    let mut e = client();
    c.set_fault(Fault::AcceptThenClose);
    let t0 = Instant::now();
    let err = post(&mut e, &c, &batch(&[("a", "ac1")])).err().expect("an error");
    assert!(t0.elapsed() < SHORT, "{:?}", t0.elapsed());
    assert!(!err.is_operation_timedout(), "{err}");
    assert!(!err.is_couldnt_connect(), "{err}");
    assert_eq!(c.connections(), 1);
    let reqs = c.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!((reqs[0].status, reqs[0].method.as_str()), (0, ""));
    assert!(c.batches().is_empty());
}

#[test]
fn accept_then_close_on_a_kept_alive_connection() {
    // The fault waits for a new connection: the open one is closed under the
    // client, which reconnects (libcurl retries a dead reused connection once)
    // and meets the fault there.
    let c = Collector::start();
    let mut e = client();
    assert_eq!(post(&mut e, &c, &batch(&[("a", "kc1")])).unwrap().code, 200);
    c.push_faults(vec![Fault::AcceptThenClose]);
    assert!(post(&mut e, &c, &batch(&[("a", "kc2")])).is_err());
    assert_eq!(c.connections(), 2);
    // Consumed once: the next request goes through.
    assert_eq!(post(&mut e, &c, &batch(&[("a", "kc3")])).unwrap().code, 200);
    assert_eq!(c.connections(), 3);
    let ids = c.unique_message_ids();
    assert!(ids.contains("kc1") && ids.contains("kc3") && !ids.contains("kc2"));
}

#[test]
fn fault_delay_delays_then_records() {
    let c = Collector::start();
    let mut e = client();
    c.set_fault(Fault::Delay(Duration::from_millis(300)));
    let t0 = Instant::now();
    let r = post(&mut e, &c, &batch(&[("a", "dl1")])).unwrap();
    let took = t0.elapsed();
    assert_eq!(r.code, 200);
    assert!(took >= Duration::from_millis(300) && took < SHORT, "{took:?}");
    assert_eq!(c.batches().len(), 1);
    assert_eq!(c.requests()[0].status, 200);
}

#[test]
fn fault_delay_with_client_timeout_records_nothing() {
    let c = Collector::start();
    let mut e = client();
    e.timeout(Duration::from_millis(200)).unwrap();
    c.set_fault(Fault::Delay(Duration::from_millis(600)));
    let err = post(&mut e, &c, &batch(&[("a", "dt1")])).err().expect("a timeout");
    assert!(err.is_operation_timedout(), "{err}");
    // The request is logged at arrival; after the delay the server finds the
    // client gone and records nothing.
    assert!(c.wait_for_requests(1, Duration::ZERO));
    thread_sleep_until(Instant::now() + Duration::from_millis(600));
    assert!(c.batches().is_empty());
    assert_eq!(c.requests()[0].status, 0);
}

fn thread_sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

#[test]
fn fault_process_then_delay_records_even_when_the_client_times_out() {
    let c = Collector::start();
    let mut e = client();
    e.timeout(Duration::from_millis(200)).unwrap();
    c.set_fault(Fault::ProcessThenDelay(Duration::from_millis(800)));
    let t0 = Instant::now();
    let err = post(&mut e, &c, &batch(&[("a", "pd1")])).err().expect("a timeout");
    assert!(err.is_operation_timedout(), "{err}");
    assert!(t0.elapsed() < Duration::from_millis(700));
    // Recorded although the client saw a failure: the ambiguous outcome.
    assert_eq!(c.batches().len(), 1);
    assert!(c.wait_for_events(1, Duration::ZERO));
    assert_eq!(c.requests()[0].status, 200);

    // Without a client timeout it is just slow.
    e.timeout(Duration::from_secs(5)).unwrap();
    c.set_fault(Fault::ProcessThenDelay(Duration::from_millis(200)));
    let t0 = Instant::now();
    assert_eq!(post(&mut e, &c, &batch(&[("a", "pd2")])).unwrap().code, 200);
    assert!(t0.elapsed() >= Duration::from_millis(200));
    assert_eq!(c.batches().len(), 2);
}

#[test]
fn push_faults_apply_in_order_then_fall_back() {
    let c = Collector::start();
    let mut e = client();
    let body = batch(&[("a", "pf1")]);
    c.push_faults(vec![Fault::Status(500), Fault::RetryAfter(503, "1".into()), Fault::Status(400)]);
    let codes: Vec<u32> = (0..5).map(|_| post(&mut e, &c, &body).unwrap().code).collect();
    assert_eq!(codes, vec![500, 503, 400, 200, 200]);

    c.set_fault(Fault::Status(502));
    c.push_faults(vec![Fault::None]);
    c.push_faults(vec![Fault::Status(429)]); // appends
    let codes: Vec<u32> = (0..4).map(|_| post(&mut e, &c, &body).unwrap().code).collect();
    assert_eq!(codes, vec![200, 429, 502, 502]);

    // On a fresh connection a scripted Reset costs the client one request.
    c.set_fault(Fault::None);
    let mut fresh = client();
    c.push_faults(vec![Fault::Reset]);
    assert!(post(&mut fresh, &c, &body).is_err());
    assert_eq!(post(&mut fresh, &c, &body).unwrap().code, 200);
    assert_eq!(c.batches().len(), 4);
    assert_eq!(c.duplicates(), 3);
}

#[test]
fn reset_on_a_kept_alive_connection_is_retried_by_libcurl() {
    // libcurl resends, once and silently, a request that got no byte back on
    // a *reused* connection. So one scripted Reset after keep-alive is
    // invisible to a libcurl client (nothing recorded, no error): the
    // collector logs the reset request, then the resend on a new connection.
    // Two Resets make the failure visible.
    let c = Collector::start();
    let mut e = client();
    assert_eq!(post(&mut e, &c, &batch(&[("a", "kr1")])).unwrap().code, 200);
    c.push_faults(vec![Fault::Reset]);
    assert_eq!(post(&mut e, &c, &batch(&[("a", "kr2")])).unwrap().code, 200);
    let log: Vec<(u16, u64)> = c.requests().iter().map(|r| (r.status, r.connection)).collect();
    assert_eq!(log, vec![(200, 1), (0, 1), (200, 2)]);
    assert_eq!(c.duplicates(), 0);

    c.push_faults(vec![Fault::Reset, Fault::Reset]);
    assert!(post(&mut e, &c, &batch(&[("a", "kr3")])).is_err());
    assert_eq!(c.requests().len(), 5);
    assert_eq!(post(&mut e, &c, &batch(&[("a", "kr3")])).unwrap().code, 200);
    assert_eq!(c.unique_message_ids().len(), 3);
}

// ---------------------------------------------------------------------------
// Poison, auth, duplicates, waiting

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

#[test]
fn wait_for_events_times_out_when_nothing_arrives() {
    let c = Collector::start();
    let t0 = Instant::now();
    assert!(!c.wait_for_events(1, Duration::from_millis(300)));
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(300) && took < SHORT, "{took:?}");
    assert!(!c.wait_for_hits(1, Duration::from_millis(20)));
    assert!(!c.wait_for_requests(1, Duration::from_millis(20)));
    assert!(c.wait_for_requests(0, Duration::ZERO));
}

#[test]
fn wait_for_events_wakes_when_they_arrive() {
    let c = Collector::start();
    let url = c.url();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        let mut e = client();
        let r = post_with(
            &mut e,
            &format!("{url}/v1/batch"),
            &batch(&[("a", "w1"), ("b", "w2")]),
            &["Content-Type: application/json"],
        );
        r.map(|r| r.code)
    });
    let t0 = Instant::now();
    assert!(c.wait_for_events(2, Duration::from_secs(3)));
    assert!(t0.elapsed() < SHORT);
    assert!(c.wait_for_requests(1, Duration::ZERO));
    assert_eq!(sender.join().unwrap().unwrap(), 200);
}

// ---------------------------------------------------------------------------
// Remote configuration

const CONFIG_V1: &str = r#"{"flushAt":20,"sampling":1.0}"#;
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

// ---------------------------------------------------------------------------
// Date and skew

/// Seconds since the epoch of an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
fn parse_http_date(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let rest = s.split_once(", ")?.1.strip_suffix(" GMT")?;
    let mut parts = rest.split(' ');
    let (day, month, year, time) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let d: i64 = day.parse().ok()?;
    let m = MONTHS.iter().position(|x| *x == month)? as i64 + 1;
    let y: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<i64>());
    let (h, mi, se) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Asserts the response's Date is within a few seconds of now + `offset_s`.
fn assert_date_near(r: &Resp, offset_s: i64) {
    let date = r.header("date").expect("Date");
    let at = parse_http_date(date).unwrap_or_else(|| panic!("unparsable Date: {date}"));
    let want = now_secs() + offset_s;
    assert!((at - want).abs() <= 3, "Date {date} is {}s off now{offset_s:+}s", at - want);
}

#[test]
fn date_parser_matches_http_date() {
    for secs in [0u64, 784_111_777, 951_782_400, 1_709_208_000, 1_795_366_000, 4_102_444_799] {
        let s = http_date(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(parse_http_date(&s), Some(secs as i64), "{s}");
    }
}

#[test]
fn date_header_is_now_then_skewed() {
    let c = Collector::start();
    let mut e = client();
    let r = get(&mut e, &format!("{}/a", c.url())).unwrap();
    assert_date_near(&r, 0);

    c.set_date_skew(86_400_000);
    let r = get(&mut e, &format!("{}/b", c.url())).unwrap();
    assert_date_near(&r, 86_400);
    let r = post(&mut e, &c, &batch(&[("a", "sk1")])).unwrap();
    assert_eq!(r.code, 200);
    assert_date_near(&r, 86_400);
    // Config answers (200 and 304) and faulted ones carry it too; Retry-After
    // is sent as given.
    c.set_config("/cfg", Some(CONFIG_V1.into()), Some("\"e\"".into()));
    assert_date_near(&get(&mut e, &format!("{}/cfg", c.url())).unwrap(), 86_400);
    let r = get_with(&mut e, &format!("{}/cfg", c.url()), &["If-None-Match: \"e\""]).unwrap();
    assert_eq!(r.code, 304);
    assert_date_near(&r, 86_400);
    c.push_faults(vec![Fault::RetryAfter(503, "2".into())]);
    let r = post(&mut e, &c, &batch(&[("a", "sk2")])).unwrap();
    assert_eq!((r.code, r.header("retry-after")), (503, Some("2")));
    assert_date_near(&r, 86_400);
    // A malformed request's 400 too.
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.set_read_timeout(Some(SHORT)).unwrap();
    s.write_all(b"hello there\r\n\r\n").unwrap();
    let head = read_response_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let date = head.lines().find_map(|l| l.strip_prefix("Date: ")).expect("Date");
    let at = parse_http_date(date).unwrap();
    assert!((at - (now_secs() + 86_400)).abs() <= 3, "{date}");

    c.set_date_skew(-3_600_000);
    assert_date_near(&get(&mut e, &format!("{}/c", c.url())).unwrap(), -3600);
    c.set_date_skew(0);
    assert_date_near(&get(&mut e, &format!("{}/d", c.url())).unwrap(), 0);
}

// ---------------------------------------------------------------------------
// Hostile answers

/// Performs with a write callback that takes at most `cap` body bytes, then
/// hangs up (a short count makes libcurl fail with a write error). Returns the
/// result, the response code and the body bytes taken.
fn perform_capped(e: &mut Easy, cap: usize) -> (Result<(), curl::Error>, u32, usize) {
    let mut taken = 0usize;
    let result = {
        let mut t = e.transfer();
        t.write_function(|d| {
            if taken + d.len() > cap {
                return Ok(0);
            }
            taken += d.len();
            Ok(d.len())
        })
        .unwrap();
        t.perform()
    };
    (result, e.response_code().unwrap_or(0), taken)
}

/// Polls `done` for up to `SHORT`: for what the collector notes just after
/// the client got its answer.
fn poll_until(done: impl Fn() -> bool) {
    let deadline = Instant::now() + SHORT;
    while !done() {
        assert!(Instant::now() < deadline, "condition not reached in {SHORT:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A raw request on a fresh connection: `GET /path`, read nothing yet.
fn raw_get(c: &Collector, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.set_read_timeout(Some(SHORT)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    s
}

#[test]
fn fault_huge_body_records_then_streams_n_bytes() {
    let c = Collector::start();
    let mut e = client();
    let n: u64 = 3 << 20;
    c.set_fault(Fault::HugeBody(n));
    let r = post(&mut e, &c, &batch(&[("a", "hb1")])).unwrap();
    assert_eq!(r.code, 200);
    assert_eq!(r.header("content-length"), Some(n.to_string().as_str()));
    assert_eq!(r.body.len() as u64, n);
    assert!(r.body.starts_with(b"{\"success\":true}"));
    assert!(r.body[16..].iter().all(|&b| b == b' '));
    // Padded with whitespace: still the normal JSON answer.
    assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap(), json!({"success": true}));
    assert_eq!(c.batches().len(), 1);
    assert_eq!(c.requests()[0].status, 200);
    poll_until(|| c.requests()[0].body_sent == n);
    // A body shorter than the normal one is cut; a GET is processed too.
    c.set_fault(Fault::HugeBody(5));
    let r = post(&mut e, &c, &batch(&[("a", "hb2")])).unwrap();
    assert_eq!((r.code, r.body.as_slice()), (200, b"{\"suc".as_slice()));
    c.set_fault(Fault::HugeBody(10));
    let r = get(&mut e, &format!("{}/h", c.url())).unwrap();
    assert_eq!((r.code, r.body.as_slice()), (200, b"          ".as_slice()));
    assert_eq!(c.hits(), vec!["/h".to_string()]);
    // Kept alive through complete answers.
    c.set_fault(Fault::None);
    assert_eq!(post(&mut e, &c, &batch(&[("a", "hb3")])).unwrap().code, 200);
    assert_eq!(c.connections(), 1);

    // 1 GiB to a client that hangs up after 1 MiB: the client is done at once,
    // the batch was recorded, the connection's thread ends.
    c.set_fault(Fault::HugeBody(1 << 30));
    e.url(&format!("{}/v1/batch", c.url())).unwrap();
    e.post(true).unwrap();
    e.post_fields_copy(&batch(&[("a", "hb4")])).unwrap();
    let mut list = List::new();
    list.append("Content-Type: application/json").unwrap();
    e.http_headers(list).unwrap();
    let t0 = Instant::now();
    let (result, code, taken) = perform_capped(&mut e, 1 << 20);
    assert!(result.as_ref().is_err_and(|e| e.is_write_error()), "{result:?}");
    assert_eq!(code, 200);
    assert!(taken <= 1 << 20);
    assert!(t0.elapsed() < SHORT, "{:?}", t0.elapsed());
    assert_eq!(c.batches().len(), 4);
    assert!(c.wait_idle(SHORT), "the connection's thread ends when the client hangs up");
    let sent = c.requests()[4].body_sent;
    assert!(sent > 0 && sent < 1 << 30, "{sent}");
    // The collector goes on serving.
    c.set_fault(Fault::None);
    assert_eq!(post(&mut e, &c, &batch(&[("a", "hb5")])).unwrap().code, 200);
    assert_eq!(c.unique_message_ids().len(), 5);
}

#[test]
fn fault_endless_headers_never_end_the_head() {
    let c = Collector::start();
    c.set_fault(Fault::EndlessHeaders);
    // Raw: a status line, then filler header lines and never the blank line.
    let mut s = raw_get(&c, "/eh");
    let mut got = vec![0u8; 256 * 1024];
    s.read_exact(&mut got).unwrap();
    let text = String::from_utf8(got).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\nDate: "), "{}", &text[..64]);
    let filler = format!("\r\nX-Filler-1: {}\r\nX-Filler-2: ", "x".repeat(1024));
    assert!(text.contains(&filler));
    assert!(!text.contains("\r\n\r\n"));
    drop(s);
    assert!(c.wait_idle(SHORT), "the connection's thread ends when the client hangs up");
    let reqs = c.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!((reqs[0].method.as_str(), reqs[0].status), ("GET", 0));
    assert!(c.hits().is_empty());

    // libcurl gives up (its header size limit, or its timeout), bounded.
    let mut e = client();
    e.timeout(Duration::from_secs(3)).unwrap();
    let t0 = Instant::now();
    let err = post(&mut e, &c, &batch(&[("a", "eh1")])).err().expect("an error");
    assert!(t0.elapsed() < Duration::from_millis(3500), "{:?}", t0.elapsed());
    assert!(!err.is_couldnt_connect(), "{err}");
    assert!(c.batches().is_empty());
    assert!(c.wait_idle(SHORT));
    assert_eq!(c.requests().len(), 2);
    assert_eq!(c.requests()[1].status, 0);
}

#[test]
fn fault_redirect_answers_location_without_recording() {
    let c = Collector::start();
    let other = Collector::start();
    let target = format!("{}/v1/batch", other.url());
    let mut e = client();
    let body = batch(&[("a", "rd1")]);
    for status in [301u16, 302, 303, 307, 308] {
        c.set_fault(Fault::Redirect(status, target.clone()));
        let r = post(&mut e, &c, &body).unwrap();
        assert_eq!(r.code, u32::from(status));
        assert_eq!(r.header("location"), Some(target.as_str()));
        assert_eq!(r.header("content-length"), Some("0"));
        assert!(r.body.is_empty());
    }
    assert!(c.batches().is_empty());
    let statuses: Vec<u16> = c.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![301, 302, 303, 307, 308]);
    assert_eq!(c.connections(), 1, "kept alive");
    assert!(other.requests().is_empty(), "not followed unless asked");

    // A client that follows a 307 re-posts the body to the other collector.
    c.set_fault(Fault::Redirect(307, target.clone()));
    e.follow_location(true).unwrap();
    let r = post(&mut e, &c, &body).unwrap();
    assert_eq!(r.code, 200);
    assert!(c.batches().is_empty());
    assert_eq!(other.batches().len(), 1);
    assert_eq!(other.events()[0]["messageId"], "rd1");
    // A GET too.
    c.set_fault(Fault::Redirect(302, format!("{}/moved?x=1", other.url())));
    assert_eq!(get(&mut e, &format!("{}/h", c.url())).unwrap().code, 200);
    assert!(c.hits().is_empty());
    assert_eq!(other.hits(), vec!["/moved?x=1".to_string()]);
}

#[test]
fn fault_slow_drip_sends_one_byte_per_interval() {
    let c = Collector::start();
    let mut e = client();
    e.timeout(Duration::from_secs(10)).unwrap();
    c.set_fault(Fault::SlowDrip(Duration::from_millis(1)));
    let t0 = Instant::now();
    let r = post(&mut e, &c, &batch(&[("a", "sd1")])).unwrap();
    let took = t0.elapsed();
    assert_eq!(r.code, 200);
    assert_eq!(collector::SLOW_DRIP_BYTES, 1000);
    assert_eq!(r.header("content-length"), Some("1000"));
    assert_eq!(r.body.len(), 1000);
    assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap(), json!({"success": true}));
    assert!(took >= Duration::from_millis(1000) && took < Duration::from_secs(10), "{took:?}");
    assert_eq!(c.batches().len(), 1, "processed before the drip");
    poll_until(|| c.requests()[0].body_sent == 1000);

    // A client with a timeout gives up mid-drip: recorded all the same (the
    // ambiguous case); the connection's thread ends.
    c.set_fault(Fault::SlowDrip(Duration::from_millis(100)));
    e.timeout(Duration::from_millis(350)).unwrap();
    let t0 = Instant::now();
    let err = post(&mut e, &c, &batch(&[("a", "sd2")])).err().expect("a timeout");
    assert!(err.is_operation_timedout(), "{err}");
    assert!(t0.elapsed() < Duration::from_millis(1500), "{:?}", t0.elapsed());
    assert_eq!(c.batches().len(), 2);
    assert_eq!(c.requests()[1].status, 200);
    assert!(c.wait_idle(SHORT));
    let dripped = c.requests()[1].body_sent;
    assert!((1..=8).contains(&dripped), "{dripped}");
}

#[test]
fn drop_is_bounded_during_hostile_answers() {
    // Three clients that never read: the server is stuck writing to each (a
    // full socket buffer, a stream of headers, a drip), yet drop is bounded.
    let c = Collector::start();
    let addr = c.addr();
    c.push_faults(vec![
        Fault::HugeBody(1 << 30),
        Fault::EndlessHeaders,
        Fault::SlowDrip(Duration::from_secs(10)),
    ]);
    let mut clients = Vec::new();
    for (i, path) in ["/huge", "/endless", "/drip"].iter().enumerate() {
        clients.push(raw_get(&c, path));
        assert!(c.wait_for_requests(i + 1, SHORT));
    }
    assert_eq!(c.open_connections(), 3);
    // Let the writers fill the socket buffers and block.
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    drop(c);
    let took = t0.elapsed();
    assert!(took < Duration::from_millis(1500), "{took:?}");
    // Each client sees its answer end (EOF or reset) once the buffered part is read.
    for mut s in clients {
        let mut buf = vec![0u8; 1 << 20];
        let deadline = Instant::now() + SHORT;
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => assert!(Instant::now() < deadline, "the answer goes on after drop"),
            }
        }
    }
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
}

// ---------------------------------------------------------------------------
// Lifecycle

#[test]
fn start_on_a_given_address() {
    let c = Collector::start_on("127.0.0.1:0").unwrap();
    let taken = c.addr().to_string();
    assert_eq!(c.url(), format!("http://{taken}"));
    assert!(Collector::start_on(&taken).is_err(), "the port is in use");
    let mut e = client();
    assert_eq!(get(&mut e, &format!("{}/x", c.url())).unwrap().code, 200);
}

#[test]
fn drop_is_bounded_and_closes_the_port() {
    let c = Collector::start();
    let addr = c.addr();
    let url = c.url();
    // An idle connection that never sends anything...
    let idle = TcpStream::connect(addr).unwrap();
    // ...and a request stuck in a long Delay.
    c.set_fault(Fault::Delay(Duration::from_secs(30)));
    let stuck = std::thread::spawn(move || {
        let mut e = client();
        post_with(
            &mut e,
            &format!("{url}/v1/batch"),
            &batch(&[("a", "x1")]),
            &["Content-Type: application/json"],
        )
        .map(|r| r.code)
    });
    assert!(c.wait_for_requests(1, SHORT));
    assert_eq!(c.connections(), 2);
    let t0 = Instant::now();
    drop(c);
    let took = t0.elapsed();
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert!(stuck.join().unwrap().is_err(), "the stuck client is cut off");
    let mut idle = idle;
    idle.set_read_timeout(Some(SHORT)).unwrap();
    let mut buf = [0u8; 1];
    assert!(matches!(idle.read(&mut buf), Ok(0) | Err(_)));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
}
