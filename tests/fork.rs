//! fork() in a process with a tracker: the child's `at_tracker_free` on the
//! parent's tracker releases nothing the parent uses and never panics; the
//! parent's tracker keeps working.
//!
//! The test binary runs itself as a child process (so the fork happens in a
//! process of its own, whose stderr this test reads); that process opens a
//! tracker through the C ABI, forks, and the forked child frees the tracker.

mod common;

use std::ffi::CString;
use std::process::Command;

use attracker::ffi::*;
use attracker::Tracker;
use common::{c_tracker, TempDir};

const CHILD_DB: &str = "ATTRACKER_TEST_FORK_DB";

extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(status: i32) -> !;
}

/// Not a test on its own: the process that forks. Prints `forked-child <status>`
/// (the raw wait status of the forked child) and `parent-count <n>`.
#[test]
fn child_forking_with_a_tracker() {
    let Ok(db) = std::env::var(CHILD_DB) else { return };
    let db = CString::new(db).unwrap();
    unsafe {
        let t = c_tracker(&db, c"http://127.0.0.1:9");
        assert_eq!(
            at_track_event(t, c"before".as_ptr(), std::ptr::null(), None, std::ptr::null_mut()),
            AT_OK
        );
        let pid = fork();
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // The forked child: only this thread exists here; the tracker's
            // threads, connections and locks are the parent's.
            at_tracker_free(t);
            _exit(0);
        }
        let mut status = 0;
        assert_eq!(waitpid(pid, &mut status, 0), pid);
        println!("forked-child {status}");
        assert_eq!(at_track_event(t, c"after".as_ptr(), std::ptr::null(), None, std::ptr::null_mut()), AT_OK);
        let mut n = 0u64;
        assert_eq!(at_offline_count(t, &mut n), AT_OK);
        println!("parent-count {n}");
        at_tracker_free(t);
    }
}

#[test]
fn a_forked_child_frees_the_parents_tracker_without_panicking_or_harming_it() {
    let dir = TempDir::new("fork");
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_forking_with_a_tracker", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB, dir.db())
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the forking process failed: {stdout}\n{stderr}");
    assert!(
        stdout.contains("forked-child 0"),
        "the forked child exited cleanly (status 0): {stdout}\n{stderr}"
    );
    assert!(stdout.contains("parent-count 2"), "the parent's tracker still works: {stdout}");
    assert!(!stderr.contains("panicked"), "no panic in either process: {stderr}");
    let t = Tracker::new(common::config(&dir.db())).unwrap();
    let types: Vec<String> = t.offline_get().unwrap().into_iter().map(|h| h.hit_type).collect();
    assert_eq!(types, vec!["before", "after"], "the store is intact");
    assert!(t.open_report().salvage.is_none());
}
