//! Writing HTTP/1.1 responses: what is answered (`Response`), its head and
//! its body, always dated.

use std::io::{self, Write};
use std::net::TcpStream;
use std::time::SystemTime;

use super::http_date;

/// An answer: status, extra headers and body.
pub(super) struct Response {
    pub(super) status: u16,
    pub(super) headers: Vec<(&'static str, String)>,
    /// Sent with `Content-Type: application/json` when not empty.
    pub(super) body: std::borrow::Cow<'static, [u8]>,
}

impl Response {
    pub(super) fn new(status: u16) -> Response {
        Response { status, headers: Vec::new(), body: std::borrow::Cow::Borrowed(b"") }
    }
    pub(super) fn ok_json() -> Response {
        Response { status: 200, headers: Vec::new(), body: std::borrow::Cow::Borrowed(b"{\"success\":true}") }
    }
    pub(super) fn json(status: u16, body: Vec<u8>) -> Response {
        Response { status, headers: Vec::new(), body: body.into() }
    }
    pub(super) fn with(mut self, name: &'static str, value: String) -> Response {
        self.headers.push((name, value));
        self
    }
}

/// Writes a response dated `date`. A 304 gets no `Content-Length` (it has no
/// body, and the header would announce the 200's length).
pub(super) fn write_response(
    stream: &mut TcpStream,
    r: &Response,
    close: bool,
    date: SystemTime,
) -> io::Result<()> {
    let length = (r.status != 304).then_some(r.body.len() as u64);
    let mut out = response_head(r, length, close, date).into_bytes();
    if r.status != 304 {
        out.extend_from_slice(&r.body);
    }
    stream.write_all(&out)?;
    stream.flush()
}

/// A response head (blank line included) announcing `length` body bytes (no
/// `Content-Length` when None); typed JSON when the body is not empty.
pub(super) fn response_head(r: &Response, length: Option<u64>, close: bool, date: SystemTime) -> String {
    let mut out = format!("HTTP/1.1 {} {}\r\nDate: {}\r\n", r.status, reason(r.status), http_date(date));
    if let Some(length) = length {
        out.push_str(&format!("Content-Length: {length}\r\n"));
    }
    let typed = r.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    if length.is_some_and(|n| n > 0) && !typed {
        out.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in &r.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
