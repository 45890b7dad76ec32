//! The delivery thread: decides when to send (flush triggers, dispatch requests,
//! backoff, reachability), runs sends, and settles every hit's fate.
//!
//! It never runs host callbacks (completions are posted to the callback thread),
//! never touches SQLite (the writer leases and settles rows), and sleeps on a
//! condition variable when there is nothing to do.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use crate::analytics::consent::ConsentCell;
use crate::clock::Clock;
use crate::config::{DropReason, ModeCell, OfflineMode};
use crate::delivery::transport::{Abort, Transport};
use crate::delivery::{DeliverySettings, DispatchReport};
use crate::error::Error;
use crate::identity::Identity;
use crate::remote::{Remote, RemoteSettings};

/// Announces a newly applied remote configuration to the host (posts its callback).
pub type RemoteNotify = Arc<dyn Fn(String) + Send + Sync>;
use crate::runtime::{Completer, Oneshot, Reporter};
use crate::store::WriterHandle;

mod drain;
mod handle;
mod memory;
mod pipeline;
mod remote_fetch;
mod schedule;
mod send_run;
mod sender;
use drain::Scope;
pub use handle::{Delivery, DeliveryParts, DeliveryWake};
use memory::{drop_memory, Memory};
use send_run::{Pacing, Warned};
use sender::SenderRole;

type DispatchCompleter = Completer<DispatchReport>;

struct State {
    flushes: Vec<DispatchCompleter>,
    dispatches: Vec<DispatchCompleter>,
    outbox: VecDeque<Memory>,
    /// Stored hits after the writer's last commit (threshold trigger).
    stored: u64,
    /// Hits were committed since the last automatic send.
    fresh: bool,
    /// `flush_threshold` (0 = off), for the commit hook.
    threshold: u64,
    host_reachable: bool,
    /// The network came back: send now.
    restored: bool,
    /// The app is in the background: no automatic sends until foreground.
    background: bool,
    /// Waiting for the background job: the bounded flush, if any, then the
    /// sender lock given up (repeated notifications join the same one).
    bg_waiters: Vec<DispatchCompleter>,
    bg_requested: bool,
    bg_deadline: Option<Instant>,
    nudged: bool,
    /// A key set at run time (`at_set_api_key`), for the engine to take.
    new_key: Option<Option<String>>,
    closing: Option<Instant>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    abort: Abort,
    finished: Arc<Oneshot<()>>,
}

struct Engine {
    shared: Arc<Shared>,
    settings: DeliverySettings,
    writer: Arc<WriterHandle>,
    mode: Arc<ModeCell>,
    clock: Arc<dyn Clock>,
    identity: Arc<Identity>,
    remote: Arc<Remote>,
    remote_settings: RemoteSettings,
    on_remote_config: Option<RemoteNotify>,
    /// `Remote::version` last applied to `settings`.
    remote_version: u64,
    /// Monotonic time of the next remote configuration fetch.
    next_config_ms: i64,
    /// The settings from the configuration, before remote overrides.
    base_settings: DeliverySettings,
    reporter: Reporter,
    transport: Box<dyn Transport>,
    /// The store's sender lock, shared with the tracker's `Delivery`.
    sender: Arc<SenderRole>,
    pacing: Pacing,
    /// Monotonic time of the last automatic send (the flush timer runs from it).
    last_auto_ms: i64,
    /// The latest wall-clock next-attempt time this process stored: rows it
    /// scheduled are due once its pause is over, wherever the wall clock went.
    retry_wall_hwm: i64,
    /// Wall minus monotonic time at the last look: a change is a wall-clock jump.
    wall_minus_mono: i64,
    /// The collector refused the key (its status): automatic sending is paused.
    key_rejected: Option<u16>,
    /// The user's consent: nothing is sent and no configuration fetched
    /// unless it is granted.
    consent: Arc<ConsentCell>,
    /// The wall clock jumped and the collector's clock is not known since: hit
    /// ages cannot be trusted, so none expires.
    clock_suspect: bool,
    warned: Warned,
    /// No stored hit was waiting at the last look.
    idle: bool,
    rng: u64,
}

enum Job {
    FetchConfig,
    Requests { dispatches: Vec<DispatchCompleter>, flushes: Vec<DispatchCompleter> },
    Background { deadline: Option<Instant> },
    Auto,
    Outbox,
    DropOutbox,
    Close { dispatches: Vec<DispatchCompleter>, flushes: Vec<DispatchCompleter> },
}

impl Engine {
    fn run(mut self) {
        loop {
            match self.next_job() {
                Job::Requests { dispatches, flushes } => self.serve(dispatches, flushes),
                Job::FetchConfig => self.fetch_config(),
                Job::Background { deadline } => self.background_flush(deadline),
                Job::Auto => {
                    self.last_auto_ms = self.clock.mono_ms();
                    self.drain_store(Scope::Auto);
                }
                Job::Outbox => {
                    self.drain_memory(false);
                }
                Job::DropOutbox => {
                    let gone: Vec<Memory> = self.shared.state.lock().outbox.drain(..).collect();
                    drop_memory(gone, DropReason::Unreachable, &self.reporter);
                }
                Job::Close { dispatches, flushes } => {
                    self.close(dispatches, flushes);
                    break;
                }
            }
            // A send in the background (a dispatch, the network back) took
            // the lock: it is given up again before the thread sleeps.
            self.leave_sender_role();
        }
        // Closed: another tracker or process may send from now on.
        self.sender.release_if(&self.writer, || true);
        self.shared.finished.send(());
    }

