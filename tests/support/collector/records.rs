//! What the collector records: every request as received (`RequestLog`) and
//! every accepted batch (`Batch`).

use std::time::Instant;

use serde_json::Value;

/// One request as received (faulted and rejected ones included).
#[derive(Clone, Debug)]
pub struct RequestLog {
    /// `GET`, `POST`, ...; empty for a connection closed by `AcceptThenClose`.
    pub method: String,
    /// The request target (path and query); empty for `AcceptThenClose`.
    pub path: String,
    /// The status answered; 0 when nothing was (or has yet been) answered.
    pub status: u16,
    /// Events in the body's `batch` array, when it could be decoded (else 0).
    pub event_count: usize,
    /// When the request head was read (the connection accepted, for `AcceptThenClose`).
    pub received_at: Instant,
    /// Request headers, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// Serial number (from 1) of the TCP connection it came on.
    pub connection: u64,
    /// `HugeBody` and `SlowDrip`: body bytes written before the answer ended
    /// (all of them, or as many as went out before the client hung up); set
    /// when the connection's thread is done with the answer. 0 otherwise.
    pub body_sent: u64,
}

impl RequestLog {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// An accepted (2xx) `POST /v1/batch`.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Request headers, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The decoded JSON body.
    pub body: Value,
    /// Whether the body came with `Content-Encoding: gzip`.
    pub gzip: bool,
    /// Body size as sent (after removing any chunked framing, before gunzip).
    pub body_bytes: usize,
    /// Body size after gunzip (equal to `body_bytes` when not gzipped).
    pub decoded_bytes: usize,
}

impl Batch {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
    /// The events: `body["batch"]`.
    pub fn events(&self) -> &[Value] {
        match self.body.get("batch").and_then(Value::as_array) {
            Some(events) => events,
            None => &[],
        }
    }
}

/// The first header of that name (case-insensitive) in a list of (name, value).
pub(super) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}
