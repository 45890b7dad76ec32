//! Batched hits whose commit failed (disk full, a locked device): kept in memory
//! in store order, retried in chunks with backoff, dropped (and reported) only by
//! the queue limit, a host delete, or close past its deadline.

use std::time::Instant;

use super::{Op, Reply, WriterState, RETRY_CHUNK, RETRY_FIRST, RETRY_MAX};
use crate::config::{DropReason, LogLevel};
use crate::error::Error;
use crate::hit::NewHit;

impl WriterState {
    /// Commits retained hits in small chunks, oldest first, so a store with a
    /// little space again takes what fits. Waits for the backoff deadline.
    pub(super) fn retry_retained(&mut self) {
        if self.retained.is_empty() || self.retry_at.is_some_and(|at| Instant::now() < at) {
            return;
        }
        while !self.retained.is_empty() {
            let n = self.retained.len().min(RETRY_CHUNK);
            let mut chunk: Vec<Op> = self.retained.drain(..n).collect();
            match self.transact(&mut chunk, 0, false) {
                Ok(results) => self.finish(chunk, results),
                Err(_) => {
                    self.retained.splice(0..0, chunk);
                    self.schedule_retry();
                    return;
                }
            }
        }
        self.retry_delay = RETRY_FIRST;
        self.retry_at = None;
    }

    fn schedule_retry(&mut self) {
        self.retry_at = Some(Instant::now() + self.retry_delay);
        self.retry_delay = (self.retry_delay * 2).min(RETRY_MAX);
    }

    /// Removes retained hits the host deleted (or purged, `reason`); returns how many.
    pub(super) fn drop_retained(&mut self, reason: DropReason, doomed: impl Fn(&NewHit) -> bool) -> u64 {
        let (gone, kept): (Vec<Op>, Vec<Op>) = std::mem::take(&mut self.retained)
            .into_iter()
            .partition(|o| matches!(o, Op::Insert { hit, .. } if doomed(hit)));
        self.retained = kept;
        let n = gone.len() as u64;
        self.report_lost(gone, reason, None);
        n
    }

    /// Inserts that could not be committed: a batched hit (its caller already has
    /// `AT_OK`) is retained and retried, within the queue limit; the waiting
    /// callers are returned, to be told the hit was not stored.
    pub(super) fn retain(&mut self, inserts: Vec<Op>, e: &Error) -> Vec<Reply<()>> {
        let mut waiting = Vec::new();
        for op in inserts {
            match op {
                Op::Insert { wait: Some(w), .. } => waiting.push(w),
                other => self.retained.push(other),
            }
        }
        if self.retained.len() as u64 > self.limits.max_hits {
            let excess = self.retained.len() - self.limits.max_hits as usize;
            let gone: Vec<Op> = self.retained.drain(..excess).collect();
            self.report_lost(gone, DropReason::Overflow, Some(e));
        }
        if !self.retained.is_empty() && self.retry_at.is_none() {
            self.schedule_retry();
        }
        waiting
    }

    /// At close, after the deadline: hits still uncommitted are lost; report them.
    pub(super) fn abandon_retained(&mut self) {
        let gone = std::mem::take(&mut self.retained);
        self.reporter.log(
            LogLevel::Error,
            format!("closing: {} accepted hit(s) could not be committed and are lost", gone.len()),
        );
        let e = Error::storage("the tracker closed before the hit could be committed");
        self.report_lost(gone, DropReason::StorageFailed, Some(&e));
        self.publish(0);
    }

    fn report_lost(&self, gone: Vec<Op>, reason: DropReason, e: Option<&Error>) {
        let mut ids = Vec::with_capacity(gone.len());
        for op in gone {
            if let Op::Insert { hit, done, .. } = op {
                ids.push(hit.message_id);
                if let Some(done) = done {
                    match e {
                        Some(e) => done.complete(Err(e.clone())),
                        None => done.complete(Err(Error::cancelled())),
                    }
                }
            }
        }
        self.reporter.dropped(reason, ids);
    }
}