    fn serve(&mut self, dispatches: Vec<DispatchCompleter>, flushes: Vec<DispatchCompleter>) {
        if !dispatches.is_empty() {
            let report = self.drain_store(Scope::Dispatch);
            dispatches.into_iter().for_each(|d| d.complete(report.clone()));
        }
        if !flushes.is_empty() {
            let report = self.flush_now();
            flushes.into_iter().for_each(|d| d.complete(report.clone()));
        }
    }

    /// Entering background: the flush (with a `deadline`; it ends before
    /// it), then the sender lock given up (still in the background), then
    /// every notification that arrived meanwhile is answered with the same
    /// tally.
    fn background_flush(&mut self, deadline: Option<Instant>) {
        let report = match deadline {
            Some(deadline) => {
                self.shared.abort.set_deadline(Some(deadline));
                let report = self.flush_now();
                self.shared.abort.set_deadline(None);
                report
            }
            None => DispatchReport::default(),
        };
        self.leave_sender_role();
        // The replies the flush and the barrier waited for were sent inside
        // their group, before its connection closed: no lock when done runs.
        self.writer.quiesce();
        let waiters = std::mem::take(&mut self.shared.state.lock().bg_waiters);
        for w in waiters {
            w.complete(report.clone());
        }
    }

    /// `at_flush`: what is due, honouring backoff and reachability.
    fn flush_now(&mut self) -> DispatchReport {
        let mode = self.mode.get();
        if mode == OfflineMode::Always {
            return DispatchReport::default();
        }
        let reachable = self.shared.state.lock().host_reachable;
        if !reachable {
            return network_report("the host reports the network unreachable");
        }
        if let Some(status) = self.key_rejected {
            let why = format!(
                "the collector rejected the api key (HTTP {status}); sending is paused until at_set_api_key"
            );
            return DispatchReport {
                status: Err(Error::new(crate::Status::KeyRejected, why)),
                ..Default::default()
            };
        }
        if self.clock.mono_ms() < self.pacing.paused_until_ms {
            return network_report("sending is paused by backoff after a failure");
        }
        let mut report = self.drain_memory(true);
        if report.status.is_ok() {
            report.merge(&self.drain_store(Scope::Flush));
        }
        report
    }

    fn close(&mut self, dispatches: Vec<DispatchCompleter>, flushes: Vec<DispatchCompleter>) {
        self.serve(dispatches, flushes);
        let waiters = std::mem::take(&mut self.shared.state.lock().bg_waiters);
        drop(waiters); // a background flush never started: its callers get Cancelled
        let mode = self.mode.get();
        let can_send = self.shared.state.lock().host_reachable;
        let paused = self.shared.abort.is_set()
            || self.clock.mono_ms() < self.pacing.paused_until_ms
            || self.key_rejected.is_some();
        if can_send && !paused {
            self.drain_memory(true);
            if mode == OfflineMode::Required {
                self.drain_store(Scope::Flush);
            }
        }
        let gone: Vec<Memory> = self.shared.state.lock().outbox.drain(..).collect();
        let reason = if can_send { DropReason::Unsent } else { DropReason::Unreachable };
        drop_memory(gone, reason, &self.reporter);
    }
}

impl Engine {
    /// In the background, gives the sender lock up (see `SenderRole`).
    fn leave_sender_role(&self) {
        let shared = &self.shared;
        if self.sender.release_if(&self.writer, || shared.state.lock().background) {
            self.reporter.log(
                crate::config::LogLevel::Debug,
                "in the background: the sender lock is released until the foreground",
            );
        }
    }

    /// A key set at run time: sending resumes at once when it was paused for a
    /// refused key.
    fn take_key(&mut self, key: Option<String>) {
        self.settings.api_key = key.clone();
        self.base_settings.api_key = key;
        if let Some(status) = self.key_rejected.take() {
            self.reporter.stats.key_rejected.store(0, std::sync::atomic::Ordering::Relaxed);
            self.reporter.log(
                crate::config::LogLevel::Info,
                format!("a new api key was set after HTTP {status}; sending resumes"),
            );
        }
        self.pacing = Pacing::default();
    }

    /// Logs a WARN when the wall clock moved against the monotonic clock by more
    /// than a minute (a user changing the date, a clock sync): waits are not
    /// affected, stored retry times are re-read as due.
    fn notice_clock_jump(&mut self, mono: i64) {
        let d = self.clock.now_ms().saturating_sub(mono);
        let moved = d.saturating_sub(self.wall_minus_mono);
        if moved.unsigned_abs() > 60_000 {
            // The collector's clock did not move: the offset to it did.
            match self.identity.clock_offset_ms() {
                Some(offset) => self.identity.set_clock_offset_ms(offset.saturating_sub(moved)),
                None => self.clock_suspect = true,
            }
            self.reporter.log(
                crate::config::LogLevel::Warn,
                format!(
                    "the wall clock moved by {} s; waits run on the monotonic clock and stored retry \
                     times beyond the longest wait are treated as due",
                    moved / 1000
                ),
            );
        }
        self.wall_minus_mono = d;
    }
}

/// The report of a send that consent did not allow.
fn consent_report() -> DispatchReport {
    let why = "consent is not granted (at_set_consent): nothing is sent; the hits stay stored";
    DispatchReport { status: Err(Error::new(crate::Status::Suppressed, why)), ..Default::default() }
}

fn network_report(why: &str) -> DispatchReport {
    DispatchReport { status: Err(Error::new(crate::Status::Network, why)), ..Default::default() }
}
