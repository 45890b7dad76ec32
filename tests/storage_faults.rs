//! The store made unreadable or read-only while the tracker has it open (the way
//! iOS data protection locks an app's files when the device locks): errors, never
//! deletion or a move aside, and recovery when access returns.
//!
//! A child process runs the tracker with `tests/support/faultfs.c` preloaded, an
//! LD_PRELOAD shim (built here with `cc`) that fails the I/O of the store's files
//! while it is switched on by SIGUSR1 (off by SIGUSR2). The parent drives the
//! child through commands on its stdin.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use attracker::{Durability, Status, Tracker};
use common::{files_named, TempDir};

const CHILD_DB: &str = "ATTRACKER_TEST_FAULTFS_DB";
const CHILD_BATCHED: &str = "ATTRACKER_TEST_FAULTFS_BATCHED";

/// Not a test on its own: the child. Reads commands, prints one line per command.
#[test]
fn child_tracker_driven_through_stdin() {
    let Ok(db) = std::env::var(CHILD_DB) else { return };
    let mut c = common::config(Path::new(&db));
    c.set_busy_timeout_ms(200).unwrap();
    if std::env::var(CHILD_BATCHED).is_ok() {
        c.set_durability(Durability::Batched);
    }
    let t = Tracker::new(c).unwrap();
    let out = |r: attracker::Result<String>| match r {
        Ok(s) => println!("{}", format!("ok {s}").trim_end()),
        Err(e) => println!("err {:?} {}", e.status, e.message.replace('\n', " ")),
    };
    for line in std::io::stdin().lock().lines() {
        match line.unwrap().as_str() {
            "track" => out(t.track_event("e", None, None).map(|()| String::new())),
            "count" => out(t.offline_count().map(|n| n.to_string())),
            "page" => out(t.offline_get_page(0, 1000).map(|h| h.len().to_string())),
            "sync" => out(t.sync().map(|()| String::new())),
            "quit" => {
                out(t.close(Duration::from_secs(5)).map(|()| String::new()));
                return;
            }
            other => panic!("unknown command {other}"),
        }
    }
}

fn build_shim(dir: &Path) -> PathBuf {
    let so = dir.join("libfaultfs.so");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/faultfs.c");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&so)
        .arg(&src)
        .arg("-ldl")
        .status()
        .expect("cc (gcc) builds the fault shim");
    assert!(status.success());
    so
}

struct Driven {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Driven {
    fn start(db: &Path, shim: &Path, mode: &str, batched: bool) -> Driven {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "child_tracker_driven_through_stdin",
            "--test-threads=1",
            "--nocapture",
            "--quiet",
        ])
        .env(CHILD_DB, db)
        .env("LD_PRELOAD", shim)
        .env("FAULTFS_TARGET", db)
        .env("FAULTFS_MODE", mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        if batched {
            cmd.env(CHILD_BATCHED, "1");
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Driven { child, stdin, stdout }
    }

    /// Sends a command; returns its answer line ("ok ..." or "err <Status> ...").
    fn ask(&mut self, cmd: &str) -> String {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "the child ended during '{cmd}'");
            let line = line.trim_end().to_owned();
            if line.starts_with("ok") || line.starts_with("err") {
                return line;
            }
        }
    }

    fn fault(&self, on: bool) {
        extern "C" {
            fn kill(pid: i32, sig: i32) -> i32;
        }
        // SIGUSR1 / SIGUSR2 on Linux.
        let signal = if on { 10 } else { 12 };
        // SAFETY: a plain kill(2) of our own child.
        assert_eq!(unsafe { kill(self.child.id() as i32, signal) }, 0);
        std::thread::sleep(Duration::from_millis(20));
    }

    fn quit(mut self) {
        assert_eq!(self.ask("quit"), "ok");
        drop(self.stdin);
        // Read to the end so the child's test harness can finish writing.
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut self.stdout, &mut rest);
        assert!(self.child.wait().unwrap().success());
    }
}

fn storage_error(answer: &str) -> bool {
    answer.starts_with(&format!("err {:?}", Status::Storage))
}

fn locked_or_read_only_store_fails_then_recovers(mode: &str) {
    let dir = TempDir::new(&format!("faultfs-{mode}"));
    let shim = build_shim(dir.path());
    let db = dir.path().join("store/hits.db");
    let mut child = Driven::start(&db, &shim, mode, false);
    for _ in 0..5 {
        assert_eq!(child.ask("track"), "ok");
    }
    child.fault(true);
    for _ in 0..3 {
        let a = child.ask("track");
        assert!(storage_error(&a), "{mode}: a commit fails with a storage error: {a}");
    }
    // Reads may be served from SQLite's cache; if they touch the file they fail
    // as storage errors. Never a wrong answer.
    for cmd in ["count", "page"] {
        let a = child.ask(cmd);
        assert!(a == "ok 5" || storage_error(&a), "{mode} {cmd}: {a}");
    }
    child.fault(false);
    assert_eq!(child.ask("track"), "ok", "{mode}: works again when access returns");
    assert_eq!(child.ask("count"), "ok 6", "{mode}: the refused hits were not stored, nothing else lost");
    child.quit();
    assert!(files_named(db.parent().unwrap(), "corrupt").is_empty(), "{mode}: never treated as damage");
    let t = Tracker::new(common::config(&db)).unwrap();
    assert_eq!(t.offline_count().unwrap(), 6);
    assert!(t.open_report().salvage.is_none());
}

#[test]
fn a_locked_store_fails_with_storage_errors_and_recovers() {
    locked_or_read_only_store_fails_then_recovers("locked");
}

#[test]
fn a_read_only_store_fails_with_storage_errors_and_recovers() {
    locked_or_read_only_store_fails_then_recovers("readonly");
}

#[test]
fn batched_hits_wait_in_memory_while_the_store_is_locked() {
    let dir = TempDir::new("faultfs-batched");
    let shim = build_shim(dir.path());
    let db = dir.path().join("store/hits.db");
    let mut child = Driven::start(&db, &shim, "locked", true);
    assert_eq!(child.ask("track"), "ok");
    assert_eq!(child.ask("sync"), "ok");
    child.fault(true);
    for _ in 0..4 {
        assert_eq!(child.ask("track"), "ok", "accepted in memory");
    }
    let a = child.ask("sync");
    assert!(storage_error(&a), "sync says they are not committed yet: {a}");
    child.fault(false);
    // The writer retries them with backoff (250 ms, then doubling).
    let mut committed = false;
    for _ in 0..100 {
        if child.ask("sync") == "ok" {
            committed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(committed, "committed once access returned");
    assert_eq!(child.ask("count"), "ok 5", "all five, none lost");
    child.quit();
    assert!(files_named(db.parent().unwrap(), "corrupt").is_empty());
}
