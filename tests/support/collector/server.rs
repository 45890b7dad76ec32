//! Accepting connections and serving each on a thread of its own: read a
//! request, apply the fault taken for it, answer, and again while kept alive.

use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::faults::{endless_headers, write_long_body};
use super::process::{process, process_and_log, process_and_log_at, LeanBatch, Received};
use super::request::{gunzip, read_body, read_head, HeadError};
use super::response::{write_response, Response};
use super::socket::{client_gone, reset};
use super::state::Shared;
use super::{Fault, RequestLog, MAX_CONNECTIONS, READ_TIMEOUT, SLOW_DRIP_BYTES, WRITE_TIMEOUT};

pub(super) fn accept_loop(listener: TcpListener, shared: &Arc<Shared>) {
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
        let (mut fault, counting) = {
            let mut st = shared.lock();
            if *st.next_fault() == Fault::AcceptThenClose {
                // Left for the client's reconnect; see the module docs.
                return;
            }
            (st.take_fault(), st.counting)
        };
        let _serving = Serving::new(shared);
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
        if fault == Fault::None {
            let named = event_names(&json, &lean);
            if let Some(f) = shared.lock().take_event_fault(named.into_iter()) {
                fault = f;
            }
            if fault == Fault::Reset {
                shared.lock().push_request(log);
                shared.changed.notify_all();
                reset(reader.into_inner());
                return;
            }
        }
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
            Fault::Portal(s) => {
                log.status = s;
                push_log(shared, log);
                let page = b"<!DOCTYPE html><html><body><form action=\"/login\">Sign in to the Wi-Fi</form></body></html>";
                Response::json(s, page.to_vec()).with("Content-Type", "text/html; charset=utf-8".into())
            }
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

/// The `event` names of a batch read.
fn event_names<'a>(json: &'a Option<Value>, lean: &'a Option<LeanBatch<'a>>) -> Vec<&'a str> {
    match (json, lean) {
        (Some(v), _) => v
            .get("batch")
            .and_then(Value::as_array)
            .map(|events| events.iter().filter_map(|e| e.get("event").and_then(Value::as_str)).collect())
            .unwrap_or_default(),
        (None, Some(l)) => l.batch.iter().filter_map(|e| e.event.as_deref()).collect(),
        (None, None) => Vec::new(),
    }
}

/// Counts a request in flight while it is served, however serving ends.
struct Serving<'a>(&'a Shared);

impl<'a> Serving<'a> {
    fn new(shared: &'a Shared) -> Serving<'a> {
        let mut st = shared.lock();
        st.in_flight += 1;
        st.max_in_flight = st.max_in_flight.max(st.in_flight);
        drop(st);
        shared.changed.notify_all();
        Serving(shared)
    }
}

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
        self.0.changed.notify_all();
    }
}

/// Appends to the request log; returns the index.
fn push_log(shared: &Shared, log: RequestLog) -> usize {
    let mut st = shared.lock();
    let index = st.push_request(log);
    drop(st);
    shared.changed.notify_all();
    index
}
