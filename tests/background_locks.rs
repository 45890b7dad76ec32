//! iOS suspension safety: once `app_did_enter_background` completes, the
//! process holds no lock on the store's files (the sender lock file, the
//! database, its -wal and -shm) until `app_will_enter_foreground`, as the
//! kernel lists them in /proc/locks; tracking in the background still commits,
//! and nothing is lost or sent twice across the transitions.
//!
//! An idle SQLite connection in WAL mode shows there as two POSIX READ locks:
//! on the database file (bytes 1073741826-1073742335, SQLite's shared range)
//! and on the -shm file (byte 128, its dead-man switch). The sender lock is a
//! FLOCK WRITE lock on `<db>.sender-lock`.
#![cfg(all(target_os = "linux", feature = "curl-transport"))]

mod common;

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use attracker::{Config, DispatchReport, Durability, OfflineMode, Tracker};
use common::collector::Collector;
use common::{bulk_config, dispatch, dispatch_only_config, track_n, TempDir, WAIT};

const SUFFIXES: [&str; 4] = ["", "-wal", "-shm", ".sender-lock"];

/// The tests of this file run one at a time: /proc/locks names files by inode,
/// and a file of one test's store, once deleted, may have its inode reused by
/// another test's store in this same process (seen: a deleted -shm's inode
/// holding another tracker's write lock), which would read as a lock of ours.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// (major, minor, inode) of each store file that exists now, with its suffix.
fn store_files(db: &Path) -> Vec<((u64, u64, u64), &'static str)> {
    SUFFIXES
        .iter()
        .filter_map(|suffix| {
            let m = std::fs::metadata(format!("{}{suffix}", db.display())).ok()?;
            let dev = m.dev();
            // glibc's encoding of dev_t (gnu_dev_major / gnu_dev_minor).
            let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
            let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
            Some(((major, minor, m.ino()), *suffix))
        })
        .collect()
}

