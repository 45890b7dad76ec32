//! Control over sending: the offline mode, the host's reachability report, and
//! flush and dispatch requests to the delivery thread.

use std::sync::atomic::Ordering::SeqCst;

use crate::config::{LogLevel, OfflineMode};
use crate::delivery::DispatchReport;
use crate::error::Result;
use crate::runtime::{Completer, Completion};
use crate::store::writer::Op;

use super::{DispatchCompletion, Tracker};

impl Tracker {
    /// Changes the offline mode for hits tracked from now on. `done` runs on the
    /// callback thread after every hit accepted before the change is committed.
    pub fn set_offline_mode(&self, mode: OfflineMode, done: Option<Completion>) -> Result<()> {
        self.open_gate(|| {
            self.mode.set(mode);
            self.delivery.mode_changed();
            self.reporter.log(LogLevel::Info, format!("offline mode set to {mode:?}"));
            let done = done.map(|f| Completer::new(&self.callbacks, f));
            self.writer.submit(Op::Barrier {
                then: Box::new(move |_| {
                    if let Some(done) = done {
                        done.complete(Ok(()));
                    }
                }),
            })
        })
    }

    pub fn offline_mode(&self) -> Result<OfflineMode> {
        self.open_gate(|| Ok(self.mode.get()))
    }

    /// The host's reachability report. While unreachable, automatic sending
    /// pauses and hits are marked `is_offline`; back to reachable, a flush starts.
    pub fn set_network_reachable(&self, reachable: bool) -> Result<()> {
        self.open_gate(|| {
            self.reachable.store(reachable, SeqCst);
            self.delivery.set_reachable(reachable);
            Ok(())
        })
    }

    /// Replaces the api key for every request from now on (an empty key removes
    /// it). After the collector refused the key (401/403), automatic sending
    /// resumes with the new one. Not stored: the next start uses the
    /// configuration's key.
    pub fn set_api_key(&self, key: &str) -> Result<()> {
        self.open_gate(|| {
            let mut probe = crate::config::Config::new();
            probe.set_api_key(key)?;
            self.delivery.set_api_key(probe.api_key);
            self.reporter.log(LogLevel::Info, "api key replaced");
            Ok(())
        })
    }

    /// Why the last send failed (e.g. "the collector rejected the api key (HTTP
    /// 401)"), or `None` when the last send succeeded or none failed.
    pub fn last_send_error(&self) -> Result<Option<String>> {
        self.open_gate(|| Ok(self.reporter.stats.last_send_error.lock().clone()))
    }

    pub fn network_reachable(&self) -> bool {
        self.reachable.load(SeqCst)
    }

    /// Sends what is due now (`Required` and `Never` modes), honouring backoff
    /// and reachability. `done` runs on the callback thread with the tally.
    pub fn flush(&self, done: Option<DispatchCompletion>) -> Result<()> {
        self.open_gate(|| {
            self.writer.settle();
            self.delivery.flush(self.dispatch_completer(done));
            Ok(())
        })
    }

    /// Sends every stored hit now, in any mode, ignoring backoff timers. `done`
    /// runs on the callback thread with the tally.
    pub fn offline_dispatch(&self, done: Option<DispatchCompletion>) -> Result<()> {
        self.open_gate(|| {
            self.writer.settle();
            self.delivery.dispatch(self.dispatch_completer(done));
            Ok(())
        })
    }

    pub(super) fn dispatch_completer(&self, done: Option<DispatchCompletion>) -> Completer<DispatchReport> {
        Completer::new(&self.callbacks, done.unwrap_or_else(|| Box::new(|_| {})))
    }

    /// Wakes the delivery thread to re-read an injected clock (tests).
    #[doc(hidden)]
    pub fn nudge(&self) {
        self.delivery.nudge();
    }
}
