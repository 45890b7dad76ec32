//! A small curl client for the tests, request bodies, and a raw-socket reader
//! of one response.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use curl::easy::{Easy, List};
use serde_json::{json, Value};

use crate::collector::Collector;

/// A response as the client saw it.
pub(crate) struct Resp {
    pub(crate) code: u32,
    /// Header lines of every response seen (1xx included), names lowercased.
    pub(crate) headers: Vec<(String, String)>,
    /// Status lines seen, e.g. "HTTP/1.1 100 Continue".
    pub(crate) status_lines: Vec<String>,
    pub(crate) body: Vec<u8>,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A curl handle with short timeouts and no proxy.
pub(crate) fn client() -> Easy {
    let mut e = Easy::new();
    e.noproxy("*").unwrap();
    e.timeout(Duration::from_secs(5)).unwrap();
    e.connect_timeout(Duration::from_secs(2)).unwrap();
    e
}

pub(crate) fn perform(e: &mut Easy, upload: Option<Vec<u8>>) -> Result<Resp, curl::Error> {
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

pub(crate) fn post_with(
    e: &mut Easy,
    url: &str,
    body: &[u8],
    extra_headers: &[&str],
) -> Result<Resp, curl::Error> {
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
pub(crate) fn post(e: &mut Easy, c: &Collector, body: &[u8]) -> Result<Resp, curl::Error> {
    post_with(e, &format!("{}/v1/batch", c.url()), body, &["Content-Type: application/json"])
}

pub(crate) fn get(e: &mut Easy, url: &str) -> Result<Resp, curl::Error> {
    get_with(e, url, &[])
}

pub(crate) fn get_with(e: &mut Easy, url: &str, extra_headers: &[&str]) -> Result<Resp, curl::Error> {
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
pub(crate) fn batch(events: &[(&str, &str)]) -> Vec<u8> {
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

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// How long anything that should be quick may take.
pub(crate) const SHORT: Duration = Duration::from_secs(2);

/// Reads one response (head and its Content-Length body); returns the head.
pub(crate) fn read_response_head(s: &mut TcpStream) -> String {
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
