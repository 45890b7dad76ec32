//! The libcurl transport (feature `curl-transport`, on by default): libcurl's
//! multi interface on the delivery thread, one transfer at a time over a
//! kept-alive connection, aborted within ~50 ms when the tracker closes.

use std::time::{Duration, Instant};

use curl::easy::{Easy2, Handler, List, WriteError};
use curl::multi::Multi;

use super::{Abort, Cause, Method, Outcome, Request, Transport};

/// The most of a response body kept; past it the transfer stops.
const MAX_RESPONSE_BYTES: usize = 512 * 1024;

#[derive(Default)]
struct Collect {
    retry_after: Option<String>,
    date: Option<String>,
    etag: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
    /// The answer's body went past `MAX_RESPONSE_BYTES`: the transfer was cut.
    too_long: bool,
}

impl Handler for Collect {
    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        // Bounded: past the limit the transfer stops (a short count makes libcurl
        // end it); the status line and headers already arrived.
        if self.body.len() + data.len() > MAX_RESPONSE_BYTES {
            self.too_long = true;
            return Ok(0);
        }
        self.body.extend_from_slice(data);
        Ok(data.len())
    }

    fn header(&mut self, data: &[u8]) -> bool {
        let line = String::from_utf8_lossy(data);
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim().to_owned();
            if name.eq_ignore_ascii_case("retry-after") {
                self.retry_after = Some(value);
            } else if name.eq_ignore_ascii_case("date") {
                self.date = Some(value);
            } else if name.eq_ignore_ascii_case("etag") {
                self.etag = Some(value);
            } else if name.eq_ignore_ascii_case("content-type") {
                self.content_type = Some(value);
            }
        } else if line.starts_with("HTTP/") {
            // A new response (after a 100 Continue or a redirect): forget the last.
            *self = Collect::default();
        }
        true
    }
}

pub struct CurlTransport {
    multi: Multi,
    easy: Option<Easy2<Collect>>,
    connect_timeout: Duration,
    request_timeout: Duration,
    abort: Abort,
    /// Development only (`Config::insecure_tls_for_development`).
    skip_tls_verify: bool,
}

/// Poll interval while a transfer runs: bounds how late an abort takes effect.
const POLL: Duration = Duration::from_millis(50);

impl CurlTransport {
    pub fn new(connect_timeout: Duration, request_timeout: Duration, abort: Abort) -> Self {
        curl::init();
        CurlTransport {
            multi: Multi::new(),
            easy: None,
            connect_timeout,
            request_timeout,
            abort,
            skip_tls_verify: false,
        }
    }

    /// Turns TLS verification off: for development against self-signed servers
    /// only (the tracker logs a WARN at every start).
    pub fn insecure_for_development(mut self) -> Self {
        self.skip_tls_verify = true;
        self
    }

    fn prepare(&mut self, r: &Request<'_>) -> Result<Easy2<Collect>, curl::Error> {
        let mut easy = match self.easy.take() {
            Some(mut e) => {
                e.reset();
                *e.get_mut() = Collect::default();
                e
            }
            None => Easy2::new(Collect::default()),
        };
        easy.url(r.url)?;
        easy.signal(false)?;
        easy.ssl_verify_peer(!self.skip_tls_verify)?;
        easy.ssl_verify_host(!self.skip_tls_verify)?;
        // Redirects are never followed: the api key goes to the endpoint only.
        easy.follow_location(false)?;
        easy.connect_timeout(self.connect_timeout)?;
        easy.timeout(self.request_timeout)?;
        easy.useragent(concat!("attracker/", env!("CARGO_PKG_VERSION")))?;
        let mut headers = List::new();
        // No "Expect: 100-continue" round trip before large bodies.
        headers.append("Expect:")?;
        match r.method {
            Method::Get => easy.get(true)?,
            Method::Post => {
                easy.post(true)?;
                easy.post_fields_copy(r.body)?;
            }
        }
        for (name, value) in r.headers {
            headers.append(&format!("{name}: {value}"))?;
        }
        easy.http_headers(headers)?;
        Ok(easy)
    }

