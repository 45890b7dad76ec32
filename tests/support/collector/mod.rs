//! A test collector: a small, hand-written HTTP/1.1 server on loopback that
//! speaks attracker's wire format (README.md, "Wire format": `POST /v1/batch`, `GET` URL hits)
//! and can be told to misbehave (`Fault`) the ways real networks and servers do.
//!
//! Included by path, not as a crate, so it depends on nothing of `attracker`.
//! Tests reach it through tests/common (`mod common;` then
//! `use common::collector::{Collector, Fault};`); examples/collector.rs and the
//! benchmark, which cannot depend on test code, include it themselves:
//!
//! ```ignore
//! #[path = "../tests/support/collector/mod.rs"] mod collector;    // from examples/
//! ```
//!
//! Semantics worth knowing:
//! - One thread accepts; each connection is served on its own thread (at most
//!   64 at a time; further clients wait in the listen backlog). Keep-alive,
//!   `Connection: close`, `Content-Length` and chunked request bodies,
//!   `Expect: 100-continue` and `Content-Encoding: gzip` are handled.
//! - Faults are taken one per request (a scripted one from `push_faults` first,
//!   otherwise the standing one from `set_fault`). `AcceptThenClose` is taken per
//!   *connection*: a new connection is closed at accept while it is the next
//!   fault; a request arriving on an already open (kept-alive) connection while
//!   it is the next fault closes that connection without answering and leaves
//!   the fault in place, so the client's reconnect meets it (as after a server
//!   restart). It is logged once, with the connection that was closed at accept.
//! - libcurl silently resends, once, a request that got no byte back on a
//!   *reused* connection. So a single scripted `Reset` after keep-alive is
//!   invisible to a libcurl client (the resend meets the next fault); script
//!   two, use a standing fault, or a fresh connection, to make it fail.
//! - `RequestLog::status` is 0 for a request that got no answer (`Reset`,
//!   `AcceptThenClose`, `EndlessHeaders`, a `Delay` whose client hung up
//!   meanwhile) and, during a `Delay`, until the answer is decided.
//!   `ProcessThenDelay` logs its 200 when the batch is recorded, before the
//!   delayed answer is written.
//! - `Delay` waits, then processes: if the client closed the connection while
//!   waiting (e.g. its timeout fired), the batch is *not* recorded; that is the
//!   unambiguous "never arrived" case. `ProcessThenDelay` is the ambiguous one.
//! - Dropping the collector stops it: the listener closes, open connections are
//!   shut down and every thread is joined (waiting at most about a second).
//! - `set_config` serves a remote configuration document at a path: a GET of
//!   that path (query ignored) answers it (200, 304 on a matching
//!   `If-None-Match`, or 404 when there is no document) and is logged in
//!   `requests()` but never in `hits()`. Faults and the required
//!   `Authorization` apply to it as to any request.
//! - `push_event_fault` targets a batch by an event it holds, not by arrival
//!   order (which side-by-side requests do not fix); `in_flight` and
//!   `max_in_flight` count requests between their head and their answer.
//! - Every response carries `Date:`, the real time shifted by `set_date_skew`
//!   (0 by default); a `304` carries no `Content-Length` (it has no body).
//! - Hostile answers (`HugeBody`, `EndlessHeaders`, `Redirect`, `SlowDrip`) test
//!   a client's size and time limits. `HugeBody` and `SlowDrip` process the
//!   request normally first (a valid batch is recorded and logged 200), so a
//!   client that gives up on the answer is in the ambiguous case, as with
//!   `ProcessThenDelay`. `EndlessHeaders` and `Redirect` record nothing. A
//!   client that hangs up mid-answer just ends its connection's thread
//!   (`wait_idle` sees it; `RequestLog::body_sent` tells how far the body
//!   got); every wait and every stream of bytes also ends when the collector
//!   is dropped.
//!
//! Where things are: this file holds the limits and the `Collector` handle
//! (its settings, what it recorded, waiting, stopping); `faults` the `Fault`
//! modes and the hostile answers they write; `records` what is recorded
//! (`RequestLog`, `Batch`); `state` the state shared with the connection
//! threads; `server` accepting and serving connections; `process` what a
//! request is answered and what it records; `request` and `response` the
//! HTTP/1.1 parsing and writing; `segment` the Segment API shapes every
//! received event is checked against (`spec_violations`); `socket` the hang-up check and the reset;
//! `dates` the date formats.
#![allow(dead_code)]

pub mod accounting;
mod dates;
mod faults;
mod process;
mod records;
mod request;
mod response;
pub mod segment;
mod server;
mod socket;
mod state;

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::Value;

