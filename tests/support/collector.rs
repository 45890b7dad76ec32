//! A test collector: a small, hand-written HTTP/1.1 server on loopback that
//! speaks the wire format of DESIGN.md §6 (`POST /v1/batch`, `GET` URL hits)
//! and can be told to misbehave (`Fault`) the ways real networks and servers do.
//!
//! Included by path, not as a crate, so it depends on nothing of `attracker`:
//!
//! ```ignore
//! #[path = "support/collector.rs"] mod collector;             // from tests/
//! #[path = "../tests/support/collector.rs"] mod collector;    // from examples/
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
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

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
    /// `Content-Length` of [`SLOW_DRIP_BYTES`] and send the body one byte per
    /// interval, until done or the client hangs up.
    SlowDrip(Duration),
}

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

/// A running collector; stops on drop.
pub struct Collector {
    shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// Notified on every change of `State`, and on stop.
    changed: Condvar,
    stop: AtomicBool,
    /// Added to the real time in every response's `Date` (milliseconds).
    date_skew_ms: AtomicI64,
}

struct State {
    standing: Fault,
    script: VecDeque<Fault>,
    auth: Option<String>,
    poison: Option<String>,
    requests: Vec<RequestLog>,
    batches: Vec<Batch>,
    hits: Vec<String>,
    events: Vec<Value>,
    seen: HashSet<String>,
    duplicates: usize,
    connections: usize,
    /// Connection threads alive.
    active: usize,
    acceptor_done: bool,
    /// Clones of the open connections, to shut them down on stop.
    streams: HashMap<u64, TcpStream>,
    /// Counting mode: accepted events are counted and deduplicated, not kept.
    counting: bool,
    /// Events accepted in all, duplicates included.
    accepted_events: usize,
    /// The remote configuration served, if any.
    config: Option<ConfigDoc>,
    /// GETs of the config path received (logged), whatever the answer.
    config_fetches: usize,
    /// Config GETs answered 304.
    config_not_modified: usize,
}

/// A remote configuration document and where it is served.
struct ConfigDoc {
    /// The path (no query) whose GETs answer it.
    path: String,
    /// None: the path answers 404.
    body: Option<String>,
    /// Sent verbatim as `ETag` (quotes included, if wanted).
    etag: Option<String>,
}

