//! The callers' side of the writer: queueing an op (paced, or waiting for
//! room, when batched callers outrun the store), waiting for its result
//! (committing it on the calling thread when no commit is running), and
//! closing.

use std::sync::atomic::{fence, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{
    Op, Reply, Shared, WriterState, GROUP_TARGET, LEAD_ROUNDS, MIN_ROOM_WAIT, PACE_AHEAD, PACE_AWAKE,
    PACE_FROM,
};
use crate::error::{Error, Result};

/// The callers' side of the writer. Cheap to share behind an `Arc`.
pub struct WriterHandle {
    pub(super) shared: Arc<Shared>,
    /// Whoever holds it applies queued work: the writer thread, or a caller that
    /// waits for its own op anyway (`lead`).
    pub(super) state: Arc<Mutex<WriterState>>,
    pub(super) thread: Mutex<Option<JoinHandle<()>>>,
}

impl WriterHandle {
    /// Queues `op`. Fails with `Closed` once closing has begun: every op queued
    /// before that is applied.
    pub fn submit(&self, op: Op) -> Result<()> {
        self.push(op, true)
    }

    fn push(&self, op: Op, wake_writer: bool) -> Result<()> {
        let urgent = op.is_urgent();
        let is_insert = matches!(op, Op::Insert { .. });
        let mut q = self.shared.queue.lock();
        if !urgent && is_insert && self.shared.batched && q.ops.len() >= PACE_FROM && q.closing.is_none() {
            // Paced: a caller ahead of its turn waits for it, without the
            // lock, while the queue is long. (A short queue costs the caller
            // no clock read.)
            let now = Instant::now();
            let turn = q.turn(now);
            if turn > now + PACE_AHEAD {
                drop(q);
                self.wait_turn(turn);
                self.shared.longest_wait_ns.fetch_max(now.elapsed().as_nanos() as u64, Relaxed);
                q = self.shared.queue.lock();
            }
        }
        if !urgent && q.full() && q.closing.is_none() {
            // A batched hit waits for room while the store goes on taking
            // queued work (the caller runs at the store's pace); once the store
            // took nothing for a whole commit window it is refused with a status
            // that says so (never an unbounded stall on a stalled store).
            let since = Instant::now();
            let window = self.shared.window.max(MIN_ROOM_WAIT);
            let mut give_up = since + window;
            let mut seen = q.taken;
            let mut refused = false;
            while q.full() && q.closing.is_none() {
                if is_insert {
                    if self.shared.space.wait_until(&mut q, give_up).timed_out() && q.full() {
                        if q.taken == seen {
                            refused = true;
                            break;
                        }
                        // Others took the room the store made: wait on.
                        seen = q.taken;
                        give_up = Instant::now() + window;
                    }
                } else {
                    self.shared.space.wait(&mut q);
                }
            }
            let waited = since.elapsed();
            self.shared.longest_wait_ns.fetch_max(waited.as_nanos() as u64, Relaxed);
            if refused {
                let q_len = q.ops.len();
                drop(q);
                op.disarm();
                return Err(Error::storage(format!(
                    "the hit was not accepted: {} hits wait in memory for the store, which took none of \
                     them in {} ms (it is stalled: a long transaction, a slow or locked disk); nothing \
                     accepted before is affected",
                    q_len,
                    window.as_millis()
                )));
            }
        }
        if q.closing.is_some() {
            drop(q);
            op.disarm();
            return Err(Error::closed());
        }
        let was_empty = q.ops.is_empty();
        q.ops.push_back(op);
        if is_insert {
            q.accepted += 1;
        }
        if was_empty {
            q.first_at = Some(Instant::now());
        }
        q.urgent |= urgent;
        let wake = wake_writer && (urgent || was_empty || q.ops.len() == GROUP_TARGET);
        drop(q);
        if wake {
            self.shared.work.notify_one();
        }
        Ok(())
    }

    /// A paced caller's wait for its turn (see `PACE_AWAKE`): awake for the
    /// last stretch when no other caller spins, else asleep; over at once
    /// when closing begins.
    fn wait_turn(&self, turn: Instant) {
        let spinner = &self.shared.pace_spinner;
        let mut spinning = false;
        loop {
            let now = Instant::now();
            if now >= turn {
                break;
            }
            if turn - now <= PACE_AWAKE
                && (spinning || spinner.compare_exchange(false, true, Relaxed, Relaxed).is_ok())
            {
                spinning = true;
                std::hint::spin_loop();
                continue;
            }
            let mut q = self.shared.queue.lock();
            if q.closing.is_some() {
                break;
            }
            let until = if spinning || turn - now > PACE_AWAKE { turn - PACE_AWAKE } else { turn };
            self.shared.space.wait_until(&mut q, until.max(now));
        }
        if spinning {
            spinner.store(false, Relaxed);
        }
    }

    /// Submits the op built around a reply and waits for that reply.
    ///
    /// The caller commits on its own thread when no commit is running (it waits
    /// for its op anyway, so a hit tracked with durability on return commits
    /// like a plain SQLite insert, with no hand-off). Callers that arrive while
    /// a commit runs queue up and wait; the committing caller then commits all
    /// of them in one transaction (group commit), and after `LEAD_ROUNDS` groups
    /// leaves whatever still waits to the writer thread.
    pub fn call<T: Send + 'static>(&self, op: impl FnOnce(Reply<T>) -> Op) -> Result<T> {
        let reply = crate::runtime::Oneshot::new();
        self.shared.callers.fetch_add(1, Relaxed);
        let result = self.push(op(Arc::clone(&reply)), false).and_then(|()| {
            self.lead();
            reply.wait()
        });
        self.shared.callers.fetch_sub(1, Relaxed);
        result
    }

    /// Applies the queue on the calling thread unless a commit is running. The
    /// queue is checked again after each commit (an op pushed while the lock
    /// was held is taken by this thread or by whoever holds the lock next, which
    /// takes the queue after acquiring it), so no op is left without a taker.
    ///
    /// The two fences make that hold on weakly ordered CPUs (ARM) too: a caller
    /// pushes and then tries the lock; the committer unlocks and then looks at
    /// the queue. With a SeqCst fence between each pair, at least one of them
    /// sees the other's write, so an op is never left behind a failed try.
    fn lead(&self) {
        for _ in 0..LEAD_ROUNDS {
            fence(SeqCst);
            let Some(mut state) = self.state.try_lock() else { return };
            let callers = self.shared.callers.load(Relaxed);
            if callers > 1 {
                // Callers just released by the last commit are about to queue
                // their next op: let them, and commit it in this group (with
                // FULL, waiting a little for all of them: `GATHER_FULL`).
                std::thread::yield_now();
                if !self.shared.gather.is_zero() {
                    let until = Instant::now() + self.shared.gather;
                    while self.shared.queue.lock().ops.len() < callers && Instant::now() < until {
                        std::thread::yield_now();
                    }
                }
            }
            let ops = self.shared.take();
            state.apply(ops);
            drop(state);
            fence(SeqCst);
            if self.shared.queue.lock().ops.is_empty() {
                return;
            }
        }
        self.shared.work.notify_one();
    }

    /// Submits the op built around a reply and returns the reply, to be waited
    /// for later (work for the writer while the caller does its own).
    pub fn ask<T: Send + 'static>(&self, op: impl FnOnce(Reply<T>) -> Op) -> Result<Reply<T>> {
        let reply = crate::runtime::Oneshot::new();
        self.submit(op(Arc::clone(&reply)))?;
        Ok(reply)
    }

    /// Waits until every insert accepted before this call is committed (or known
    /// to have failed), so inspection reads see them. At most one group commit.
    pub fn settle(&self) {
        let mut q = self.shared.queue.lock();
        let target = q.accepted;
        if q.settled >= target {
            return;
        }
        q.urgent = true;
        self.shared.work.notify_one();
        while q.settled < target && !q.stopped {
            self.shared.settled.wait(&mut q);
        }
    }

    /// The longest any caller was held back (paced, or waiting for room).
    pub fn longest_wait(&self) -> Duration {
        Duration::from_nanos(self.shared.longest_wait_ns.load(Relaxed))
    }

    /// The write-ahead log's largest size since start, in bytes.
    pub fn wal_peak_bytes(&self) -> u64 {
        self.shared.wal_peak_bytes.load(Relaxed)
    }

    /// Bumped each time the writer moves to a recreated store file.
    pub fn generation(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.shared.generation)
    }

    /// Hits in the store after the last commit (this process's view).
    pub fn stored(&self) -> u64 {
        self.shared.stored.load(Relaxed)
    }

    /// Hits accepted and not yet delivered or dropped: stored, queued for the
    /// writer, or waiting in memory for a failing store. One consistent reading.
    pub fn queued(&self) -> u64 {
        let q = self.shared.queue.lock();
        self.shared.stored.load(Relaxed) + (q.accepted - q.settled) + self.shared.retained.load(Relaxed)
    }

    /// Stops accepting work, applies everything queued, keeps retrying hits whose
    /// commit failed until `deadline`, then joins the thread.
    pub fn close(&self, deadline: Instant) {
        {
            let mut q = self.shared.queue.lock();
            if q.closing.is_none() {
                q.closing = Some(deadline);
            }
        }
        self.shared.work.notify_all();
        self.shared.space.notify_all();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}