// The public API, whole, whichever part a user calls: a re-export that one
// test binary does not use is not a mistake.
#[allow(unused_imports)]
pub use dates::{http_date, iso8601};
pub use faults::Fault;
pub use records::{Batch, RequestLog};

use state::{ConfigDoc, Shared, State};

/// Connections served at the same time; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 64;
/// A client that stays silent this long (mid-request or idle) is disconnected.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound on a request head (request line and headers).
const MAX_HEAD_BYTES: u64 = 64 * 1024;
/// Upper bound on a request body as received; larger ones get 413.
pub const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
/// How long `Drop` waits for the threads.
const STOP_BOUND: Duration = Duration::from_secs(1);
/// Body length announced (and dripped) by `Fault::SlowDrip`.
pub const SLOW_DRIP_BYTES: u64 = 1000;
/// How long `Fault::EndlessHeaders` goes on at most.
pub const ENDLESS_HEADERS_BOUND: Duration = Duration::from_secs(60);
/// Size of each `X-Filler-N` header line's value sent by `Fault::EndlessHeaders`.
pub const FILLER_HEADER_BYTES: usize = 1024;
/// Write size when streaming a long body.
const STREAM_CHUNK: usize = 64 * 1024;

/// A running collector; stops on drop.
pub struct Collector {
    shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Option<JoinHandle<()>>,
}

impl Collector {
    /// Starts on 127.0.0.1 with a port chosen by the OS.
    pub fn start() -> Collector {
        Collector::start_on("127.0.0.1:0").expect("test collector: bind 127.0.0.1:0")
    }

