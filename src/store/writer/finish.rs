//! Answering the ops of a group once their transaction is done.

use super::{Done, Op, WriterState};
use crate::config::DropReason;
use crate::error::{Error, Result};

impl WriterState {
    /// Answers every op of a group with its result. Deletes also apply to hits
    /// waiting in memory, which were accepted before them.
    pub(super) fn finish(&mut self, ops: Vec<Op>, results: Vec<Result<Done>>) {
        for (op, r) in ops.into_iter().zip(results) {
            let count = |r: Result<Done>| {
                r.map(|d| match d {
                    Done::Count(n) => n,
                    Done::Leased(_) => 0,
                })
            };
            match op {
                Op::Insert { done, wait, .. } => {
                    if let Some(w) = wait {
                        w.send(r.map(|_| ()));
                    } else if let (Some(done), Ok(_)) = (done, r) {
                        done.complete(Ok(()));
                    }
                }
                Op::DeleteAll { reason, reply } => {
                    reply.send(count(r).map(|n| n + self.drop_retained(reason, |_| true)))
                }
                Op::DeleteOlderThan { before_ms, reply } => reply.send(
                    count(r)
                        .map(|n| n + self.drop_retained(DropReason::Deleted, |h| h.created_ms < before_ms)),
                ),
                Op::DeleteUndecodable { .. } => {}
                Op::Lease { reply, .. } => reply.send(r.map(|d| match d {
                    Done::Leased(hits) => hits,
                    Done::Count(_) => Vec::new(),
                })),
                Op::Settle { reply, .. } => {
                    if let Some(reply) = reply {
                        reply.send(r.map(|_| ()));
                    }
                }
                Op::RecoverInFlight { reply } | Op::MaxId { reply } => reply.send(count(r)),
                Op::PutMeta { reply, .. } => {
                    if let Some(reply) = reply {
                        reply.send(count(r));
                    }
                }
                Op::Barrier { then } => then(if self.retained.is_empty() {
                    Ok(())
                } else {
                    Err(Error::storage(format!(
                        "{} accepted hit(s) are not committed yet: the store is failing",
                        self.retained.len()
                    )))
                }),
            }
        }
    }
}
