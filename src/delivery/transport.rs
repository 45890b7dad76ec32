//! HTTP transports: what a request and its outcome are, and the abort signal.
//! Implemented by libcurl (`CurlTransport`) and by the host (`delivery::host`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// How the api key is presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthScheme {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// HTTP Basic with the key as user name and an empty password.
    Basic,
}

pub struct Request<'a> {
    pub method: Method,
    pub url: &'a str,
    /// Header lines to send (names as written), e.g. Content-Type, Authorization.
    pub headers: &'a [(String, String)],
    /// For POST: the JSON body, gzip-compressed when so declared in `headers`.
    pub body: &'a [u8],
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered. `body` is bounded by the transport (libcurl keeps
    /// 512 KiB and cuts the rest; only the remote configuration reads bodies).
    Answered {
        status: u16,
        retry_after: Option<String>,
        date: Option<String>,
        etag: Option<String>,
        /// The `Content-Type` header: an HTML page on the batch endpoint is a
        /// captive portal's, not the collector's acknowledgement.
        content_type: Option<String>,
        body: Vec<u8>,
    },
    /// The collector was not reached (DNS, refused connection, network down, a
    /// TLS or proxy failure, a captive portal): consumes no attempt.
    NotReached { cause: Cause, why: String },
    /// The server was reached but the exchange failed (timeout, reset): counts as
    /// an attempt.
    Failed(String),
    /// The tracker is closing; the outcome is unknown, the hits stay stored.
    Aborted,
}

/// Why a request did not reach the collector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// No connection: DNS, refused or timed-out connect, the network is down.
    Network,
    /// The TLS handshake failed: an unknown or intercepted certificate, a name
    /// mismatch, an expired certificate. Only libcurl reports it.
    #[cfg_attr(not(feature = "curl-transport"), allow(dead_code))]
    Tls,
    /// The server's public key matches none of the pinned keys. Only libcurl
    /// reports it.
    #[cfg_attr(not(feature = "curl-transport"), allow(dead_code))]
    Pinning,
    /// A proxy failed or asked for credentials (407).
    Proxy,
    /// Something between the device and the collector answered in its place:
    /// a redirect (3xx, never followed), 511, or an HTML page on the batch
    /// endpoint (a captive portal's login page).
    Portal,
}

impl Cause {
    pub fn describe(self) -> &'static str {
        match self {
            Cause::Network => "the network is unreachable",
            Cause::Tls => "the TLS handshake failed",
            Cause::Pinning => "the server's public key matches no pinned key",
            Cause::Proxy => "a proxy failed",
            Cause::Portal => "a captive portal or redirect answered instead of the collector",
        }
    }
}

impl Outcome {
    /// Not reached for want of a network.
    pub fn unreachable(why: impl Into<String>) -> Outcome {
        Outcome::NotReached { cause: Cause::Network, why: why.into() }
    }
}

/// Sends one request. Implemented by libcurl here, and by host transports.
pub trait Transport: Send {
    fn send(&mut self, request: &Request<'_>) -> Outcome;

    /// The same transport with requests in flight side by side, when it can
    /// (libcurl); `None` for a transport that sends one request at a time (a
    /// host's: its contract is one call at a time).
    fn lanes(&mut self) -> Option<&mut dyn Lanes> {
        None
    }
}

/// Requests in flight at once (`Transport::lanes`): each started with a tag,
/// each handed back by `finish` with its tag, in the order they end. The
/// caller keeps at most `LANES` in flight and never calls `Transport::send`
/// while one is.
pub trait Lanes {
    /// Starts `request`; a request that cannot start (the tracker is closing,
    /// the trust cannot be applied) ends at once, with its outcome waiting in
    /// `finish`.
    fn start(&mut self, tag: u64, request: &Request<'_>);

    /// Waits until a request started ends and returns it; `None` when none is
    /// in flight. When the tracker closes, every request in flight ends
    /// `Aborted` within ~50 ms.
    fn finish(&mut self) -> Option<(u64, Outcome)>;
}

/// The most requests the drain keeps in flight on a transport with lanes.
pub(crate) const LANES: usize = 2;

/// Tells transfers in flight to stop: for good (the tracker is closing), or
/// past a deadline (a flush the host bounded, e.g. on entering background).
#[derive(Clone, Default)]
pub struct Abort(Arc<AbortState>);

#[derive(Default)]
pub struct AbortState {
    closing: AtomicBool,
    deadline: parking_lot::Mutex<Option<Instant>>,
}

impl Abort {
    pub fn trigger(&self) {
        self.0.closing.store(true, Ordering::SeqCst);
    }

    /// Sets (or clears) the deadline of the current bounded flush.
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        *self.0.deadline.lock() = deadline;
    }

    pub fn is_closing(&self) -> bool {
        self.0.closing.load(Ordering::SeqCst)
    }

    pub fn is_set(&self) -> bool {
        self.is_closing() || self.0.deadline.lock().is_some_and(|d| Instant::now() >= d)
    }
}

#[cfg(feature = "curl-transport")]
mod curl_transport;
#[cfg(feature = "curl-transport")]
pub use curl_transport::CurlTransport;