    fn run(&mut self, easy: Easy2<Collect>) -> Outcome {
        let handle = match self.multi.add2(easy) {
            Ok(h) => h,
            Err(e) => return Outcome::Failed(format!("libcurl: {e}")),
        };
        let started = Instant::now();
        let mut aborted = false;
        loop {
            match self.multi.perform() {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    let _ = self.multi.remove2(handle);
                    return Outcome::Failed(format!("libcurl: {e}"));
                }
            }
            if self.abort.is_set() || started.elapsed() > self.request_timeout + POLL * 4 {
                aborted = self.abort.is_set();
                break;
            }
            let _ = self.multi.wait(&mut [], POLL);
        }
        let mut result = None;
        self.multi.messages(|m| {
            if let Some(r) = m.result_for2(&handle) {
                result = Some(r);
            }
        });
        let mut easy = match self.multi.remove2(handle) {
            Ok(e) => e,
            Err(e) => return Outcome::Failed(format!("libcurl: {e}")),
        };
        let outcome = match result {
            None if aborted => Outcome::Aborted,
            None => Outcome::Failed("the request timed out".into()),
            Some(Ok(())) => {
                let status = easy.response_code().unwrap_or(0) as u16;
                let c = std::mem::take(easy.get_mut());
                Outcome::Answered {
                    status,
                    retry_after: c.retry_after,
                    date: c.date,
                    etag: c.etag,
                    content_type: c.content_type,
                    body: c.body,
                }
            }
            // An answer cut for its size still answered: its status stands.
            Some(Err(e)) if e.is_write_error() && easy.get_ref().too_long => {
                let status = easy.response_code().unwrap_or(0) as u16;
                let c = std::mem::take(easy.get_mut());
                Outcome::Answered {
                    status,
                    retry_after: c.retry_after,
                    date: c.date,
                    etag: c.etag,
                    content_type: c.content_type,
                    body: c.body,
                }
            }
            Some(Err(e)) => classify(&e, &mut easy),
        };
        if !matches!(outcome, Outcome::Aborted) {
            self.easy = Some(easy);
        }
        outcome
    }
}

/// Not reached when no exchange with the collector happened: no connection,
/// a TLS handshake or certificate failure (including a pinned key that does not
/// match), a proxy failure. Failed when the collector was reached and the
/// exchange broke (timeout after connecting, reset, bad answer).
fn classify(e: &curl::Error, easy: &mut Easy2<Collect>) -> Outcome {
    let connected = easy.connect_time().map(|t| !t.is_zero()).unwrap_or(false);
    let message = format!("{e}");
    let cause = if e.is_couldnt_resolve_proxy() || e.code() as i64 == CURLE_PROXY {
        Some(Cause::Proxy)
    } else if e.is_couldnt_resolve_host()
        || e.is_couldnt_connect()
        || (e.is_operation_timedout() && !connected)
    {
        Some(Cause::Network)
    } else if e.code() as i64 == CURLE_SSL_PINNEDPUBKEYNOTMATCH {
        Some(Cause::Pinning)
    } else if e.is_ssl_connect_error()
        || e.is_peer_failed_verification()
        || e.is_ssl_certproblem()
        || e.is_ssl_cipher()
        || e.is_ssl_cacert_badfile()
        || e.is_ssl_issuer_error()
        || e.is_ssl_crl_badfile()
        || e.code() as i64 == CURLE_SSL_INVALIDCERTSTATUS
    {
        Some(Cause::Tls)
    } else {
        None
    };
    match cause {
        Some(cause) => Outcome::NotReached { cause, why: message },
        None => Outcome::Failed(message),
    }
}

/// libcurl codes the `curl` crate has no predicate for.
const CURLE_SSL_PINNEDPUBKEYNOTMATCH: i64 = 90;
const CURLE_SSL_INVALIDCERTSTATUS: i64 = 91;
const CURLE_PROXY: i64 = 97;

// SAFETY: libcurl handles may move between threads as long as one thread at a
// time uses them; a CurlTransport is created by the tracker and then used only
// by its delivery thread.
unsafe impl Send for CurlTransport {}

impl Transport for CurlTransport {
    fn send(&mut self, request: &Request<'_>) -> Outcome {
        if self.abort.is_set() {
            return Outcome::Aborted;
        }
        match self.prepare(request) {
            Ok(easy) => self.run(easy),
            Err(e) => Outcome::Failed(format!("libcurl: {e}")),
        }
    }
}
