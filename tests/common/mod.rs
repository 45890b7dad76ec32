//! Shared helpers for the integration tests: temp dirs and tracker configs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use attracker::delivery::DispatchReport;
use attracker::{Config, DropReason, LogLevel, Tracker};

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "attracker-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn db(&self) -> PathBuf {
        self.0.join("hits.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A config for storage tests: `Always` mode, so nothing is sent unless a test
/// dispatches; the endpoint is a loopback port nothing listens on. Drop
/// reports are off, so the store holds exactly what a test tracked
/// (tests/accounting.rs turns them on).
pub fn config(db: &Path) -> Config {
    let mut c = Config::new();
    c.offline_mode = attracker::OfflineMode::Always;
    c.report_drops = false;
    c.set_storage_path(db.to_str().unwrap()).unwrap();
    c.set_endpoint("http://127.0.0.1:9").unwrap();
    c
}

/// Log lines collected from a tracker.
#[derive(Clone, Default)]
pub struct Logs(pub Arc<Mutex<Vec<(LogLevel, String)>>>);

impl Logs {
    pub fn attach(&self, c: &mut Config) {
        let lines = Arc::clone(&self.0);
        c.log = Some((
            Arc::new(move |level, msg: &str| lines.lock().unwrap().push((level, msg.to_owned()))),
            LogLevel::Debug,
        ));
    }
    pub fn find(&self, level: LogLevel, needle: &str) -> Option<String> {
        self.0.lock().unwrap().iter().find(|(l, m)| *l == level && m.contains(needle)).map(|(_, m)| m.clone())
    }
    /// `find`, waiting up to 10 s: log lines reach the host on the callback
    /// thread, after the call that caused them returned.
    pub fn wait_for(&self, level: LogLevel, needle: &str) -> Option<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(line) = self.find(level, needle) {
                return Some(line);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// Drop notices collected from a tracker.
#[derive(Clone, Default)]
pub struct Drops(pub Arc<Mutex<Vec<(DropReason, String)>>>);

impl Drops {
    pub fn attach(&self, c: &mut Config) {
        let seen = Arc::clone(&self.0);
        c.on_drop = Some(Arc::new(move |reason, ids: &[String]| {
            seen.lock().unwrap().extend(ids.iter().map(|id| (reason, id.clone())))
        }));
    }
    pub fn ids(&self, reason: DropReason) -> Vec<String> {
        self.0.lock().unwrap().iter().filter(|(r, _)| *r == reason).map(|(_, id)| id.clone()).collect()
    }
}

/// `offline_dispatch`, waiting (at most 10 s) for its report.
pub fn dispatch(t: &Tracker) -> DispatchReport {
    let (tx, rx) = std::sync::mpsc::channel();
    t.offline_dispatch(Some(Box::new(move |r| tx.send(r).unwrap()))).unwrap();
    rx.recv_timeout(std::time::Duration::from_secs(10)).expect("dispatch completes")
}
