//! Reading HTTP/1.1 requests: the head, then the body (by `Content-Length`
//! or chunked, after a `100 Continue` when asked), within the size limits;
//! gzip bodies are inflated here too.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use super::records::find_header;
use super::{MAX_BODY_BYTES, MAX_HEAD_BYTES};

/// A request line and its headers.
pub(super) struct Head {
    pub(super) method: String,
    pub(super) target: String,
    pub(super) version: String,
    pub(super) headers: Vec<(String, String)>,
}

impl Head {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
    /// Whether the connection may carry another request after this one.
    pub(super) fn keep_alive(&self) -> bool {
        let tokens: Vec<String> = self
            .headers
            .iter()
            .filter(|(n, _)| n == "connection")
            .flat_map(|(_, v)| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .collect();
        if self.version == "HTTP/1.0" {
            tokens.iter().any(|t| t == "keep-alive")
        } else {
            !tokens.iter().any(|t| t == "close")
        }
    }
}

/// Why no head could be read.
pub(super) enum HeadError {
    /// EOF, timeout, reset: just close.
    Gone,
    /// Not HTTP: answer 400 and close.
    Malformed,
}

pub(super) fn read_head(reader: &mut BufReader<TcpStream>) -> Result<Head, HeadError> {
    let mut limited = reader.by_ref().take(MAX_HEAD_BYTES);
    let mut lines: Vec<String> = Vec::new();
    loop {
        let mut raw = Vec::new();
        match limited.read_until(b'\n', &mut raw) {
            Ok(0) if lines.is_empty() => return Err(HeadError::Gone),
            Ok(0) => {
                // EOF mid-head, or the size limit.
                return Err(if limited.limit() == 0 { HeadError::Malformed } else { HeadError::Gone });
            }
            Ok(_) => {}
            Err(_) => return Err(HeadError::Gone),
        }
        if !raw.ends_with(b"\n") {
            return Err(if limited.limit() == 0 { HeadError::Malformed } else { HeadError::Gone });
        }
        let line = String::from_utf8(raw).map_err(|_| HeadError::Malformed)?;
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            if lines.is_empty() {
                continue; // stray CRLF before a request line is allowed
            }
            break;
        }
        lines.push(line);
    }
    let mut parts = lines[0].split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed);
    };
    if method.is_empty() || target.is_empty() || !version.starts_with("HTTP/1.") {
        return Err(HeadError::Malformed);
    }
    let mut headers = Vec::new();
    for line in &lines[1..] {
        let Some((name, value)) = line.split_once(':') else {
            return Err(HeadError::Malformed);
        };
        if name.is_empty() || name.ends_with(' ') || name.ends_with('\t') {
            return Err(HeadError::Malformed);
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(Head { method: method.to_string(), target: target.to_string(), version: version.to_string(), headers })
}

/// Reads the body (answering `100 Continue` first when asked). Err(status):
/// answer that status and close; Err(0): just close.
pub(super) fn read_body(reader: &mut BufReader<TcpStream>, head: &Head) -> Result<Vec<u8>, u16> {
    let chunked = match head.header("transfer-encoding") {
        None => false,
        Some(te) => {
            if te.rsplit(',').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked")) {
                true
            } else {
                return Err(400); // a body we cannot delimit
            }
        }
    };
    let length = if chunked {
        None
    } else {
        let mut lengths = head.headers.iter().filter(|(n, _)| n == "content-length");
        match lengths.next() {
            None => Some(0),
            Some((_, v)) => {
                let n: u64 = v.trim().parse().map_err(|_| 400u16)?;
                if lengths.any(|(_, other)| other.trim() != v.trim()) {
                    return Err(400);
                }
                Some(n)
            }
        }
    };
    if let Some(n) = length {
        if n > MAX_BODY_BYTES {
            return Err(413);
        }
    }
    let has_body = chunked || length.is_some_and(|n| n > 0);
    let expects = head.header("expect").is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"));
    if has_body && expects && head.version != "HTTP/1.0" {
        let s = reader.get_mut();
        s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").map_err(|_| 0u16)?;
        s.flush().map_err(|_| 0u16)?;
    }
    match length {
        Some(n) => {
            let mut body = Vec::with_capacity(n as usize);
            reader.by_ref().take(n).read_to_end(&mut body).map_err(|_| 0u16)?;
            if body.len() as u64 != n {
                return Err(0); // the client went away mid-body
            }
            Ok(body)
        }
        None => read_chunked(reader),
    }
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, u16> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size, 16).map_err(|_| 400u16)?;
        if size == 0 {
            // Trailers, up to an empty line.
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        if body.len() as u64 + size > MAX_BODY_BYTES {
            return Err(413);
        }
        let before = body.len();
        reader.by_ref().take(size).read_to_end(&mut body).map_err(|_| 0u16)?;
        if (body.len() - before) as u64 != size {
            return Err(0);
        }
        if !read_line(reader)?.is_empty() {
            return Err(400); // chunk data longer than announced
        }
    }
}

fn read_line(reader: &mut BufReader<TcpStream>) -> Result<String, u16> {
    let mut raw = Vec::new();
    let n = reader.by_ref().take(8 * 1024).read_until(b'\n', &mut raw).map_err(|_| 0u16)?;
    if n == 0 {
        return Err(0);
    }
    if !raw.ends_with(b"\n") {
        return Err(400);
    }
    let line = String::from_utf8(raw).map_err(|_| 400u16)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub(super) fn gunzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data).take(MAX_BODY_BYTES * 4).read_to_end(&mut out).ok()?;
    Some(out)
}
