//! Enqueue: the calling thread's cost of `at_track_event`, and what reaches disk.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};

use attracker::ffi::{
    at_synchronous, AT_DURABILITY_BATCHED, AT_DURABILITY_ON_RETURN, AT_ERR_STORAGE, AT_OFFLINE_ALWAYS, AT_OK,
};

use crate::capi::{event_type, properties_300, Config};

/// The endpoint of trackers that never send (offline mode ALWAYS).
pub const NOWHERE: &str = "http://127.0.0.1:9";

pub struct Batched {
    /// Events per second from the first call until all were committed.
    pub rate: f64,
    /// Calling-thread latency of each call, nanoseconds, sorted (u32: the
    /// harness's own memory counts in the run's peak RSS).
    pub latencies_ns: Vec<u32>,
    /// The tracker's own figures (`at_stats`): the longest a call waited for
    /// room in the queue, and the write-ahead log's high-water mark.
    pub longest_wait_us: u64,
    pub wal_peak_bytes: u64,
    /// Calls refused because the queue stayed full for a commit window (each
    /// retried until accepted).
    pub refused: u64,
    /// Times the calling thread was preempted (involuntary context switches)
    /// during the run, and how many calls took over a millisecond.
    pub preempted: u64,
    pub over_1ms: u64,
}

/// The calling thread's involuntary context switches so far (Linux; 0 where
/// the count is not per thread).
fn preemptions() -> u64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getrusage fills the zeroed struct it is given.
        let mut r: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut r) } == 0 {
            return r.ru_nivcsw as u64;
        }
    }
    0
}

/// The child's side of `--child batched DB N`: one `batched` run in a process
/// of its own, so that its peak RSS (VmHWM) is the tracker's alone.
pub fn child_batched(db: &Path, n: usize) -> Value {
    let b = batched(db, n);
    let ns = |q: f64| {
        let rank = ((q * b.latencies_ns.len() as f64).ceil() as usize).clamp(1, b.latencies_ns.len());
        b.latencies_ns[rank - 1]
    };
    json!({
        "rate": b.rate,
        "p50_ns": ns(0.5), "p99_ns": ns(0.99), "p999_ns": ns(0.999), "p9999_ns": ns(0.9999),
        "max_ns": b.latencies_ns.last().copied().unwrap_or(0),
        "longest_wait_us": b.longest_wait_us,
        "wal_peak_bytes": b.wal_peak_bytes,
        "refused": b.refused,
        "preempted": b.preempted,
        "over_1ms": b.over_1ms,
        "hwm_kib": crate::bulk::vm_hwm_kib(),
    })
}

/// The child's side of `--child burst DB N`: tracks `n` events with
/// `AT_DURABILITY_BATCHED`, printing `HALF` once half are tracked, for the
/// parent to kill it there (`killed_burst`).
pub fn child_burst(db: &Path, n: usize) -> ! {
    let t = Config::new(db, NOWHERE).durability(AT_DURABILITY_BATCHED).offline_mode(AT_OFFLINE_ALWAYS).open();
    let (ty, props) = (event_type(), properties_300());
    for i in 0..n {
        if i == n / 2 {
            let mut out = std::io::stdout().lock();
            writeln!(out, "HALF").unwrap();
            out.flush().unwrap();
        }
        // A call refused for a stalled store is retried, as a host would.
        while t.track(&ty, &props) == AT_ERR_STORAGE {}
    }
    // Not reached when killed at HALF; a burst too quick to be killed is
    // treated as a kill after the last call.
    std::process::exit(0)
}

/// Starts `--child burst` and kills it (SIGKILL) once it tracked half of `n`
/// events; returns the bytes the store's files take on disk afterwards.
pub fn killed_burst(db: &Path, n: usize) -> u64 {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--child", "burst", &db.display().to_string(), &n.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the burst child");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "HALF", "the burst child did not reach half way");
    child.kill().unwrap();
    child.wait().unwrap();
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", db.display())).ok())
        .map(|m| m.len())
        .sum()
}

/// `n` events with `AT_DURABILITY_BATCHED` on one thread, each call timed.
pub fn batched(db: &Path, n: usize) -> Batched {
    let t = Config::new(db, NOWHERE).durability(AT_DURABILITY_BATCHED).offline_mode(AT_OFFLINE_ALWAYS).open();
    let (ty, props) = (event_type(), properties_300());
    let mut latencies_ns = Vec::with_capacity(n);
    let preempted_before = preemptions();
    let start = Instant::now();
    let mut refused = 0;
    for _ in 0..n {
        loop {
            let call = Instant::now();
            let status = t.track(&ty, &props);
            latencies_ns.push(call.elapsed().as_nanos().min(u32::MAX as u128) as u32);
            if status == AT_OK {
                break;
            }
            // The store took nothing for a whole commit window: the documented
            // refusal. A host would retry (or drop) the hit; this one retries.
            assert_eq!(status, AT_ERR_STORAGE);
            refused += 1;
        }
    }
    let preempted = preemptions() - preempted_before;
    t.sync();
    let rate = n as f64 / start.elapsed().as_secs_f64();
    assert_eq!(t.count(), n as u64);
    latencies_ns.sort_unstable();
    let over_1ms = latencies_ns.iter().rev().take_while(|&&ns| ns > 1_000_000).count() as u64;
    let stats = t.stats();
    Batched {
        rate,
        latencies_ns,
        refused,
        preempted,
        over_1ms,
        longest_wait_us: stats.longest_wait_us,
        wal_peak_bytes: stats.wal_peak_bytes,
    }
}

/// One `AT_DURABILITY_ON_RETURN` run.
pub struct OnReturn {
    pub rate: f64,
    /// Each call's latency, nanoseconds, sorted (every thread's calls).
    pub latencies_ns: Vec<u64>,
    /// CPU time of the whole process (every thread, user and system) per event.
    pub cpu_us_per_event: f64,
    /// Context switches of the whole process per event.
    pub switches_per_event: f64,
}

/// `AT_DURABILITY_ON_RETURN` (each call returns after its commit): `threads`
/// threads tracking `per_thread` events each, with SQLite's `synchronous` at
/// `sync` (`AT_SYNCHRONOUS_NORMAL`, the default, or `AT_SYNCHRONOUS_FULL`).
pub fn on_return(db: &Path, threads: usize, per_thread: usize, sync: at_synchronous) -> OnReturn {
    let t = Config::new(db, NOWHERE)
        .durability(AT_DURABILITY_ON_RETURN)
        .synchronous(sync)
        .offline_mode(AT_OFFLINE_ALWAYS)
        .open();
    let (ty, props) = (event_type(), properties_300());
    let before = Usage::now();
    let start = Instant::now();
    let mut latencies_ns: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut own = Vec::with_capacity(per_thread);
                    for _ in 0..per_thread {
                        let call = Instant::now();
                        let status = t.track(&ty, &props);
                        own.push(call.elapsed().as_nanos() as u64);
                        assert_eq!(status, AT_OK);
                    }
                    own
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    latencies_ns.sort_unstable();
    let n = (threads * per_thread) as f64;
    let rate = n / start.elapsed().as_secs_f64();
    let used = Usage::now().minus(&before);
    assert_eq!(t.count(), (threads * per_thread) as u64);
    OnReturn { rate, latencies_ns, cpu_us_per_event: used.cpu_us / n, switches_per_event: used.switches / n }
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
