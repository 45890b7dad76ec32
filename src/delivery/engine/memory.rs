//! Memory-only hits (`OfflineMode::Never`): sent from memory, never stored;
//! what cannot be sent is dropped and reported.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;

use crate::config::DropReason;
use crate::delivery::policy;
use crate::delivery::send::Fate;
use crate::delivery::DispatchReport;
use crate::error::Error;
use crate::hit::StoredHit;
use crate::runtime::{Completer, Reporter};

use super::Engine;

/// A memory-only hit (`OfflineMode::Never`).
pub(super) struct Memory {
    pub(super) hit: StoredHit,
    pub(super) done: Option<Completer>,
    /// Monotonic time before which it is not sent again (backoff).
    pub(super) not_before_ms: i64,
}

pub(super) fn drop_memory(gone: Vec<Memory>, reason: DropReason, reporter: &Reporter) {
    if gone.is_empty() {
        return;
    }
    let mut ids = Vec::with_capacity(gone.len());
    for m in gone {
        ids.push(m.hit.message_id);
        if let Some(done) = m.done {
            let status = match reason {
                DropReason::Unsent => Error::cancelled(),
                _ => Error::new(crate::Status::Network, format!("the hit was dropped: {reason:?}")),
            };
            done.complete(Err(status));
        }
    }
    reporter.dropped(reason, ids);
}

impl Engine {
    /// Sends memory-only hits (all due ones when `all`, else one run).
    pub(super) fn drain_memory(&mut self, all: bool) -> DispatchReport {
        if !self.consent.allows_network() {
            return super::consent_report();
        }
        let mut report = DispatchReport::default();
        loop {
            let now = self.clock.mono_ms();
            let batch: Vec<Memory> = {
                let mut st = self.shared.state.lock();
                let mut taken = Vec::new();
                let mut kept = VecDeque::new();
                while let Some(m) = st.outbox.pop_front() {
                    if m.not_before_ms <= now && taken.len() < self.settings.max_batch_events as usize {
                        taken.push(m);
                    } else {
                        kept.push_back(m);
                    }
                }
                st.outbox = kept;
                taken
            };
            if batch.is_empty() {
                break;
            }
            let hits: Vec<StoredHit> = batch.iter().map(|m| m.hit.clone()).collect();
            let (fates, mut part, stop) = self.send_run(&hits);
            let retry_at = self.pacing.paused_until_ms;
            let mut back = Vec::new();
            let mut by_reason: Vec<(DropReason, Vec<Memory>)> = Vec::new();
            for (mut m, fate) in batch.into_iter().zip(fates) {
                let reason = match fate {
                    Fate::Delivered => {
                        self.reporter.stats.sent.fetch_add(1, Relaxed);
                        if let Some(done) = m.done.take() {
                            done.complete(Ok(()));
                        }
                        continue;
                    }
                    Fate::Retry if policy::exhausted(m.hit.retry_count, self.settings.max_attempts) => {
                        part.dropped += 1;
                        DropReason::AttemptsExhausted
                    }
                    Fate::Retry => {
                        m.hit.retry_count += 1;
                        m.not_before_ms = retry_at;
                        back.push(m);
                        continue;
                    }
                    Fate::Deferred => {
                        m.not_before_ms = retry_at;
                        back.push(m);
                        continue;
                    }
                    Fate::Release => {
                        back.push(m);
                        continue;
                    }
                    Fate::Offline => {
                        part.dropped += 1;
                        DropReason::Unreachable
                    }
                    Fate::Dropped(reason) => reason,
                };
                match by_reason.iter_mut().find(|(r, _)| *r == reason) {
                    Some((_, v)) => v.push(m),
                    None => by_reason.push((reason, vec![m])),
                }
            }
            report.merge(&part);
            for (reason, gone) in by_reason {
                drop_memory(gone, reason, &self.reporter);
            }
            let mut st = self.shared.state.lock();
            for m in back.into_iter().rev() {
                st.outbox.push_front(m);
            }
            drop(st);
            if stop || !all {
                break;
            }
        }
        report
    }
}
