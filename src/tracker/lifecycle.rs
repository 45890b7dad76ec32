//! App lifecycle reported by the host: lifecycle events, the bounded flush on
//! entering background, and the store's files left unlocked while in the
//! background (see `WriterHandle::suspend` and the engine's `SenderRole`).

use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::hit::NewHit;

use super::{DispatchCompletion, Tracker};

impl Tracker {
    /// The app went to the background (`applicationDidEnterBackground`,
    /// `OnApplicationPause(true)`). Records "Application Backgrounded" (when
    /// `track_lifecycle_events`), then, with `flush_on_background`, sends what it
    /// can and completes `done` before `deadline` has passed; unsent hits stay
    /// stored. Repeated notifications record one event and join the same flush.
    ///
    /// When `done` runs, the process holds no lock on the store's files until
    /// `app_will_enter_foreground`: the reader, checkpoint and write
    /// connections are closed (a commit in the background opens the store and
    /// closes it again), the full integrity check of a large store is stopped
    /// (it runs at the next start), and the sender lock is given up after the
    /// flush. iOS terminates a suspended app that holds a lock on a file in an
    /// App Group container (0xdead10cc).
    pub fn app_did_enter_background(
        &self,
        deadline: Duration,
        done: Option<DispatchCompletion>,
    ) -> Result<()> {
        self.open_gate(|| {
            let first = !self.background.swap(true, SeqCst);
            self.enter_background_session();
            // Paused first, so the event below does not start a send of its own.
            self.delivery.enter_background();
            if first && self.config.track_lifecycle_events {
                self.track_lifecycle("Application Backgrounded")?;
            }
            // Finish a little early: the abort of a transfer takes up to ~50 ms.
            let margin = Duration::from_millis(100).min(deadline / 2);
            let until = self.config.flush_on_background.then(|| Instant::now() + deadline - margin);
            self.writer.settle();
            if let Some(mut check) = self.check.lock().take() {
                check.stop();
            }
            self.reader.suspend();
            self.writer.suspend();
            self.delivery.background_flush(until, self.dispatch_completer(done));
            Ok(())
        })
    }

    /// The app is in the foreground again: opens the store's connections and
    /// takes the sender lock again when it is free, records "Application
    /// Opened" (when `track_lifecycle_events`), resumes the flush timers and
    /// sends what is due.
    pub fn app_will_enter_foreground(&self) -> Result<()> {
        self.open_gate(|| {
            self.writer.resume();
            let was_background = self.background.swap(false, SeqCst);
            if was_background {
                self.analytics.sessions.enter_foreground(self.clock.mono_ms());
            }
            if was_background && self.config.track_lifecycle_events {
                self.track_lifecycle("Application Opened")?;
            }
            self.delivery.enter_foreground();
            Ok(())
        })
    }

    /// A lifecycle event; a closed tracking gate skips it quietly.
    fn track_lifecycle(&self, name: &str) -> Result<()> {
        if !self.enabled.load(SeqCst) {
            return Ok(());
        }
        let hit = NewHit::event(name, None, self.clock.now_ms(), self.config.max_event_bytes)?;
        self.accept(hit, None)
    }
}
