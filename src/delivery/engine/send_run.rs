//! One send run (stored or memory-only hits) and its effect on the pacing of
//! automatic sends: backoff with jitter after a failure, counters and logs.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::config::LogLevel;
use crate::delivery::policy;
use crate::delivery::send::{self, Fate, SendContext, Stop};
use crate::delivery::wire;
use crate::delivery::DispatchReport;
use crate::error::Error;
use crate::hit::StoredHit;

use super::Engine;

/// Pacing shared by every automatic send: consecutive failures and the pause
/// they impose.
#[derive(Default)]
pub(super) struct Pacing {
    pub(super) failures: u32,
    pub(super) paused_until_ms: i64,
    /// The last failure was a transport error: automatic sends are probes.
    pub(super) offline: bool,
}

pub(super) fn seed() -> u64 {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    u64::from_le_bytes(bytes[..8].try_into().unwrap_or([1; 8])) | 1
}

impl Engine {
    /// One send run plus its effect on pacing, counters and logs.
    pub(super) fn send_run(&mut self, hits: &[StoredHit]) -> (Vec<Fate>, DispatchReport, bool) {
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
            max_batch_events: s.max_batch_events as usize,
            max_batch_bytes: s.max_batch_bytes as usize,
            now_ms: &now,
            clock_offset_ms: self.identity.clock_offset_ms(),
        };
        let run = send::run(self.transport.as_mut(), &ctx, hits);
        if let Some(offset) = run.clock_offset_ms {
            self.identity.set_clock_offset_ms(offset);
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
                Fate::Offline | Fate::Release => {}
            }
        }
        self.reporter.stats.failed.fetch_add(report.failed, Relaxed);
        let now_ms = self.clock.now_ms();
        match &run.stop {
            None => {
                if self.pacing.offline || self.pacing.failures > 0 {
                    self.reporter.log(LogLevel::Info, "the collector is reachable again");
                }
                self.pacing = Pacing::default();
            }
            Some(Stop::Aborted) => report.status = Err(Error::cancelled()),
            Some(stop) => {
                self.pacing.failures += 1;
                let mut wait = policy::backoff(self.pacing.failures, self.jitter());
                let why = match stop {
                    Stop::ServerFailed { retry_after, why } => {
                        wait = wait.max(retry_after.unwrap_or_default());
                        self.pacing.offline = false;
                        why.clone()
                    }
                    Stop::Unreachable(why) => {
                        self.pacing.offline = true;
                        format!("the collector is unreachable: {why}")
                    }
                    Stop::Unauthorized(status) => {
                        self.reporter.log(
                            LogLevel::Error,
                            format!(
                                "the collector answered HTTP {status}: check the api key and endpoint; \
                                 the hits sent were dropped"
                            ),
                        );
                        format!("HTTP {status}")
                    }
                    Stop::Aborted => unreachable!("handled above"),
                };
                self.pacing.paused_until_ms = now_ms + wait.as_millis() as i64;
                self.reporter.log(
                    LogLevel::Warn,
                    format!("sending failed ({why}); next attempt in {} ms", wait.as_millis()),
                );
                report.status = Err(Error::new(crate::Status::Network, why));
            }
        }
        let stopped = run.stop.is_some();
        (run.fates, report, stopped)
    }

    fn jitter(&mut self) -> f64 {
        // xorshift64: jitter needs spread, not cryptographic quality.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }
}
