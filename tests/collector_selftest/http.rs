//! HTTP/1.1 on the wire: `100 Continue`, pipelining, HTTP/1.0, malformed
//! requests, the headers of every answer, keep-alive and `Connection: close`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::client::{batch, client, get, post, post_with, read_response_head, SHORT};
use crate::collector::{Collector, Fault};

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
