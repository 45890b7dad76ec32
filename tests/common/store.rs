//! A temporary directory for a store, the config of storage tests, and what
//! tests look at or change beside a store.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use attracker::Config;

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
    c.set_offline_mode(attracker::OfflineMode::Always);
    c.set_report_drops(false);
    c.set_storage_path(db.to_str().unwrap()).unwrap();
    c.set_endpoint("http://127.0.0.1:9").unwrap();
    c
}

/// The names of the files in `dir` containing `needle`, sorted.
pub fn files_named(dir: &Path, needle: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(needle))
        .collect();
    v.sort();
    v
}

/// Runs `sql` on the store in `dir` with a connection of its own (to damage
/// or inspect it behind the library's back).
pub fn edit_store(dir: &TempDir, sql: &str) {
    rusqlite::Connection::open(dir.db()).unwrap().execute_batch(sql).unwrap();
}
