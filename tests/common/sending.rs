//! Tracking in bulk, sending and waiting for its report, and waiting for a
//! condition, each bounded in time.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use attracker::{DispatchReport, Tracker};

/// How long a test waits for something the library does in the background.
pub const WAIT: Duration = Duration::from_secs(10);

/// Tracks `n` events named `name`, with properties `{"i": 0..n}`.
pub fn track_n(t: &Tracker, name: &str, n: usize) {
    for i in 0..n {
        t.track_event(name, Some(&format!(r#"{{"i":{i}}}"#)), None).unwrap();
    }
}

/// `offline_dispatch`, waiting (at most `WAIT`) for its report.
pub fn dispatch(t: &Tracker) -> DispatchReport {
    dispatch_within(t, WAIT)
}

/// `offline_dispatch`, waiting at most `timeout` for its report.
pub fn dispatch_within(t: &Tracker, timeout: Duration) -> DispatchReport {
    let (tx, rx) = mpsc::channel();
    t.offline_dispatch(Some(Box::new(move |r| {
        let _ = tx.send(r);
    })))
    .unwrap();
    rx.recv_timeout(timeout).unwrap_or_else(|_| panic!("dispatch did not complete in {timeout:?}"))
}

/// `flush`, waiting (at most `WAIT`) for its report.
pub fn flush(t: &Tracker) -> DispatchReport {
    let (tx, rx) = mpsc::channel();
    t.flush(Some(Box::new(move |r| {
        let _ = tx.send(r);
    })))
    .unwrap();
    rx.recv_timeout(WAIT).unwrap_or_else(|_| panic!("flush did not complete in {WAIT:?}"))
}

/// Waits (at most `WAIT`, checking every 10 ms) until `done` holds; fails the
/// test naming `what` if it does not.
pub fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not reached in {WAIT:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
