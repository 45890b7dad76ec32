//! Time, injected: the core asks a `Clock`, so tests can move time without sleeping.
//!
//! Two clocks: the wall clock stamps hits and dates the wire; the monotonic
//! clock times every wait (backoff, Retry-After, the flush timer, pauses, the
//! remote configuration interval), so a user changing the device's date moves
//! no wait.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync {
    /// Wall-clock time in Unix milliseconds.
    fn now_ms(&self) -> i64;

    /// Milliseconds on a clock that only moves forward, at the pace of real
    /// time, from an arbitrary origin. The default is the wall clock, which
    /// suits test clocks that only move forward.
    fn mono_ms(&self) -> i64 {
        self.now_ms()
    }
}

/// The system's wall clock and monotonic clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
    }

    fn mono_ms(&self) -> i64 {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        // Starts at a day, so "0" (never) is always in the past.
        let origin = ORIGIN.get_or_init(Instant::now);
        86_400_000 + origin.elapsed().as_millis() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monotonic_clock_moves_forward_from_a_positive_origin() {
        let a = SystemClock.mono_ms();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = SystemClock.mono_ms();
        assert!(a >= 86_400_000 && b >= a + 5, "{a} {b}");
    }
}
