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

/// One `AT_DURABILITY_ON_RETURN` run.
pub struct OnReturn {
    pub rate: f64,
    /// CPU time of the whole process (every thread, user and system) per event.
    pub cpu_us_per_event: f64,
    /// Context switches of the whole process per event.
    pub switches_per_event: f64,
}

/// `AT_DURABILITY_ON_RETURN` (each call returns after its commit): `threads`
/// threads tracking `per_thread` events each.
pub fn on_return(db: &Path, threads: usize, per_thread: usize) -> OnReturn {
    let t =
        Config::new(db, NOWHERE).durability(AT_DURABILITY_ON_RETURN).offline_mode(AT_OFFLINE_ALWAYS).open();
    let (ty, props) = (event_type(), properties_300());
    let before = Usage::now();
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
    let n = (threads * per_thread) as f64;
    let rate = n / start.elapsed().as_secs_f64();
    let used = Usage::now().minus(&before);
    assert_eq!(t.count(), (threads * per_thread) as u64);
    OnReturn { rate, cpu_us_per_event: used.cpu_us / n, switches_per_event: used.switches / n }
}

/// The process's CPU time and context switches so far (getrusage, which counts
/// threads that have ended too).
struct Usage {
    cpu_us: f64,
    switches: f64,
}

impl Usage {
    fn now() -> Usage {
        // struct rusage on Linux x86-64 and aarch64: two timevals, then 14 longs
        // (ru_nvcsw and ru_nivcsw are the last two).
        extern "C" {
            fn getrusage(who: i32, usage: *mut [i64; 18]) -> i32;
        }
        let mut r = [0i64; 18];
        // SAFETY: r is as large as struct rusage; RUSAGE_SELF is 0.
        let ok = unsafe { getrusage(0, &mut r) } == 0;
        assert!(ok, "getrusage");
        let cpu_us = (r[0] * 1_000_000 + r[1] + r[2] * 1_000_000 + r[3]) as f64;
        Usage { cpu_us, switches: (r[16] + r[17]) as f64 }
    }

    fn minus(&self, earlier: &Usage) -> Usage {
        Usage { cpu_us: self.cpu_us - earlier.cpu_us, switches: self.switches - earlier.switches }
    }
}
