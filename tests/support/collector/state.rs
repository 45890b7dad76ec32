//! The state a collector shares with its connection threads: what it was told
//! (faults, auth, poison, the served config) and what it recorded, under one
//! lock with a condition variable for every wait.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use super::{Batch, Fault, RequestLog};

pub(super) struct Shared {
    pub(super) state: Mutex<State>,
    /// Notified on every change of `State`, and on stop.
    pub(super) changed: Condvar,
    pub(super) stop: AtomicBool,
    /// Added to the real time in every response's `Date` (milliseconds).
    pub(super) date_skew_ms: AtomicI64,
}

pub(super) struct State {
    pub(super) standing: Fault,
    pub(super) script: VecDeque<Fault>,
    pub(super) auth: Option<String>,
    pub(super) poison: Option<String>,
    pub(super) requests: Vec<RequestLog>,
    pub(super) batches: Vec<Batch>,
    pub(super) hits: Vec<String>,
    pub(super) events: Vec<Value>,
    pub(super) seen: HashSet<String>,
    pub(super) duplicates: usize,
    pub(super) connections: usize,
    /// Connection threads alive.
    pub(super) active: usize,
    pub(super) acceptor_done: bool,
    /// Clones of the open connections, to shut them down on stop.
    pub(super) streams: HashMap<u64, TcpStream>,
    /// Counting mode: accepted events are counted and deduplicated, not kept.
    pub(super) counting: bool,
    /// Events accepted in all, duplicates included.
    pub(super) accepted_events: usize,
    /// The remote configuration served, if any.
    pub(super) config: Option<ConfigDoc>,
    /// GETs of the config path received (logged), whatever the answer.
    pub(super) config_fetches: usize,
    /// Config GETs answered 304.
    pub(super) config_not_modified: usize,
    /// Faults for the first request whose batch holds an event of that name
    /// (`Collector::push_event_fault`), each taken once.
    pub(super) event_faults: Vec<(String, Fault)>,
    /// Requests read and not yet answered (or given up), now.
    pub(super) in_flight: usize,
    /// The most requests in flight at once so far.
    pub(super) max_in_flight: usize,
}

/// A remote configuration document and where it is served.
pub(super) struct ConfigDoc {
    /// The path (no query) whose GETs answer it.
    pub(super) path: String,
    /// None: the path answers 404.
    pub(super) body: Option<String>,
    /// Sent verbatim as `ETag` (quotes included, if wanted).
    pub(super) etag: Option<String>,
}

impl State {
    pub(super) fn next_fault(&self) -> &Fault {
        self.script.front().unwrap_or(&self.standing)
    }
    pub(super) fn take_fault(&mut self) -> Fault {
        match self.script.pop_front() {
            Some(f) => f,
            None => self.standing.clone(),
        }
    }
    /// Takes the event fault for a batch holding events named `names`, if any.
    pub(super) fn take_event_fault<'a>(&mut self, mut names: impl Iterator<Item = &'a str>) -> Option<Fault> {
        if self.event_faults.is_empty() {
            return None;
        }
        let at = names.find_map(|n| self.event_faults.iter().position(|(name, _)| name == n))?;
        Some(self.event_faults.remove(at).1)
    }
    /// The served config document, when `method target` is a GET of its path.
    pub(super) fn config_for(&self, method: &str, target: &str) -> Option<&ConfigDoc> {
        let path = target.split('?').next().unwrap_or("");
        self.config.as_ref().filter(|c| method == "GET" && c.path == path)
    }
    /// Appends to the request log (counting config GETs); returns the index.
    pub(super) fn push_request(&mut self, log: RequestLog) -> usize {
        if self.config_for(&log.method, &log.path).is_some() {
            self.config_fetches += 1;
        }
        self.requests.push(log);
        self.requests.len() - 1
    }
}

impl Shared {
    /// A collector's state before it serves anything: no fault, nothing recorded.
    pub(super) fn new() -> Shared {
        Shared {
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
                event_faults: Vec::new(),
                in_flight: 0,
                max_in_flight: 0,
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            date_skew_ms: AtomicI64::new(0),
        }
    }
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub(super) fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
    /// The time to put in a response's `Date`: now, shifted by the skew.
    pub(super) fn response_date(&self) -> SystemTime {
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
    pub(super) fn wait_until<'a>(
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
    pub(super) fn pause(&self, d: Duration) -> bool {
        let st = self.lock();
        let (_st, stopped) = self.wait_until(st, d, |_| self.stopped());
        !stopped
    }
}
