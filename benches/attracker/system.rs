//! Outage and idle wakeups.

use std::path::Path;
use std::time::{Duration, Instant};

use attracker::ffi::{AT_DURABILITY_BATCHED, AT_ERR_STORAGE, AT_OFFLINE_REQUIRED, AT_OK};

use crate::capi::{event_type, properties_300, Config};

/// A loopback address where nothing listens: connections are refused.
pub fn refused_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

pub struct Outage {
    pub rate: f64,
    pub attempts: u64,
    /// Attempts the backoff schedule allows in the window (no jitter: the most).
    pub bound: u64,
    pub dropped_overflow: u64,
    /// Calls refused because the store took nothing for a commit window
    /// (each retried, as a host would; not counted in `rate`).
    pub refused: u64,
}

/// Connection attempts the schedule (1 s doubling to 32 s, jitter only adds)
/// allows within `window`, the first at once.
pub fn schedule_bound(window: Duration) -> u64 {
    let (mut at, mut delay, mut n) = (0.0, 1.0, 0);
    while at <= window.as_secs_f64() {
        n += 1;
        at += delay;
        delay = f64::min(delay * 2.0, 32.0);
    }
    n
}

/// Tracks at full speed (BATCHED, sending enabled) for `window` to `url`: a
/// collector that is up, or one refusing connections (`refused_url`).
pub fn track_for(db: &Path, url: &str, window: Duration, max_queue: u32) -> Outage {
    let t = Config::new(db, url)
        .durability(AT_DURABILITY_BATCHED)
        .offline_mode(AT_OFFLINE_REQUIRED)
        .max_queue_size(max_queue)
        .open();
    let (ty, props) = (event_type(), properties_300());
    let start = Instant::now();
    let (mut n, mut refused) = (0u64, 0u64);
    while start.elapsed() < window {
        for _ in 0..256 {
            loop {
                match t.track(&ty, &props) {
                    AT_OK => break,
                    AT_ERR_STORAGE => refused += 1,
                    other => panic!("at_track_event: status {other}"),
                }
            }
        }
        n += 256;
    }
    t.sync();
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let s = t.stats();
    Outage {
        rate,
        attempts: s.requests,
        bound: schedule_bound(start.elapsed()),
        dropped_overflow: s.dropped_overflow,
        refused,
    }
}

/// Context switches of the tracker's own threads (named "attracker-...").
fn tracker_switches() -> u64 {
    let mut total = 0;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    for task in tasks.flatten() {
        // The benchmark's own main thread is named after the binary (attracker-HASH).
        if task.file_name().to_str() == Some(&std::process::id().to_string()) {
            continue;
        }
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with("attracker-") {
            continue;
        }
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for line in status.lines() {
            if let Some(v) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or(line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                total += v.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    total
}

/// Wakeups of an idle tracker (empty store, sending enabled) over `window`.
pub fn idle(db: &Path, window: Duration) -> u64 {
    let t = Config::new(db, &refused_url()).offline_mode(AT_OFFLINE_REQUIRED).open();
    std::thread::sleep(Duration::from_millis(300));
    let before = tracker_switches();
    std::thread::sleep(window);
    let after = tracker_switches();
    drop(t);
    after - before
}
