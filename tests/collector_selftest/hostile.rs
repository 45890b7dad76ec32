//! The hostile answers: a huge body, endless headers, redirects, a slow drip,
//! and a drop that stays bounded while they go on.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use curl::easy::{Easy, List};
use serde_json::{json, Value};

use crate::client::{batch, client, get, post, SHORT};
use crate::collector::{self, Collector, Fault};

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
