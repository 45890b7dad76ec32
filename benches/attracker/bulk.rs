//! A store holding a million hits: start, inspection, drain and memory.
//!
//! The measured tracker runs in a child process (this binary, `--child ...`) so
//! that its start is a real process start and its peak RSS is its own; the
//! collector runs in the parent.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use attracker::ffi::{AT_DURABILITY_BATCHED, AT_ERR_STORAGE, AT_OFFLINE_ALWAYS, AT_OK};
use serde_json::{json, Value};

use crate::capi::{event_type, properties_300, Config};
use crate::enqueue::NOWHERE;
use crate::report::median;

/// Rows marked in flight before each start, as if a sender had crashed mid-batch.
pub const IN_FLIGHT: i64 = 500;

/// Fills `db` with `n` events through the tracker; returns events per second.
pub fn build(db: &Path, n: usize) -> f64 {
    let t = Config::new(db, NOWHERE).durability(AT_DURABILITY_BATCHED).offline_mode(AT_OFFLINE_ALWAYS).open();
    let (ty, props) = (event_type(), properties_300());
    let start = Instant::now();
    for _ in 0..n {
        // A store that falls behind refuses a batched call after one commit
        // window (AT_ERR_STORAGE, the documented back-pressure, seen here on a
        // loaded machine): this builds a store, so it waits and tries again.
        let mut status = t.track(&ty, &props);
        while status == AT_ERR_STORAGE {
            std::thread::sleep(std::time::Duration::from_millis(1));
            status = t.track(&ty, &props);
        }
        assert_eq!(status, AT_OK);
    }
    t.sync();
    n as f64 / start.elapsed().as_secs_f64()
}

/// Leaves `IN_FLIGHT` rows in flight, as a killed sender would.
pub fn crash_mid_send(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(
        "UPDATE hits SET state = 1 WHERE id IN (SELECT id FROM hits ORDER BY id LIMIT ?1)",
        [IN_FLIGHT],
    )
    .unwrap();
}

/// Copies a closed store (its -wal too, when present).
pub fn copy_store(from: &Path, to: &Path) {
    for suffix in ["", "-wal"] {
        let (f, t) = (format!("{}{suffix}", from.display()), format!("{}{suffix}", to.display()));
        let _ = std::fs::remove_file(&t);
        if Path::new(&f).exists() {
            std::fs::copy(&f, &t).unwrap();
        }
    }
    let _ = std::fs::remove_file(format!("{}-shm", to.display()));
}

/// Runs this binary as a child with `args`; returns the JSON it printed.
pub fn run_child(args: &[&str]) -> Value {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe).arg("--child").args(args).output().expect("start child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "child {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")).expect("child printed RESULT");
    serde_json::from_str(line).unwrap()
}

/// The child's side of `--child inspect DB`: start, count and page timings.
pub fn child_inspect(db: &Path) -> Value {
    let config = Config::new(db, NOWHERE).offline_mode(AT_OFFLINE_ALWAYS);
    let start = Instant::now();
    let t = config.open();
    let start_ms = start.elapsed().as_secs_f64() * 1e3;
    let stored = t.count();
    let counts: Vec<f64> = (0..200)
        .map(|_| {
            let s = Instant::now();
            std::hint::black_box(t.count());
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    // Pages of 100 from the head, the middle and near the tail of the store.
    let pages: Vec<f64> = (0..150u64)
        .map(|i| {
            let after = (i % 3) * stored / 3 + i;
            let s = Instant::now();
            let n = t.page(after, 100);
            let ms = s.elapsed().as_secs_f64() * 1e3;
            assert_eq!(n, 100);
            ms
        })
        .collect();
    json!({
        "start_ms": start_ms,
        "stored": stored,
        "count_ms": median(&counts),
        "page_ms": median(&pages),
        "vm_hwm_kib": vm_hwm_kib(),
    })
}

/// The child's side of `--child drain DB URL gzip|json`: one `at_offline_dispatch`
/// of everything stored, timed, and the process's peak RSS.
pub fn child_drain(db: &Path, url: &str, gzip: bool) -> Value {
    let t = Config::new(db, url).offline_mode(AT_OFFLINE_ALWAYS).gzip(gzip).open();
    let stored = t.count();
    let start = Instant::now();
    let mut sent = 0;
    let mut requests_left = 4;
    while sent < stored && requests_left > 0 {
        let r = t.dispatch();
        assert_eq!(r.status, AT_OK, "dispatch failed");
        sent += r.sent;
        requests_left -= 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let left = t.count();
    let cpu = thread_cpu_secs();
    json!({
        "cpu_secs": cpu,
        "stored": stored,
        "sent": sent,
        "left": left,
        "secs": secs,
        "rate": sent as f64 / secs,
        "requests": t.stats().requests,
        "wal_peak_kib": t.stats().wal_peak_bytes / 1024,
        "vm_hwm_kib": vm_hwm_kib(),
    })
}

/// CPU seconds so far of this process's threads, summed by name with the
/// main thread as "caller" (from /proc/self/task/*/schedstat).
pub fn thread_cpu_secs() -> Value {
    let mut by_name = serde_json::Map::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Value::Object(by_name) };
    let main = std::process::id().to_string();
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let name = if task.file_name().to_str() == Some(main.as_str()) { "caller" } else { comm.trim() };
        let ns: f64 = std::fs::read_to_string(task.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
            .unwrap_or(0.0);
        let total = by_name.get(name).and_then(Value::as_f64).unwrap_or(0.0) + ns / 1e9;
        by_name.insert(name.to_string(), json!(total));
    }
    Value::Object(by_name)
}

/// This process's peak resident set size (VmHWM), KiB.
pub fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
