//! One send run (stored or memory-only hits) and its effect on the pacing of
//! automatic sends: backoff with jitter after a failure, a pause for a refused
//! key, counters and logs. Every wait here runs on the monotonic clock.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::config::LogLevel;
use crate::delivery::policy;
use crate::delivery::send::{self, Fate, SendContext, Stop};
use crate::delivery::transport::{Cause, Transport};
use crate::delivery::wire;
use crate::delivery::DispatchReport;
use crate::error::Error;
use crate::hit::StoredHit;

use super::Engine;

/// A WARN about the collector not being reached is repeated at most this often
/// (per cause); the other occurrences log at DEBUG.
const NOT_REACHED_WARN_EVERY_MS: i64 = 60_000;

/// Pacing shared by every automatic send: consecutive failures and the pause
/// they impose.
#[derive(Default)]
pub(super) struct Pacing {
    pub(super) failures: u32,
    /// Monotonic time before which automatic sends wait.
    pub(super) paused_until_ms: i64,
    /// The wall-clock time stored as the next attempt of the hits that failed
    /// (the same instant as `paused_until_ms`, for the store, which outlives
    /// the process).
    pub(super) retry_wall_ms: i64,
    /// The last failure was a transport error: automatic sends are probes.
    pub(super) offline: bool,
}

/// What the engine remembers between runs for its logs.
#[derive(Default)]
pub(super) struct Warned {
    /// The last "not reached" WARN: its cause and monotonic time.
    not_reached: Option<(Cause, i64)>,
    /// An unreadable `Date` header was reported.
    bad_date: bool,
}

pub(super) fn seed() -> u64 {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    u64::from_le_bytes(bytes[..8].try_into().unwrap_or([1; 8])) | 1
}

impl Engine {
    /// One send run plus its effect on pacing, counters and logs.
    pub(super) fn send_run(&mut self, hits: &[StoredHit]) -> (Vec<Fate>, DispatchReport, bool) {
        let run = self.with_context(|ctx, transport| send::run(transport, ctx, hits));
        self.conclude_run(run, hits, true)
    }

