//! What the delivery thread does next, in the order it decides: work asked for
//! (a new key, close, the background flush, dispatches and flushes), then work
//! the clock or the store makes due (the remote configuration, the network
//! coming back, memory-only hits, stored hits by threshold, timer or retry);
//! otherwise it sleeps until the earliest monotonic time something is due, or
//! until woken.

use std::sync::Arc;
use std::time::Duration;

use crate::config::OfflineMode;

use super::send_run::Pacing;
use super::{Engine, Job, State};

/// The decision of one look at the state.
enum Next {
    Run(Job),
    /// Sleep until this monotonic time (None: until woken).
    Sleep(Option<i64>),
}

/// The earlier of two wake-up times.
fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Engine {
    pub(super) fn next_job(&mut self) -> Job {
        let shared = Arc::clone(&self.shared);
        let mut st = shared.state.lock();
        loop {
            if let Some(job) = self.requested(&mut st) {
                return job;
            }
            let now = self.clock.mono_ms();
            self.notice_clock_jump(now);
            match self.due(&mut st, now) {
                Next::Run(job) => return job,
                Next::Sleep(Some(at)) => {
                    let wait = Duration::from_millis(at.saturating_sub(now).max(1) as u64);
                    shared.wake.wait_for(&mut st, wait);
                }
                Next::Sleep(None) => shared.wake.wait(&mut st),
            }
        }
    }

    /// Work asked for by the host or the tracker.
    fn requested(&mut self, st: &mut State) -> Option<Job> {
        // A key set at run time applies to every request from now on, the
        // dispatches and flushes already asked for included.
        if let Some(key) = st.new_key.take() {
            self.take_key(key);
            if st.stored > 0 {
                st.restored = true;
            }
        }
        if st.closing.is_some() {
            return Some(Job::Close {
                dispatches: std::mem::take(&mut st.dispatches),
                flushes: std::mem::take(&mut st.flushes),
            });
        }
        if std::mem::take(&mut st.bg_requested) {
            return Some(Job::Background { deadline: st.bg_deadline.take() });
        }
        if !st.dispatches.is_empty() || !st.flushes.is_empty() {
            return Some(Job::Requests {
                dispatches: std::mem::take(&mut st.dispatches),
                flushes: std::mem::take(&mut st.flushes),
            });
        }
        None
    }

    /// Work the clock or the store makes due at `now` (monotonic).
    fn due(&mut self, st: &mut State, now: i64) -> Next {
        let config_due = self.config_due_ms().filter(|_| !st.background);
        if config_due.is_some_and(|due| now >= due) {
            return Next::Run(Job::FetchConfig);
        }
        let mode = self.mode.get();
        if st.restored {
            st.restored = false;
            self.pacing = Pacing::default();
            if mode == OfflineMode::Required && st.stored > 0 && self.key_rejected.is_none() {
                return Next::Run(Job::Auto);
            }
        }
        st.nudged = false;
        if !self.consent.allows_network() {
            // Memory-only hits wait too (until close drops them as unsent).
            return Next::Sleep(config_due);
        }
        // A refused key pauses automatic sending until a new key.
        let paused = now < self.pacing.paused_until_ms || self.key_rejected.is_some();
        let outbox = match self.outbox_due(st, now, paused) {
            Next::Run(job) => return Next::Run(job),
            Next::Sleep(at) => at,
        };
        let stored = match self.stored_due(st, now, mode, paused) {
            Next::Run(job) => return Next::Run(job),
            Next::Sleep(at) => at,
        };
        Next::Sleep(earliest(earliest(stored, outbox), config_due))
    }

    /// Memory-only hits are sent whatever the mode is now: they were accepted
    /// under `Never`, never to be stored. Unreachable, they are dropped.
    fn outbox_due(&self, st: &State, now: i64, paused: bool) -> Next {
        if st.outbox.is_empty() {
            return Next::Sleep(None);
        }
        if !st.host_reachable {
            return Next::Run(Job::DropOutbox);
        }
        let first = st.outbox.iter().map(|m| m.not_before_ms).min().unwrap_or(now);
        if first <= now && !paused {
            return Next::Run(Job::Outbox);
        }
        if self.key_rejected.is_some() {
            return Next::Sleep(None);
        }
        Next::Sleep(Some(first.max(self.pacing.paused_until_ms)))
    }

    /// Stored hits (`Required` mode, reachable, in the foreground): the
    /// threshold, the timer, or a retry after a failure.
    fn stored_due(&mut self, st: &mut State, now: i64, mode: OfflineMode, paused: bool) -> Next {
        if st.stored == 0 {
            self.idle = true;
        } else if self.idle {
            // The timer runs from the first hit waiting, not from the last send.
            self.idle = false;
            self.last_auto_ms = now;
        }
        if mode != OfflineMode::Required || !st.host_reachable || st.background || st.stored == 0 {
            return Next::Sleep(None);
        }
        if paused {
            return Next::Sleep(self.key_rejected.is_none().then_some(self.pacing.paused_until_ms));
        }
        let threshold =
            st.fresh && self.settings.flush_threshold > 0 && st.stored >= self.settings.flush_threshold;
        let timer_at = self.settings.flush_interval.map(|i| self.last_auto_ms + i.as_millis() as i64);
        let timer = timer_at.is_some_and(|at| now >= at);
        if threshold || timer || self.pacing.failures > 0 {
            st.fresh = false;
            return Next::Run(Job::Auto);
        }
        Next::Sleep(timer_at)
    }
}