impl State {
    fn next_fault(&self) -> &Fault {
        self.script.front().unwrap_or(&self.standing)
    }
    fn take_fault(&mut self) -> Fault {
        match self.script.pop_front() {
            Some(f) => f,
            None => self.standing.clone(),
        }
    }
    /// The served config document, when `method target` is a GET of its path.
    fn config_for(&self, method: &str, target: &str) -> Option<&ConfigDoc> {
        let path = target.split('?').next().unwrap_or("");
        self.config.as_ref().filter(|c| method == "GET" && c.path == path)
    }
    /// Appends to the request log (counting config GETs); returns the index.
    fn push_request(&mut self, log: RequestLog) -> usize {
        if self.config_for(&log.method, &log.path).is_some() {
            self.config_fetches += 1;
        }
        self.requests.push(log);
        self.requests.len() - 1
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
    /// The time to put in a response's `Date`: now, shifted by the skew.
    fn response_date(&self) -> SystemTime {
        let skew = self.date_skew_ms.load(Ordering::Relaxed);
        let now = SystemTime::now();
        let shifted = if skew >= 0 {
            now.checked_add(Duration::from_millis(skew as u64))
        } else {
            now.checked_sub(Duration::from_millis(skew.unsigned_abs()))
        };
        shifted.unwrap_or(now)
    }
    /// Waits on `changed` until `done` holds or `timeout` passes; the guard is
    /// handed back so the caller may go on under the lock.
    fn wait_until<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        timeout: Duration,
        done: impl Fn(&State) -> bool,
    ) -> (MutexGuard<'a, State>, bool) {
        let deadline = Instant::now() + timeout.min(Duration::from_secs(365 * 86_400));
        loop {
            if done(&st) {
                return (st, true);
            }
            let now = Instant::now();
            if now >= deadline {
                return (st, false);
            }
            st = self.changed.wait_timeout(st, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
    /// Sleeps for `d` unless the collector stops first; false if it stopped.
    fn pause(&self, d: Duration) -> bool {
        let st = self.lock();
        let (_st, stopped) = self.wait_until(st, d, |_| self.stopped());
        !stopped
    }
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
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                standing: Fault::None,
                script: VecDeque::new(),
                auth: None,
                poison: None,
                requests: Vec::new(),
                batches: Vec::new(),
                hits: Vec::new(),
                events: Vec::new(),
                seen: HashSet::new(),
                duplicates: 0,
                connections: 0,
                active: 0,
                acceptor_done: false,
                streams: HashMap::new(),
                counting: false,
                accepted_events: 0,
                config: None,
                config_fetches: 0,
                config_not_modified: 0,
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            date_skew_ms: AtomicI64::new(0),
        });
        let sh = Arc::clone(&shared);
        let acceptor = thread::Builder::new().name("collector-accept".into()).spawn(move || {
            accept_loop(listener, &sh);
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

// ---------------------------------------------------------------------------
// Accepting and serving

fn accept_loop(listener: TcpListener, shared: &Arc<Shared>) {
    loop {
        {
            let st = shared.lock();
            let _ =
                shared.wait_until(st, Duration::MAX, |st| st.active < MAX_CONNECTIONS || shared.stopped());
        }
        if shared.stopped() {
            return;
        }
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(_) => {
                if shared.stopped() {
                    return;
                }
                // EMFILE and the like: do not spin.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let mut st = shared.lock();
        if shared.stopped() {
            return;
        }
        st.connections += 1;
        let id = st.connections as u64;
        if *st.next_fault() == Fault::AcceptThenClose {
            st.take_fault();
            st.requests.push(RequestLog {
                method: String::new(),
                path: String::new(),
                status: 0,
                event_count: 0,
                received_at: Instant::now(),
                headers: Vec::new(),
                connection: id,
                body_sent: 0,
            });
            drop(st);
            shared.changed.notify_all();
            drop(stream);
            continue;
        }
        if let Ok(clone) = stream.try_clone() {
            st.streams.insert(id, clone);
        }
        st.active += 1;
        drop(st);
        shared.changed.notify_all();
        let sh = Arc::clone(shared);
        let spawned = thread::Builder::new().name(format!("collector-conn-{id}")).spawn(move || {
            let _guard = ConnGuard { shared: &sh, id };
            serve(stream, id, &sh);
        });
        if spawned.is_err() {
            let mut st = shared.lock();
            st.streams.remove(&id);
            st.active -= 1;
        }
    }
}

/// Unregisters a connection when its thread ends, however it ends.
struct ConnGuard<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for ConnGuard<'_> {
    fn drop(&mut self) {
        let clone = {
            let mut st = self.shared.lock();
            st.active -= 1;
            st.streams.remove(&self.id)
        };
        drop(clone);
        self.shared.changed.notify_all();
    }
}

struct Head {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
    /// Whether the connection may carry another request after this one.
    fn keep_alive(&self) -> bool {
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

struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    /// Sent with `Content-Type: application/json` when not empty.
    body: std::borrow::Cow<'static, [u8]>,
}

impl Response {
    fn new(status: u16) -> Response {
        Response { status, headers: Vec::new(), body: std::borrow::Cow::Borrowed(b"") }
    }
    fn ok_json() -> Response {
        Response { status: 200, headers: Vec::new(), body: std::borrow::Cow::Borrowed(b"{\"success\":true}") }
    }
    fn json(status: u16, body: Vec<u8>) -> Response {
        Response { status, headers: Vec::new(), body: body.into() }
    }
    fn with(mut self, name: &'static str, value: String) -> Response {
        self.headers.push((name, value));
        self
    }
}

enum HeadError {
    /// EOF, timeout, reset: just close.
    Gone,
    /// Not HTTP: answer 400 and close.
    Malformed,
}

fn serve(stream: TcpStream, conn: u64, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    loop {
        if shared.stopped() {
            return;
        }
        let head = match read_head(&mut reader) {
            Ok(h) => h,
            Err(HeadError::Gone) => return,
            Err(HeadError::Malformed) => {
                let _ = write_response(reader.get_mut(), &Response::new(400), true, shared.response_date());
                return;
            }
        };
        let received_at = Instant::now();
        let (fault, counting) = {
            let mut st = shared.lock();
            if *st.next_fault() == Fault::AcceptThenClose {
                // Left for the client's reconnect; see the module docs.
                return;
            }
            (st.take_fault(), st.counting)
        };
        let mut log = RequestLog {
            method: head.method.clone(),
            path: head.target.clone(),
            status: 0,
            event_count: 0,
            received_at,
            headers: head.headers.clone(),
            connection: conn,
            body_sent: 0,
        };
        if fault == Fault::Reset {
            shared.lock().push_request(log);
            shared.changed.notify_all();
            reset(reader.into_inner());
            return;
        }
        let keep_alive = head.keep_alive();

        // The body.
        let body = match read_body(&mut reader, &head) {
            Ok(b) => b,
            Err(status) => {
                if status != 0 {
                    log.status = status;
                    let _ = write_response(
                        reader.get_mut(),
                        &Response::new(status),
                        true,
                        shared.response_date(),
                    );
                }
                shared.lock().push_request(log);
                shared.changed.notify_all();
                return;
            }
        };
        let gzip = head.header("content-encoding").is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
        let decoded: Option<std::borrow::Cow<'_, [u8]>> =
            if gzip { gunzip(&body).map(Into::into) } else { Some(body.as_slice().into()) };
        let (json, lean) = match &decoded {
            Some(d) if counting => (None, serde_json::from_slice::<LeanBatch<'_>>(d).ok()),
            Some(d) => (serde_json::from_slice::<Value>(d).ok(), None),
            None => (None, None),
        };
        log.event_count = match (&json, &lean) {
            (Some(v), _) => v.get("batch").and_then(Value::as_array).map_or(0, Vec::len),
            (None, Some(l)) => l.batch.len(),
            (None, None) => 0,
        };
        let req =
            Received { head: &head, body_len: body.len(), gzip, decoded: decoded.as_deref(), json, lean };

        let response = match fault {
            Fault::Status(s) => {
                log.status = s;
                push_log(shared, log);
                Response::new(s)
            }
            Fault::RetryAfter(s, v) => {
                log.status = s;
                push_log(shared, log);
                Response::new(s).with("Retry-After", v)
            }
            Fault::Delay(d) => {
                let index = push_log(shared, log);
                if !shared.pause(d) {
                    return;
                }
                if client_gone(&mut reader) {
                    return; // logged with status 0; nothing recorded
                }
                let mut st = shared.lock();
                let response = process(&mut st, &req);
                st.requests[index].status = response.status;
                drop(st);
                shared.changed.notify_all();
                response
            }
            Fault::ProcessThenDelay(d) => {
                let response = process_and_log(shared, &req, log);
                if !shared.pause(d) {
                    return;
                }
                response
            }
            Fault::None => process_and_log(shared, &req, log),
            Fault::Redirect(s, location) => {
                log.status = s;
                push_log(shared, log);
                Response::new(s).with("Location", location)
            }
            Fault::HugeBody(_) | Fault::SlowDrip(_) => {
                let (response, index) = process_and_log_at(shared, &req, log);
                if response.status == 304 {
                    response
                } else {
                    let (len, drip) = match fault {
                        Fault::HugeBody(n) => (n, None),
                        Fault::SlowDrip(every) => (SLOW_DRIP_BYTES, Some(every)),
                        _ => unreachable!(),
                    };
                    let stream = reader.get_mut();
                    let (sent, done) = write_long_body(stream, shared, &response, len, drip, !keep_alive);
                    shared.lock().requests[index].body_sent = sent;
                    shared.changed.notify_all();
                    if !done || !keep_alive {
                        return;
                    }
                    continue;
                }
            }
            Fault::EndlessHeaders => {
                push_log(shared, log);
                endless_headers(reader.get_mut(), shared);
                return;
            }
            Fault::Reset | Fault::AcceptThenClose => return, // handled above
        };
        let date = shared.response_date();
        if write_response(reader.get_mut(), &response, !keep_alive, date).is_err() || !keep_alive {
            return;
        }
    }
}

/// Answers `r`'s status and headers with a body of `len` bytes: `r`'s body
/// padded with spaces (or cut). `drip`: one byte per interval; otherwise in
/// chunks as fast as the client reads. Returns the body bytes written, and
/// false when the client hung up, a write failed or the collector stopped
/// (the connection is then done).
fn write_long_body(
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
fn endless_headers(stream: &mut TcpStream, shared: &Shared) {
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

fn push_log(shared: &Shared, log: RequestLog) -> usize {
    let mut st = shared.lock();
    let index = st.push_request(log);
    drop(st);
    shared.changed.notify_all();
    index
}

fn process_and_log(shared: &Shared, req: &Received<'_>, log: RequestLog) -> Response {
    process_and_log_at(shared, req, log).0
}

/// Processes, logs; returns the response and the log's index.
fn process_and_log_at(shared: &Shared, req: &Received<'_>, mut log: RequestLog) -> (Response, usize) {
    let mut st = shared.lock();
    let response = process(&mut st, req);
    log.status = response.status;
    let index = st.push_request(log);
    drop(st);
    shared.changed.notify_all();
    (response, index)
}

/// A request read in full.
struct Received<'a> {
    head: &'a Head,
    body_len: usize,
    gzip: bool,
    /// None when gunzip failed.
    decoded: Option<&'a [u8]>,
    /// None when the (decoded) body is not JSON, or in counting mode.
    json: Option<Value>,
    /// Counting mode: the batch's events, when the body is a valid batch.
    lean: Option<LeanBatch<'a>>,
}

/// A batch body read for counting: the syntax is checked in full, only the
/// fields the collector acts on are kept.
#[derive(serde::Deserialize)]
struct LeanBatch<'a> {
    #[serde(borrow)]
    batch: Vec<LeanEvent<'a>>,
}

#[derive(serde::Deserialize)]
struct LeanEvent<'a> {
    #[serde(rename = "messageId", borrow)]
    message_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<std::borrow::Cow<'a, str>>,
}

/// Normal processing: authorization, routing, validation, recording.
fn process(st: &mut State, req: &Received<'_>) -> Response {
    let head = req.head;
    if let Some(required) = &st.auth {
        if head.header("authorization") != Some(required.as_str()) {
            return Response::new(401).with("WWW-Authenticate", "Bearer".into());
        }
    }
    let path = head.target.split('?').next().unwrap_or("");
    if let Some(config) = st.config_for(&head.method, &head.target) {
        let response = config_response(config, head);
        if response.status == 304 {
            st.config_not_modified += 1;
        }
        return response;
    }
    match head.method.as_str() {
        "GET" => {
            st.hits.push(head.target.clone());
            Response::new(200)
        }
        "POST" if path == "/v1/batch" => {
            let json_type = head.header("content-type").is_some_and(|v| {
                v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json")
            });
            let encoding_ok = head.header("content-encoding").is_none_or(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("gzip") || v.eq_ignore_ascii_case("identity")
            });
            if !json_type || !encoding_ok {
                return Response::new(400);
            }
            if let Some(lean) = &req.lean {
                return record_lean(st, lean);
            }
            let (Some(decoded), Some(json)) = (&req.decoded, &req.json) else {
                return Response::new(400);
            };
            let Some(events) = json.get("batch").and_then(Value::as_array) else {
                return Response::new(400);
            };
            if let Some(poison) = &st.poison {
                if events.iter().any(|e| e.get("event").and_then(Value::as_str) == Some(poison)) {
                    return Response::new(400);
                }
            }
            for e in events {
                if let Some(id) = e.get("messageId").and_then(Value::as_str) {
                    if !st.seen.insert(id.to_string()) {
                        st.duplicates += 1;
                    }
                }
                st.events.push(e.clone());
                st.accepted_events += 1;
            }
            st.batches.push(Batch {
                headers: head.headers.clone(),
                body: json.clone(),
                gzip: req.gzip,
                body_bytes: req.body_len,
                decoded_bytes: decoded.len(),
            });
            Response::ok_json()
        }
        "POST" => Response::new(404),
        _ => Response::new(405).with("Allow", "GET, POST".into()),
    }
}

/// The answer to a GET of the config path.
fn config_response(config: &ConfigDoc, head: &Head) -> Response {
    let Some(body) = &config.body else {
        return Response::new(404);
    };
    if let Some(etag) = &config.etag {
        if head.header("if-none-match").is_some_and(|v| v.trim() == etag) {
            return Response::new(304).with("ETag", etag.clone());
        }
    }
    let mut r = Response::json(200, body.clone().into_bytes());
    if body.is_empty() {
        // `write_response` types only non-empty bodies.
        r = r.with("Content-Type", "application/json".into());
    }
    if let Some(etag) = &config.etag {
        r = r.with("ETag", etag.clone());
    }
    r
}

/// Counting mode's recording: dedup and count, nothing kept.
fn record_lean(st: &mut State, lean: &LeanBatch<'_>) -> Response {
    if let Some(poison) = &st.poison {
        if lean.batch.iter().any(|e| e.event.as_deref() == Some(poison.as_str())) {
            return Response::new(400);
        }
    }
    for e in &lean.batch {
        if let Some(id) = &e.message_id {
            if !st.seen.insert(id.to_string()) {
                st.duplicates += 1;
            }
        }
        st.accepted_events += 1;
    }
    Response::ok_json()
}

// ---------------------------------------------------------------------------
// HTTP/1.1 parsing

fn read_head(reader: &mut BufReader<TcpStream>) -> Result<Head, HeadError> {
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
fn read_body(reader: &mut BufReader<TcpStream>, head: &Head) -> Result<Vec<u8>, u16> {
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

fn gunzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data).take(MAX_BODY_BYTES * 4).read_to_end(&mut out).ok()?;
    Some(out)
}

/// Writes a response dated `date`. A 304 gets no `Content-Length` (it has no
/// body, and the header would announce the 200's length).
fn write_response(stream: &mut TcpStream, r: &Response, close: bool, date: SystemTime) -> io::Result<()> {
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
fn response_head(r: &Response, length: Option<u64>, close: bool, date: SystemTime) -> String {
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

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Whether the client closed its end (checked after a `Delay`).
fn client_gone(reader: &mut BufReader<TcpStream>) -> bool {
    if !reader.buffer().is_empty() {
        return false; // it sent more: still there
    }
    let s = reader.get_mut();
    if s.set_nonblocking(true).is_err() {
        return false;
    }
    let gone = match s.peek(&mut [0u8; 1]) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    };
    let _ = s.set_nonblocking(false);
    gone
}

/// Closes with an RST instead of a FIN (SO_LINGER with a zero timeout).
fn reset(stream: TcpStream) {
    set_linger_zero(&stream);
    drop(stream);
}

/// Makes the next close send an RST. Where the option is not wired up here,
/// closing with the body still unread makes most stacks send one anyway.
fn set_linger_zero(stream: &TcpStream) {
    #[cfg(all(
        unix,
        any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        ),
        not(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc64"))
    ))]
    {
        use std::os::raw::{c_int, c_void};
        use std::os::unix::io::AsRawFd;

        #[repr(C)]
        struct Linger {
            l_onoff: c_int,
            l_linger: c_int,
        }
        extern "C" {
            fn setsockopt(socket: c_int, level: c_int, name: c_int, value: *const c_void, len: u32) -> c_int;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        const LEVEL_NAME: (c_int, c_int) = (1, 13); // SOL_SOCKET, SO_LINGER
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        const LEVEL_NAME: (c_int, c_int) = (0xffff, 0x0080); // BSD values

        let linger = Linger { l_onoff: 1, l_linger: 0 };
        // SAFETY: a valid socket descriptor, a pointer to a live `struct linger`
        // and its size; setsockopt does not keep the pointer.
        unsafe {
            setsockopt(
                stream.as_raw_fd(),
                LEVEL_NAME.0,
                LEVEL_NAME.1,
                &linger as *const Linger as *const c_void,
                std::mem::size_of::<Linger>() as u32,
            );
        }
    }
    let _ = stream;
}

// ---------------------------------------------------------------------------
// Time formatting (no date crate)

/// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), as in `Date` and `Retry-After`.
pub fn http_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    let rem = secs % 86_400;
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// ISO-8601 UTC with milliseconds ("2026-11-22T16:46:40.123Z"), as on the wire.
pub fn iso8601(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        y,
        m,
        day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
