//! Log lines and drop notices collected from a tracker.

use std::sync::{Arc, Mutex};

use attracker::{Config, DropReason, LogLevel};

/// Log lines collected from a tracker.
#[derive(Clone, Default)]
pub struct Logs(pub Arc<Mutex<Vec<(LogLevel, String)>>>);

impl Logs {
    pub fn attach(&self, c: &mut Config) {
        let lines = Arc::clone(&self.0);
        c.set_log_callback(
            Some(Arc::new(move |level, msg: &str| lines.lock().unwrap().push((level, msg.to_owned())))),
            LogLevel::Debug,
        );
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
        c.set_drop_callback(Some(Arc::new(move |reason, ids: &[String]| {
            seen.lock().unwrap().extend(ids.iter().map(|id| (reason, id.clone())))
        })));
    }
    pub fn ids(&self, reason: DropReason) -> Vec<String> {
        self.0.lock().unwrap().iter().filter(|(r, _)| *r == reason).map(|(_, id)| id.clone()).collect()
    }
}
