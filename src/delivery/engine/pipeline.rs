//! The drain's pipeline: leased batches go out as requests, the next one
//! started while the previous one is on the wire (at most `LANES` in flight,
//! on a transport with lanes; one at a time on a host's transport), and are
//! settled in lease order.
//!
//! A drain starts with one request in flight and opens the second lane only
//! after a 2xx, so a probe after a failure goes alone. Any other answer closes
//! it again: a refused batch (400/413) is bisected one request at a time, as
//! a lone sender would, and a failure that stops the run starts nothing more.
//! A request already in flight when another failed still ends and counts: a
//! 2xx delivers its hits, a failure gives them its own fate (an attempt, or
//! none), never a loss. Steps not started are released unchanged, and a batch
//! leased ahead is released. Delivery stays at least once: the collector
//! deduplicates by `messageId`.

use std::collections::VecDeque;

use crate::delivery::policy::{self, Verdict};
use crate::delivery::send::{self, Plan, Run, Step};
use crate::delivery::transport::{Outcome, LANES};
use crate::delivery::DispatchReport;
use crate::error::{Error, Result};
use crate::hit::StoredHit;
use crate::store::ops::Reply;
use crate::store::writer::Op;

use super::Engine;

/// A leased batch on its way: its run so far and the steps not yet started.
struct Leased {
    hits: Vec<StoredHit>,
    run: Run,
    plan: Plan,
    /// Its requests in flight.
    in_flight: usize,
}

impl Leased {
    /// Nothing of it is in flight and nothing more will start.
    fn finished(&self, stopped: bool) -> bool {
        self.in_flight == 0 && (stopped || self.run.stop.is_some() || self.plan.steps.is_empty())
    }
}

/// A request in flight: its tag, its batch (by lease number) and its step.
struct Flying {
    tag: u64,
    lease: u64,
    step: Step,
}

/// Asks the writer for the next batch after an id, due by a time.
pub(super) type LeaseFn<'a> = dyn Fn(u64, Option<i64>) -> Result<Reply<Vec<StoredHit>>> + 'a;

/// What a drain through the pipeline came to.
pub(super) struct Drained {
    pub(super) report: DispatchReport,
    /// Some batch was leased (its settlement was queued).
    pub(super) leased_any: bool,
}