    /// Runs `f` with what a send needs: the context of this moment's settings
    /// and identity, and the transport.
    pub(super) fn with_context<R>(&mut self, f: impl FnOnce(&SendContext<'_>, &mut dyn Transport) -> R) -> R {
        let clock = Arc::clone(&self.clock);
        let now = move || clock.now_ms();
        let s = &self.settings;
        let headers = wire::post_headers(s.api_key.as_deref(), s.auth, s.gzip);
        let visitor = self.identity.visitor_id();
        let ctx = SendContext {
            batch_url: &s.batch_url,
            post_headers: &headers,
            gzip: s.gzip,
            anonymous_id: &visitor,
            store_id: self.identity.store_id(),
            max_batch_events: s.max_batch_events as usize,
            max_batch_bytes: s.max_batch_bytes as usize,
            now_ms: &now,
            clock_offset_ms: self.identity.clock_offset_ms(),
        };
        f(&ctx, self.transport.as_mut())
    }

    /// A run's effect on counters and logs, and, when `paced` (no earlier run
    /// of this drain stopped), on pacing: reset after a success, a pause after
    /// a failure. Returns the fates, the tally and whether the run stopped.
    pub(super) fn conclude_run(
        &mut self,
        run: send::Run,
        hits: &[StoredHit],
        paced: bool,
    ) -> (Vec<Fate>, DispatchReport, bool) {
        if let Some(offset) = run.clock_offset_ms {
            self.identity.set_clock_offset_ms(offset);
            self.clock_suspect = false;
        }
        if let Some(bad) = &run.bad_date {
            if !std::mem::replace(&mut self.warned.bad_date, true) {
                self.reporter.log(
                    LogLevel::Warn,
                    format!("the collector's Date header '{bad}' is absurd or unreadable; it is ignored"),
                );
            }
        }
        self.reporter.stats.requests.fetch_add(run.requests, Relaxed);
        for &(i, status) in &run.refused {
            self.reporter.log(
                LogLevel::Warn,
                format!("the collector refused hit {} (HTTP {status}); it is dropped", hits[i].message_id),
            );
        }
        let mut report = DispatchReport::default();
        for f in &run.fates {
            match f {
                Fate::Delivered => report.sent += 1,
                Fate::Retry => report.failed += 1,
                Fate::Dropped(_) => report.dropped += 1,
                Fate::Deferred | Fate::Offline | Fate::Release => {}
            }
        }
        self.reporter.stats.failed.fetch_add(report.failed, Relaxed);
        match &run.stop {
            // A run that ended after an earlier one stopped the drain (its
            // request was already in flight): its hits' fates stand, the
            // pause was decided by the first.
            Some(Stop::Aborted) if !paced => report.status = Err(Error::cancelled()),
            Some(_) if !paced => {
                report.status = Err(Error::new(crate::Status::Network, "sending failed"));
            }
            None if !paced => {}
            None => {
                if self.pacing.offline || self.pacing.failures > 0 {
                    self.reporter.log(LogLevel::Info, "the collector is reachable again");
                }
                self.pacing = Pacing::default();
                self.warned.not_reached = None;
                *self.reporter.stats.last_send_error.lock() = None;
            }
            Some(Stop::Aborted) => report.status = Err(Error::cancelled()),
            Some(stop) => report.status = Err(self.pause_after(stop, hits.len())),
        }
        let stopped = run.stop.is_some();
        (run.fates, report, stopped)
    }

    /// Pauses automatic sending after a failed run and says why; returns the
    /// error the run's requester gets.
    fn pause_after(&mut self, stop: &Stop, tried: usize) -> Error {
        let mono = self.clock.mono_ms();
        let wall = self.clock.now_ms();
        self.pacing.failures += 1;
        let mut wait = policy::backoff(self.pacing.failures, self.jitter());
        let error = match stop {
            Stop::ServerFailed { retry_after, why } => {
                wait = wait.max(retry_after.unwrap_or_default());
                self.pacing.offline = false;
                self.reporter.log(
                    LogLevel::Warn,
                    format!("sending failed ({why}); next attempt in {} ms", wait.as_millis()),
                );
                Error::new(crate::Status::Network, format!("sending failed: {why}"))
            }
            Stop::NotReached { cause, why } => {
                self.pacing.offline = true;
                self.reporter.stats.not_reached.fetch_add(1, Relaxed);
                let message = format!(
                    "the collector was not reached ({}: {why}); the hits are kept, no attempt counted; \
                     next try in {} ms",
                    cause.describe(),
                    wait.as_millis()
                );
                let repeat = self.warned.not_reached.is_some_and(|(c, at)| {
                    c == *cause && mono.saturating_sub(at) < NOT_REACHED_WARN_EVERY_MS
                });
                if repeat {
                    self.reporter.log(LogLevel::Debug, message);
                } else {
                    self.warned.not_reached = Some((*cause, mono));
                    self.reporter.log(LogLevel::Warn, message);
                }
                Error::new(crate::Status::Network, format!("{}: {why}", cause.describe()))
            }
            Stop::Unauthorized(status) => {
                self.pacing.offline = false;
                if self.key_rejected.is_none() {
                    self.reporter.log(
                        LogLevel::Error,
                        format!(
                            "the collector rejected the api key (HTTP {status}); {tried} hit(s) kept; \
                             automatic sending is paused until at_set_api_key or the next start"
                        ),
                    );
                }
                self.key_rejected = Some(*status);
                self.reporter.stats.key_rejected.store(u64::from(*status), Relaxed);
                Error::new(
                    crate::Status::KeyRejected,
                    format!("the collector rejected the api key (HTTP {status}); sending is paused"),
                )
            }
            Stop::Aborted => unreachable!("handled by the caller"),
        };
        let wait_ms = wait.as_millis() as i64;
        self.pacing.paused_until_ms = mono.saturating_add(wait_ms);
        self.pacing.retry_wall_ms = wall.saturating_add(wait_ms);
        self.retry_wall_hwm = self.retry_wall_hwm.max(self.pacing.retry_wall_ms);
        *self.reporter.stats.last_send_error.lock() = Some(error.message.clone());
        error
    }

    fn jitter(&mut self) -> f64 {
        // xorshift64: jitter needs spread, not cryptographic quality.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }
}
