//! Draining the store: stored hits leased through the writer, sent, and their
//! fate settled; taking over as the store's sender when the previous one is gone.

use std::sync::Arc;

use crate::config::{DropReason, LogLevel};
use crate::delivery::policy;
use crate::delivery::send::Fate;
use crate::delivery::transport::LANES;
use crate::delivery::DispatchReport;
use crate::hit::StoredHit;
use crate::runtime::Oneshot;
use crate::store::ops::LeaseRequest;
use crate::store::writer::{Op, Settlement};

use super::Engine;

/// Batches a lease holds for each lane of a transport with lanes.
const LEASE_BATCHES_PER_LANE: u32 = 2;

impl Engine {
    /// Sends stored hits. Only the store's sender does; another process's
    /// tracker leaves them to it.
    pub(super) fn drain_store(&mut self, scope: Scope) -> DispatchReport {
        if !self.consent.allows_network() {
            return super::consent_report();
        }
        if !self.is_sender() {
            self.reporter.log(LogLevel::Debug, "another process is this store's sender; not sending");
            return DispatchReport::default();
        }
        let max_id = match scope {
            Scope::Auto => i64::MAX as u64,
            // Everything stored when the request was served, not what arrives during it.
            _ => match self.writer.call(|reply| Op::MaxId { reply }) {
                Ok(id) => id,
                Err(e) => return DispatchReport { status: Err(e), ..Default::default() },
            },
        };
        // With requests side by side, a lease holds two batches for each lane:
        // a quarter of the writer's transactions per hit, and the writer has
        // the next lease to take while the collector reads the last four
        // batches (measured: 0.50-0.59x raw select+delete with one batch per
        // lane, 0.55-0.61x with two, for 5 MiB more at the peak; three gave
        // no more and passed 32 MiB).
        let lanes = if self.transport.lanes().is_some() { LEASE_BATCHES_PER_LANE * LANES as u32 } else { 1 };
        let (clock, writer, limit) =
            (Arc::clone(&self.clock), Arc::clone(&self.writer), self.settings.max_batch_events * lanes);
        // Due: what this process scheduled is due once its (monotonic) pause is
        // over, even if the wall clock has moved back since.
        let hwm = self.retry_wall_hwm;
        let due_ms = move || (scope != Scope::Dispatch).then(|| clock.now_ms().max(hwm));
        let lease = move |after: u64, due_ms: Option<i64>| {
            // The drain checks each body as it builds its envelope, on this
            // thread, not the writer's (`send::Plan`).
            let request =
                LeaseRequest { after, max_id, due_ms, limit, events_only: false, check_bodies: false };
            writer.ask(|reply| Op::Lease { request, reply })
        };
        let drained = self.pipeline(lease(0, due_ms()), &lease, &due_ms);
        let report = drained.report;
        if drained.leased_any {
            // The last settlement was queued after the last lease: the report
            // goes out once the store shows it.
            let applied = Oneshot::new();
            let done = Arc::clone(&applied);
            let then = Box::new(move |_| done.send(()));
            if self.writer.submit(Op::Barrier { then }).is_ok() {
                applied.wait();
            }
        } else if scope == Scope::Auto && report.status.is_ok() {
            // Nothing is due: no failure left to retry.
            self.pacing.failures = 0;
        }
        let stored = self.writer.stored();
        self.shared.state.lock().stored = stored;
        report
    }

    /// Ends the lease of hits that will not be sent now, unchanged.
    pub(super) fn release(&self, hits: &[StoredHit]) {
        if hits.is_empty() {
            return;
        }
        let settlement = Settlement { release: hits.iter().map(|h| h.id).collect(), ..Settlement::default() };
        let _ = self.writer.submit(Op::Settle { settlement, reply: None });
    }

    /// Holds the sender lock, taking it when it is free (see `SenderRole`).
    fn is_sender(&mut self) -> bool {
        self.sender.claim(&self.writer, &self.reporter)
    }

    /// The settlement of leased rows after a run: each hit's fate, with
    /// failed hits past their age or attempts dropped (counted in `report`).
    pub(super) fn settlement(
        &mut self,
        hits: &[StoredHit],
        fates: Vec<Fate>,
        report: &mut DispatchReport,
    ) -> Settlement {
        let mut s = Settlement::default();
        let retry_at = self.pacing.retry_wall_ms;
        let (now, offset) = (self.clock.now_ms(), self.identity.clock_offset_ms());
        // After a wall-clock jump, ages wait for the collector's clock.
        let max_age = if self.clock_suspect { 0 } else { self.settings.max_hit_age_ms };
        for (h, fate) in hits.iter().zip(fates) {
            let failed = matches!(fate, Fate::Retry | Fate::Deferred | Fate::Offline);
            match fate {
                Fate::Delivered => s.delivered.push(h.id),
                _ if failed && policy::expired(h.created_ms, now, offset, max_age) => {
                    report.dropped += 1;
                    s.dropped.push((h.id, h.message_id.clone(), DropReason::Expired))
                }
                Fate::Retry if policy::exhausted(h.retry_count, self.settings.max_attempts) => {
                    report.dropped += 1;
                    s.dropped.push((h.id, h.message_id.clone(), DropReason::AttemptsExhausted))
                }
                Fate::Retry => s.retry.push((h.id, retry_at)),
                Fate::Deferred => s.deferred.push((h.id, retry_at)),
                Fate::Offline => s.offline.push((h.id, retry_at)),
                Fate::Dropped(reason) => s.dropped.push((h.id, h.message_id.clone(), reason)),
                Fate::Release => s.release.push(h.id),
            }
        }
        s
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// Timer, threshold, retry, network restored: due hits, until a failure.
    Auto,
    /// `at_flush`: due hits stored before the call.
    Flush,
    /// `at_offline_dispatch`: every hit stored before the call, backoff ignored.
    Dispatch,
}