impl Engine {
    /// Sends leased batches until none is left or a failure stops the run;
    /// `first` is the first batch's lease, already asked for.
    pub(super) fn pipeline(
        &mut self,
        first: Result<Reply<Vec<StoredHit>>>,
        lease: &LeaseFn<'_>,
        due_ms: &dyn Fn() -> Option<i64>,
    ) -> Drained {
        let lanes = if self.transport.lanes().is_some() { LANES } else { 1 };
        let mut open = 1;
        let mut queue: VecDeque<Leased> = VecDeque::new();
        // The lease number of `queue[0]`.
        let mut base = 0u64;
        let mut next = Some(first);
        let mut flying: Vec<Flying> = Vec::new();
        // Outcomes of a transport without lanes (sent as they started).
        let mut ready: VecDeque<(u64, Outcome)> = VecDeque::new();
        let (mut tag, mut stopped, mut paced) = (0u64, false, true);
        let mut out = Drained { report: DispatchReport::default(), leased_any: false };
        loop {
            while !stopped && flying.len() < open {
                let at = match queue.iter().position(|l| l.run.stop.is_none() && !l.plan.steps.is_empty()) {
                    Some(at) => at,
                    // A batch that hangs holds back the settlement of the
                    // ones after it: at most `lanes` leases wait, so memory
                    // stays bounded whatever the server does.
                    None if queue.len() >= lanes => break,
                    None => {
                        let Some(asked) = next.take() else { break };
                        let hits = match asked.and_then(|reply| reply.wait()) {
                            Ok(hits) => hits,
                            Err(e) => {
                                fail(&mut out.report, e);
                                stopped = true;
                                break;
                            }
                        };
                        if hits.is_empty() {
                            break;
                        }
                        if self.shared.abort.is_set() {
                            self.release(&hits);
                            fail(&mut out.report, Error::cancelled());
                            stopped = true;
                            break;
                        }
                        out.leased_any = true;
                        // The next batch is leased while this one is on the
                        // wire, from past its last id: the run goes on only
                        // while every hit before was delivered or dropped.
                        next = Some(lease(hits.last().map_or(0, |h| h.id), due_ms()));
                        let (run, plan) = self.with_context(|ctx, _| send::plan(ctx, &hits));
                        queue.push_back(Leased { hits, run, plan, in_flight: 0 });
                        queue.len() - 1
                    }
                };
                let l = &mut queue[at];
                let Some(step) = l.plan.steps.pop_front() else { continue };
                l.in_flight += 1;
                tag += 1;
                self.with_context(|ctx, transport| {
                    let mut body = Vec::new();
                    let request = send::request(ctx, &l.hits, &l.plan, &step, &mut body);
                    match transport.lanes() {
                        Some(lanes) => lanes.start(tag, &request),
                        None => ready.push_back((tag, transport.send(&request))),
                    }
                });
                flying.push(Flying { tag, lease: base + at as u64, step });
            }
            stopped |= !self.settle_finished(&mut queue, &mut base, stopped, &mut paced, &mut out.report);
            let done = match ready.pop_front() {
                Some(done) => Some(done),
                None => self.transport.lanes().and_then(|lanes| lanes.finish()),
            };
            let Some((done_tag, outcome)) = done else { break };
            let Some(i) = flying.iter().position(|f| f.tag == done_tag) else { continue };
            let f = flying.swap_remove(i);
            let l = &mut queue[(f.lease - base) as usize];
            l.in_flight -= 1;
            open = if delivered(&outcome) { lanes } else { 1 };
            let bisect = self.with_context(|ctx, _| send::conclude(outcome, &f.step, &mut l.run, ctx));
            if let Some([left, right]) = bisect {
                l.plan.steps.push_front(right);
                l.plan.steps.push_front(left);
            }
            stopped |= l.run.stop.is_some();
            stopped |= !self.settle_finished(&mut queue, &mut base, stopped, &mut paced, &mut out.report);
        }
        debug_assert!(flying.is_empty() && queue.is_empty());
        // A batch leased ahead and not sent: back to pending, unchanged.
        if let Some(Ok(asked)) = next {
            if let Ok(hits) = asked.wait() {
                self.release(&hits);
            }
        }
        out
    }

    /// Settles, in lease order, the batches at the front that are done; false
    /// when the writer refused a settlement (the drain stops).
    fn settle_finished(
        &mut self,
        queue: &mut VecDeque<Leased>,
        base: &mut u64,
        stopped: bool,
        paced: &mut bool,
        report: &mut DispatchReport,
    ) -> bool {
        let mut ok = true;
        while queue.front().is_some_and(|l| l.finished(stopped)) {
            let Some(l) = queue.pop_front() else { break };
            *base += 1;
            let (fates, mut part, stop) = self.conclude_run(l.run, &l.hits, *paced);
            *paced &= !stop;
            let settlement = self.settlement(&l.hits, fates, &mut part);
            report.merge(&part);
            // The writer applies it in order with the leases (one queue).
            if let Err(e) = self.writer.submit(Op::Settle { settlement, reply: None }) {
                fail(report, e);
                ok = false;
            }
        }
        ok
    }
}

/// A 2xx from the collector itself (not a portal's page).
fn delivered(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Answered { status, content_type, .. }
        if policy::verdict(*status) == Verdict::Delivered && !policy::is_portal_page(content_type.as_deref()))
}

fn fail(report: &mut DispatchReport, e: Error) {
    if report.status.is_ok() {
        report.status = Err(e);
    }
}
