//! A clock the test moves by hand.

use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use attracker::Clock;

/// Wall-clock time in Unix milliseconds, set and moved by the test; the
/// library's monotonic time follows it (the `Clock` default).
pub struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(SeqCst)
    }
}

impl ManualClock {
    /// A fixed instant (November 2026), so runs do not depend on the day.
    pub const START_MS: i64 = 1_795_366_000_000;

    /// A clock at `ms`.
    pub fn at(ms: i64) -> Arc<Self> {
        Arc::new(ManualClock(AtomicI64::new(ms)))
    }
    /// A clock at `START_MS`.
    pub fn start() -> Arc<Self> {
        Self::at(Self::START_MS)
    }
    pub fn set(&self, ms: i64) {
        self.0.store(ms, SeqCst);
    }
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_millis() as i64, SeqCst);
    }
}