/// The lines of /proc/locks on `files`, as "KIND MODE file".
fn locks_on(files: &[((u64, u64, u64), &'static str)]) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/locks").expect("/proc/locks is readable on Linux");
    let mut found = Vec::new();
    for line in text.lines() {
        // "1: POSIX  ADVISORY  READ 1234 08:01:5678 128 128"; a waiter has "->" after the number.
        let fields: Vec<&str> = line.split_whitespace().filter(|f| *f != "->").collect();
        let Some(id) = fields.get(5) else { continue };
        let parts: Vec<&str> = id.split(':').collect();
        let [maj, min, ino] = parts[..] else { continue };
        let key = (
            u64::from_str_radix(maj, 16).unwrap_or(u64::MAX),
            u64::from_str_radix(min, 16).unwrap_or(u64::MAX),
            ino.parse().unwrap_or(u64::MAX),
        );
        if let Some((_, suffix)) = files.iter().find(|(f, _)| *f == key) {
            found.push(format!("{} {} hits.db{suffix} ({line})", fields[1], fields[3]));
        }
    }
    found
}

/// Every file of the store seen so far (inodes of a removed -wal included).
struct Files {
    db: std::path::PathBuf,
    seen: Vec<((u64, u64, u64), &'static str)>,
}

impl Files {
    fn new(db: &Path) -> Files {
        Files { db: db.to_owned(), seen: Vec::new() }
    }
    fn locks(&mut self) -> Vec<String> {
        for f in store_files(&self.db) {
            if !self.seen.contains(&f) {
                self.seen.push(f);
            }
        }
        locks_on(&self.seen)
    }
    /// No lock now: after the background callback.
    fn assert_unlocked(&mut self, when: &str) {
        let locks = self.locks();
        assert!(locks.is_empty(), "{when}: the process still holds locks on the store: {locks:#?}");
    }
}

impl Files {
    /// No lock within a moment: a commit in the background answers its caller
    /// inside its group and closes the connection right after.
    fn assert_unlocked_soon(&mut self, when: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while !self.locks().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.assert_unlocked(when);
    }
}

/// Every stored hit delivered (the foreground sends what is due at once).
fn delivered_all(t: &Tracker, c: &Collector, events: usize) {
    let r = dispatch(t);
    assert!(r.status.is_ok(), "{r:?}");
    common::wait_until("every hit delivered", || t.offline_count().unwrap() == 0);
    assert!(c.wait_for_events(events, WAIT), "{} of {events} events arrived", c.events().len());
    assert_eq!(c.duplicates(), 0);
}

fn background(t: &Tracker, deadline: Duration) -> DispatchReport {
    let (tx, rx) = mpsc::channel();
    t.app_did_enter_background(deadline, Some(Box::new(move |r| tx.send(r).unwrap()))).unwrap();
    rx.recv_timeout(WAIT).expect("the background callback ran")
}

fn event_count(c: &Collector, name: &str) -> usize {
    let ids: HashSet<String> = c
        .events()
        .iter()
        .filter(|e| e["event"] == name)
        .map(|e| e["messageId"].as_str().unwrap().to_owned())
        .collect();
    ids.len()
}

#[test]
fn no_lock_on_the_store_files_after_the_background_callback_until_foreground() {
    let _serial = one_at_a_time();
    let c = Collector::start();
    let dir = TempDir::new("bglocks");
    let mut files = Files::new(&dir.db());
    let t = Tracker::new(dispatch_only_config(&dir, &c, OfflineMode::Required)).unwrap();
    track_n(&t, "e", 5);
    let held = files.locks();
    let has = |locks: &[String], what: &str| locks.iter().any(|l| l.starts_with(what));
    assert!(has(&held, "FLOCK WRITE hits.db.sender-lock"), "the sender lock is held: {held:#?}");
    assert!(has(&held, "POSIX READ hits.db "), "an open WAL connection locks the database: {held:#?}");
    assert!(has(&held, "POSIX READ hits.db-shm"), "and the -shm file: {held:#?}");

    let r = background(&t, Duration::from_secs(3));
    assert_eq!((r.status, r.sent), (Ok(()), 6), "the flush sent the 5 hits and the lifecycle event");
    files.assert_unlocked("after the background callback");

    // Tracking in the background commits (each commit opens and closes the
    // store), and reads work, with no lock left after either.
    track_n(&t, "in_background", 3);
    files.assert_unlocked_soon("after tracking in the background");
    assert_eq!(t.offline_count().unwrap(), 3);
    assert_eq!(t.offline_get().unwrap().len(), 3);
    files.assert_unlocked("after reading in the background");

    t.app_will_enter_foreground().unwrap();
    let back = files.locks();
    assert!(has(&back, "FLOCK WRITE hits.db.sender-lock"), "the sender lock is taken again: {back:#?}");
    assert!(has(&back, "POSIX READ hits.db "), "the write connection is open again: {back:#?}");
    // 5 + Application Backgrounded + 3 + Application Opened.
    delivered_all(&t, &c, 10);
    assert_eq!(event_count(&c, "e") + event_count(&c, "in_background"), 8);
    t.close(Duration::from_secs(2)).unwrap();
}

#[test]
fn without_a_flush_the_callback_comes_after_the_locks_are_gone_and_batched_hits_commit() {
    let _serial = one_at_a_time();
    let c = Collector::start();
    let dir = TempDir::new("bglocks-batched");
    let mut files = Files::new(&dir.db());
    let mut config = dispatch_only_config(&dir, &c, OfflineMode::Required);
    config.set_flush_on_background(false);
    config.set_durability(Durability::Batched);
    let t = Tracker::new(config).unwrap();
    track_n(&t, "e", 10);
    let r = background(&t, Duration::from_secs(3));
    assert_eq!((r.status, r.sent), (Ok(()), 0), "no flush");
    files.assert_unlocked("after the background callback (no flush)");
    track_n(&t, "in_background", 200);
    t.sync().unwrap();
    files.assert_unlocked_soon("after batched commits in the background");
    assert_eq!(t.offline_count().unwrap(), 10 + 1 + 200);
    t.app_will_enter_foreground().unwrap();
    delivered_all(&t, &c, 212);
}

/// An app extension sharing the store (here a second tracker: the sender lock
/// is per open file, so one process stands in for two) becomes the sender
/// while the app is in the background, and the app takes over again in the
/// foreground.
#[test]
fn another_tracker_sends_while_the_first_is_in_the_background() {
    let _serial = one_at_a_time();
    let c = Collector::start();
    let dir = TempDir::new("bglocks-ext");
    let mut files = Files::new(&dir.db());
    let config = |flush: bool| {
        let mut config: Config = dispatch_only_config(&dir, &c, OfflineMode::Required);
        config.set_flush_on_background(flush);
        config
    };
    let app = Tracker::new(config(false)).unwrap();
    track_n(&app, "app", 3);
    background(&app, Duration::from_secs(1));
    files.assert_unlocked("after the app's background callback");

    let extension = Tracker::new(config(true)).unwrap();
    let r = dispatch(&extension);
    assert_eq!((r.status, r.sent), (Ok(()), 4), "the extension is the sender now: the app's hits go out");
    track_n(&app, "app_background", 2);
    assert_eq!(app.offline_count().unwrap(), 2);
    extension.close(Duration::from_secs(2)).unwrap();

    app.app_will_enter_foreground().unwrap();
    // 3 + Application Backgrounded, then 2 + Application Opened.
    delivered_all(&app, &c, 7);
    assert_eq!(event_count(&c, "app") + event_count(&c, "app_background"), 5);
}

/// Background and foreground in quick succession while another thread tracks:
/// every hit is committed and delivered once, and the last background leaves
/// no lock.
#[test]
fn tracking_across_many_transitions_loses_nothing() {
    let _serial = one_at_a_time();
    let c = Collector::start();
    let dir = TempDir::new("bglocks-churn");
    let mut files = Files::new(&dir.db());
    // Room for every hit: nothing may be dropped for size.
    let t = Arc::new(Tracker::new(bulk_config(&dir, &c, OfflineMode::Required)).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let tracker = {
        let (t, stop) = (Arc::clone(&t), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 0;
            while (!stop.load(Ordering::SeqCst) || n < 300) && n < 3000 {
                t.track_event("churn", Some(&format!(r#"{{"i":{n}}}"#)), None).unwrap();
                n += 1;
            }
            n
        })
    };
    for _ in 0..20 {
        background(&t, Duration::from_millis(500));
        t.app_will_enter_foreground().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let tracked = tracker.join().unwrap();
    background(&t, Duration::from_secs(3));
    files.assert_unlocked("after the last background callback");
    t.app_will_enter_foreground().unwrap();
    delivered_all(&t, &c, tracked);
    assert_eq!(event_count(&c, "churn"), tracked, "every hit tracked arrived");
    assert_eq!(t.stats().unwrap().dropped_overflow, 0);
}
