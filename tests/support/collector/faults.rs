//! The fault modes (`Fault`) and the hostile answers some of them write: a
//! long or dripped body, and a head that never ends.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::response::{response_head, Response};
use super::state::Shared;
use super::{http_date, ENDLESS_HEADERS_BOUND, FILLER_HEADER_BYTES, STREAM_CHUNK};

/// What the collector does with the next request(s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Normal: 200 for valid batches and any GET.
    None,
    /// Answer this status (500, 503, 400, 401, 403, 413, ...) without recording.
    Status(u16),
    /// Answer this status (429 or 503) with `Retry-After: <value>` (seconds or
    /// an HTTP date, see [`http_date`]), without recording.
    RetryAfter(u16, String),
    /// Wait, then process and answer normally (a client that hung up meanwhile
    /// gets nothing recorded).
    Delay(Duration),
    /// Record the batch as accepted, then wait before answering.
    ProcessThenDelay(Duration),
    /// Read the request head, then reset the connection (RST) without answering.
    Reset,
    /// Accept the TCP connection and close it at once without reading.
    AcceptThenClose,
    /// Process normally (a valid batch is recorded, logged with its status),
    /// then answer that status with `Content-Length: n` and n bytes of body:
    /// the normal body padded with spaces (still valid JSON), streamed in
    /// chunks. Stops quietly when the client hangs up. (A 304 is answered as
    /// usual: it has no body.)
    HugeBody(u64),
    /// Answer `HTTP/1.1 200 OK`, then header lines `X-Filler-N: <1 KB of x>`
    /// as fast as the client reads them, never ending the head, until the
    /// client hangs up or [`ENDLESS_HEADERS_BOUND`] passes; then close.
    /// Records nothing; logged with status 0 (no answer was ever complete).
    EndlessHeaders,
    /// Answer this status (301, 302, 303, 307, 308, ...) with
    /// `Location: <url>` and an empty body, without recording.
    Redirect(u16, String),
    /// Process normally (as `HugeBody`), then answer the status with a
    /// `Content-Length` of [`SLOW_DRIP_BYTES`](super::SLOW_DRIP_BYTES) and send the body one byte per
    /// interval, until done or the client hangs up.
    SlowDrip(Duration),
    /// Answer as a captive portal does: this status (200, 302, 511, ...) with
    /// `Content-Type: text/html` and a login page, without recording.
    Portal(u16),
}

/// Answers `r`'s status and headers with a body of `len` bytes: `r`'s body
/// padded with spaces (or cut). `drip`: one byte per interval; otherwise in
/// chunks as fast as the client reads. Returns the body bytes written, and
/// false when the client hung up, a write failed or the collector stopped
/// (the connection is then done).
pub(super) fn write_long_body(
    stream: &mut TcpStream,
    shared: &Shared,
    r: &Response,
    len: u64,
    drip: Option<Duration>,
    close: bool,
) -> (u64, bool) {
    let head = response_head(r, Some(len), close, shared.response_date());
    if stream.write_all(head.as_bytes()).and_then(|()| stream.flush()).is_err() {
        return (0, false);
    }
    // The byte at offset `i` of the body.
    let prefix: &[u8] = &r.body;
    let byte_at = |i: u64| if i < prefix.len() as u64 { prefix[i as usize] } else { b' ' };
    let mut sent = 0u64;
    if let Some(every) = drip {
        while sent < len {
            if !shared.pause(every) {
                return (sent, false);
            }
            if stream.write_all(&[byte_at(sent)]).and_then(|()| stream.flush()).is_err() {
                return (sent, false);
            }
            sent += 1;
        }
        return (sent, true);
    }
    let spaces = [b' '; STREAM_CHUNK];
    while sent < len {
        if shared.stopped() {
            return (sent, false);
        }
        let result = if sent < prefix.len() as u64 {
            let end = (prefix.len() as u64).min(len);
            stream.write_all(&prefix[sent as usize..end as usize]).map(|()| end - sent)
        } else {
            let n = (len - sent).min(STREAM_CHUNK as u64);
            stream.write_all(&spaces[..n as usize]).map(|()| n)
        };
        match result {
            Ok(n) => sent += n,
            // The client hung up (EPIPE, reset, write timeout). A chunk cut
            // short counts as unsent: `sent` is a lower bound.
            Err(_) => return (sent, false),
        }
    }
    (sent, stream.flush().is_ok())
}

/// `HTTP/1.1 200 OK`, then filler header lines and never the blank line, until
/// a write fails, the collector stops or `ENDLESS_HEADERS_BOUND` passes.
pub(super) fn endless_headers(stream: &mut TcpStream, shared: &Shared) {
    let started = Instant::now();
    let first = format!("HTTP/1.1 200 OK\r\nDate: {}\r\n", http_date(shared.response_date()));
    if stream.write_all(first.as_bytes()).is_err() {
        return;
    }
    let filler = "x".repeat(FILLER_HEADER_BYTES);
    // Several lines per write: fewer system calls, still far below any limit.
    let mut n = 0u64;
    while !shared.stopped() && started.elapsed() < ENDLESS_HEADERS_BOUND {
        let mut lines = String::with_capacity(16 * (FILLER_HEADER_BYTES + 32));
        for _ in 0..16 {
            n += 1;
            lines.push_str(&format!("X-Filler-{n}: {filler}\r\n"));
        }
        if stream.write_all(lines.as_bytes()).is_err() {
            return; // the client hung up
        }
    }
}
