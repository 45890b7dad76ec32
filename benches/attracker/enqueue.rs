//! Enqueue: the calling thread's cost of `at_track_event`, and what reaches disk.

use std::path::Path;
use std::time::Instant;

use attracker::ffi::{AT_DURABILITY_BATCHED, AT_DURABILITY_ON_RETURN, AT_OFFLINE_ALWAYS, AT_OK};

use crate::capi::{event_type, properties_300, Config};

/// The endpoint of trackers that never send (offline mode ALWAYS).
pub const NOWHERE: &str = "http://127.0.0.1:9";

pub struct Batched {
    /// Events per second from the first call until all were committed.
    pub rate: f64,
    /// Calling-thread latency of each call, nanoseconds, sorted.
    pub latencies_ns: Vec<u64>,
}

/// `n` events with `AT_DURABILITY_BATCHED` on one thread, each call timed.
pub fn batched(db: &Path, n: usize) -> Batched {
    let t = Config::new(db, NOWHERE).durability(AT_DURABILITY_BATCHED).offline_mode(AT_OFFLINE_ALWAYS).open();
    let (ty, props) = (event_type(), properties_300());
    let mut latencies_ns = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let call = Instant::now();
        let status = t.track(&ty, &props);
        latencies_ns.push(call.elapsed().as_nanos() as u64);
        assert_eq!(status, AT_OK);
    }
    t.sync();
    let rate = n as f64 / start.elapsed().as_secs_f64();
    assert_eq!(t.count(), n as u64);
    latencies_ns.sort_unstable();
    Batched { rate, latencies_ns }
}

/// Events per second with `AT_DURABILITY_ON_RETURN` (each call returns after its
/// commit), `threads` threads tracking `per_thread` events each.
pub fn on_return(db: &Path, threads: usize, per_thread: usize) -> f64 {
    let t =
        Config::new(db, NOWHERE).durability(AT_DURABILITY_ON_RETURN).offline_mode(AT_OFFLINE_ALWAYS).open();
    let (ty, props) = (event_type(), properties_300());
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    assert_eq!(t.track(&ty, &props), AT_OK);
                }
            });
        }
    });
    let rate = (threads * per_thread) as f64 / start.elapsed().as_secs_f64();
    assert_eq!(t.count(), (threads * per_thread) as u64);
    rate
}
