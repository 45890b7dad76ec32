//! First opens of one new store from two processes at the same moment (an app
//! and its extension starting together): all succeed, on one schema and one
//! visitor id.
//!
//! The test binary runs itself twice as child processes; each opens the store
//! from several threads at an agreed instant and prints one line per open.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use attracker::Tracker;
use common::TempDir;

const CHILD_DB: &str = "ATTRACKER_TEST_OPEN_DB";
const CHILD_AT: &str = "ATTRACKER_TEST_OPEN_AT_MS";
/// Opening threads per process.
const THREADS: usize = 6;
const ROUNDS: usize = 12;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Not a test on its own: the child. Opens the store from `THREADS` threads at
/// the agreed instant; prints `open-ok <visitor id>` or `open-err <status> <message>`.
#[test]
fn child_opening_at_the_agreed_instant() {
    let (Ok(db), Ok(at)) = (std::env::var(CHILD_DB), std::env::var(CHILD_AT)) else { return };
    let at: u64 = at.parse().unwrap();
    let barrier = std::sync::Barrier::new(THREADS);
    let lines: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    let c = common::config(Path::new(&db));
                    while now_ms() < at {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                    let opened = Tracker::new(c);
                    // Every tracker stays open until all have opened.
                    barrier.wait();
                    match opened {
                        Ok(t) => {
                            let line = format!("open-ok {}", t.visitor_id());
                            t.close(Duration::from_secs(2)).unwrap();
                            line
                        }
                        Err(e) => format!("open-err {:?} {}", e.status, e.message),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for line in lines {
        println!("{line}");
    }
}

#[test]
fn twelve_simultaneous_first_opens_from_two_processes_all_succeed() {
    let exe = std::env::current_exe().unwrap();
    for round in 0..ROUNDS {
        let dir = TempDir::new("first-open");
        let db = dir.path().join("shared/hits.db");
        let at = now_ms() + 400;
        let children: Vec<_> = (0..2)
            .map(|_| {
                Command::new(&exe)
                    .args([
                        "--exact",
                        "child_opening_at_the_agreed_instant",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env(CHILD_DB, &db)
                    .env(CHILD_AT, at.to_string())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut results = Vec::new();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: a child failed");
            let text = String::from_utf8(out.stdout).unwrap();
            // The harness's own output may share a line with ours.
            results.extend(text.lines().filter_map(|l| l.find("open-").map(|i| l[i..].to_owned())));
        }
        assert_eq!(results.len(), 2 * THREADS, "round {round}: {results:?}");
        let failed: Vec<_> = results.iter().filter(|l| !l.starts_with("open-ok")).collect();
        assert!(failed.is_empty(), "round {round}: {failed:?}");
        let visitors: std::collections::HashSet<_> = results.iter().collect();
        assert_eq!(visitors.len(), 1, "round {round}: one visitor id for the store: {visitors:?}");
        let t = Tracker::new(common::config(&db)).unwrap();
        assert_eq!(t.offline_count().unwrap(), 0);
        assert!(t.open_report().salvage.is_none(), "round {round}");
    }
}