    /// Starts on `addr` (e.g. "127.0.0.1:8080").
    pub fn start_on(addr: &str) -> io::Result<Collector> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new());
        let sh = Arc::clone(&shared);
        let acceptor = thread::Builder::new().name("collector-accept".into()).spawn(move || {
            server::accept_loop(listener, &sh);
            sh.lock().acceptor_done = true;
            sh.changed.notify_all();
        })?;
        Ok(Collector { shared, addr, acceptor: Some(acceptor) })
    }

    /// "http://127.0.0.1:PORT", no trailing slash (loopback when bound to any address).
    pub fn url(&self) -> String {
        format!("http://{}", self.reachable_addr())
    }

    /// The address bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn reachable_addr(&self) -> SocketAddr {
        let mut a = self.addr;
        if a.ip().is_unspecified() {
            a.set_ip(match a.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            });
        }
        a
    }

    /// The fault for every later request, until changed (after any script).
    pub fn set_fault(&self, f: Fault) {
        self.shared.lock().standing = f;
    }

    /// A script: the next requests get these, one each, in order; then the
    /// standing fault applies again. Appends to a script still running.
    pub fn push_faults(&self, fs: Vec<Fault>) {
        self.shared.lock().script.extend(fs);
    }

    /// The first batch holding an event named `event_name` gets `fault`
    /// instead of the normal answer (once), whichever connection it comes on
    /// and in whatever order: for clients with requests side by side. Applies
    /// to a request with no other fault (script or standing) only; decided
    /// once the body is read, so `Reset` resets after reading it and
    /// `AcceptThenClose` does not apply. Appends.
    pub fn push_event_fault(&self, event_name: &str, fault: Fault) {
        self.shared.lock().event_faults.push((event_name.to_owned(), fault));
    }

    /// Drops the event faults not yet used; returns how many there were.
    pub fn clear_event_faults(&self) -> usize {
        std::mem::take(&mut self.shared.lock().event_faults).len()
    }

    /// Requests being served now: read (head) and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.shared.lock().in_flight
    }

    /// The most requests served at the same time so far (over all connections).
    pub fn max_in_flight(&self) -> usize {
        self.shared.lock().max_in_flight
    }

    /// When `Some`, a request whose `Authorization` is not exactly this gets 401.
    pub fn set_required_auth(&self, header: Option<String>) {
        self.shared.lock().auth = header;
    }

    /// When `Some`, a batch containing an event with this `"event"` name gets 400.
    pub fn set_poison(&self, event_name: Option<String>) {
        self.shared.lock().poison = event_name;
    }

    /// Counting mode, for load (the benchmarks): accepted events are checked,
    /// counted and deduplicated by `messageId`, but neither they nor their
    /// batches are kept (`events()` and `batches()` stay empty), and bodies are
    /// parsed without building a JSON tree.
    pub fn set_counting(&self, counting: bool) {
        self.shared.lock().counting = counting;
    }

    /// Serves a remote configuration document: from now on a `GET <path>`
    /// (any query ignored) is answered with it instead of being recorded as a
    /// hit. With `body` Some: `304 Not Modified` (with `ETag`, no body) when
    /// the request's `If-None-Match` equals `etag` exactly (trimmed), else
    /// `200` with `Content-Type: application/json`, `ETag: <etag>` when one is
    /// set (sent verbatim: include the quotes) and the body. With `body` None:
    /// `404`. A later call replaces the document, the etag and the path.
    /// Faults and `set_required_auth` apply to these GETs as to any request.
    pub fn set_config(&self, path: &str, body: Option<String>, etag: Option<String>) {
        let path = path.split('?').next().unwrap_or("").to_string();
        self.shared.lock().config = Some(ConfigDoc { path, body, etag });
    }

    /// GETs of the config path received, whatever the answer (faulted ones
    /// included; they are in `requests()` too, never in `hits()`). A
    /// connection closed by `AcceptThenClose` carries no request: not counted.
    pub fn config_fetches(&self) -> usize {
        self.shared.lock().config_fetches
    }

    /// Config GETs answered `304 Not Modified`.
    pub fn config_not_modified(&self) -> usize {
        self.shared.lock().config_not_modified
    }

    /// Shifts the `Date` header of every later response by `skew_ms`
    /// milliseconds from the real time (negative: in the past). 0 by default.
    /// `Retry-After` values are sent as given, unaffected.
    pub fn set_date_skew(&self, skew_ms: i64) {
        self.shared.date_skew_ms.store(skew_ms, Ordering::Relaxed);
    }

    /// Events accepted in all, duplicates included.
    pub fn accepted_events(&self) -> usize {
        self.shared.lock().accepted_events
    }

    /// How many distinct `messageId`s were accepted.
    pub fn unique_events(&self) -> usize {
        self.shared.lock().seen.len()
    }

    /// Every request received, in order, faulted and rejected ones included.
    pub fn requests(&self) -> Vec<RequestLog> {
        self.shared.lock().requests.clone()
    }

    /// Accepted `POST /v1/batch` requests, in order.
    pub fn batches(&self) -> Vec<Batch> {
        self.shared.lock().batches.clone()
    }

    /// Accepted GETs: the request target (path and query) of each, in order.
    pub fn hits(&self) -> Vec<String> {
        self.shared.lock().hits.clone()
    }

    /// Every event of every accepted batch, in order, duplicates included.
    pub fn events(&self) -> Vec<Value> {
        self.shared.lock().events.clone()
    }

    /// Every way a received event differs from the Segment HTTP API's shapes
    /// (`segment::violations`), each with the event's message id.
    pub fn spec_violations(&self) -> Vec<String> {
        self.events()
            .iter()
            .flat_map(|e| {
                let id = e["messageId"].as_str().unwrap_or("?").to_owned();
                segment::violations(e).into_iter().map(move |v| format!("{id}: {v}"))
            })
            .collect()
    }

    /// The distinct `messageId`s accepted.
    pub fn unique_message_ids(&self) -> HashSet<String> {
        self.shared.lock().seen.clone()
    }

    /// Accepted events whose `messageId` had already been accepted.
    pub fn duplicates(&self) -> usize {
        self.shared.lock().duplicates
    }

    /// Waits until at least `n` distinct `messageId`s were accepted.
    pub fn wait_for_events(&self, n: usize, timeout: Duration) -> bool {
        self.wait(timeout, |st| st.seen.len() >= n)
    }

    /// Waits until at least `n` GET hits were accepted.
    pub fn wait_for_hits(&self, n: usize, timeout: Duration) -> bool {
        self.wait(timeout, |st| st.hits.len() >= n)
    }

    /// Waits until at least `n` requests were received (whatever their outcome).
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        self.wait(timeout, |st| st.requests.len() >= n)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// Connections open now (each served by a thread of its own).
    pub fn open_connections(&self) -> usize {
        self.shared.lock().active
    }

    /// Waits until no connection is open: every connection thread has ended
    /// (e.g. after a client hung up mid-answer).
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        self.wait(timeout, |st| st.active == 0)
    }

    fn wait(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
        let st = self.shared.lock();
        self.shared.wait_until(st, timeout, done).1
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        {
            let mut st = self.shared.lock();
            for (_, s) in st.streams.drain() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        self.shared.changed.notify_all();
        // Unblock accept().
        let _ = TcpStream::connect_timeout(&self.reachable_addr(), Duration::from_millis(250));
        let st = self.shared.lock();
        let (_st, all_done) = self.shared.wait_until(st, STOP_BOUND, |st| st.acceptor_done && st.active == 0);
        if let Some(h) = self.acceptor.take() {
            if all_done {
                let _ = h.join();
            } // else: leave it detached rather than hang the test.
        }
    }
}
