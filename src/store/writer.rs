//! The writer thread: the only code that changes the store.
//!
//! Callers queue operations; the writer takes everything queued at once and applies
//! it in one transaction (group commit), then completes each caller. It enforces
//! the queue limits inside that transaction, so a full queue never holds more than
//! its limits after a commit. It never touches the network and never runs host
//! code (completions go to the callback thread).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rusqlite::Connection;

use crate::config::LogLevel;
use crate::error::{Error, Result};
use crate::hit::StoredHit;
use crate::runtime::Reporter;
use crate::store::check::LogLength;
use crate::store::classify;
use crate::store::ops::Leases;
pub use crate::store::ops::{Op, Reply, Settlement};

mod finish;
mod handle;
mod retained;
mod suspend;
mod transact;
mod thread;
mod totals;
mod vanish;
use crate::store::queue::QueueRow;
pub use handle::WriterHandle;
use thread::{configure, run, Checkpointer};
use totals::refresh_row;

/// Batched inserts are committed at the latest when this many are queued.
const GROUP_TARGET: usize = 1024;
/// The queue's bound: batched callers wait for room beyond this many ops
/// (about 4 MiB of 300-byte events). Long before it they are paced
/// (`PACE_FROM`), so what lies between is room for the store's pauses.
const QUEUE_BOUND: usize = 5 * 1024;
/// A batched caller waits for room at least this long when the commit window
/// is shorter (see `push`).
const MIN_ROOM_WAIT: Duration = Duration::from_millis(1);
/// A transaction takes queued inserts while it runs until it holds this many
/// ops: its commit writes about fifty log frames (well under a millisecond).
const GROUP_ROWS: usize = 256;
/// Inserts taken into a running transaction at a time.
const PULL_CHUNK: usize = 32;
/// Batched callers are paced once this many ops are queued: each takes its
/// turn at the store's recent pace, a little slower (`PACE_SLOWER`), so that a
/// caller faster than the store waits a few microseconds on every call, and
/// the queue keeps room for the store's pauses (a commit, a checkpoint
/// between commits) instead of filling and stalling the caller for a whole
/// pause.
const PACE_FROM: usize = 512;
/// Paced callers go at this fraction of the store's pace (in time per op).
const PACE_SLOWER: f64 = 1.15;
/// A paced caller may run this far ahead of its turns before it waits (jitter
/// in its own calls is not paced).
const PACE_AHEAD: Duration = Duration::from_micros(2);
/// A paced caller waits for its turn awake (spinning) when the turn is at
/// most this far off; a longer wait sleeps until this far from the turn, and
/// while another paced caller spins, the others sleep (a core each for
/// spinners would starve the store). Sleeping for a few microseconds at a
/// time costs more than it waits: a sleeping thread is woken late (a
/// scheduler slice; on a virtual machine, a parked virtual CPU), which is the
/// millisecond stall pacing exists to avoid.
const PACE_AWAKE: Duration = Duration::from_micros(200);
/// Turns not taken while the queue was short are not saved up beyond this.
const PACE_SLACK: Duration = Duration::from_micros(500);
/// The store's pace is averaged over about this many ops (pauses included).
const PACE_WINDOW_OPS: f64 = 4096.0;
/// Retry delays for batched hits whose commit failed (disk full, device locked).
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(8);
/// Retained hits are retried this many per transaction.
const RETRY_CHUNK: usize = 64;
/// The write-ahead log is checkpointed once it holds this many pages (SQLite's
/// automatic checkpoint, which would run inside the commit of whichever thread
/// commits, is off), by a thread of its own on a connection of its own, while
/// commits go on.
const CHECKPOINT_PAGES: i32 = 256;
/// A log this long (commits outran the concurrent checkpoints, which cannot
/// let the log start over while commits go on) is checkpointed between two
/// commits instead: the next commit then writes from the log's start. With
/// groups of at most `GROUP_ROWS` inserts (about a hundred frames) the log
/// stays under `WAL_LIMIT_BYTES`.
const CHECKPOINT_HARD_PAGES: i32 = 640;
/// `journal_size_limit`: a log file larger than this is truncated to it when
/// the log starts over.
const WAL_LIMIT_BYTES: i64 = 4 * 1024 * 1024;
/// The writer connection's page cache (SQLite's default is 2000 KiB).
const WRITER_CACHE_KIB: u32 = 1024;
/// Groups a caller in `call` commits before it leaves the rest to the writer
/// thread (its own op is in the first).
const LEAD_ROUNDS: usize = 4;
/// With `synchronous = FULL`, a caller about to lead a commit while other
/// callers are in `call` waits up to this long (yielding) for their ops to be
/// queued, so one `fdatasync` (~150 µs and ~70 µs of CPU on the benchmark
/// machine) carries them all. Eight threads with FULL: +4 %, +24 %, +23 %
/// events/s in three interleaved rounds (BENCHMARKS.md). Not with `NORMAL`,
/// whose commit is shorter than the wait (it cost eight threads 28–30 %).
const GATHER_FULL: Duration = Duration::from_micros(30);

struct Queue {
    ops: VecDeque<Op>,
    first_at: Option<Instant>,
    urgent: bool,
    closing: Option<Instant>,
    stopped: bool,
    /// When hits wait in memory for a failing store: the time of their next
    /// retry (the writer's own schedule, mirrored here for the thread loop).
    retry_at: Option<Instant>,
    /// Inserts queued since start, and those the writer has finished with.
    accepted: u64,
    settled: u64,
    /// Ops the writer has taken off the queue since start: a batched caller
    /// waiting for room tells a store that goes on taking (it waits on) from
    /// one that stalled (it is refused).
    taken: u64,
    /// The longest the log was (pages) since the last checkpoint began, once it
    /// passed `CHECKPOINT_PAGES`; 0 when no checkpoint is due.
    checkpoint: i32,
    /// The log's length (pages) when the last checkpoint was claimed: the next
    /// passive one is due only once the log has grown `CHECKPOINT_PAGES`
    /// beyond it (a checkpoint that commits outran cannot let the log start
    /// over, and one per commit would only add syncs); 0 once it started over.
    checkpoint_from: i32,
    /// The store is suspended (the app is in the background): no connection
    /// stays open between two commits (`suspend`).
    suspended: bool,
    /// The checkpoint thread may have a connection open; it clears this once
    /// it closed it for a suspension.
    ckpt_open: bool,
    /// The checkpoint thread is checkpointing.
    ckpt_running: bool,
    /// The store's recent time per op taken while ops kept waiting (an
    /// average over `PACE_WINDOW_OPS`, its pauses included), in ns; 0 until
    /// measured. The last take's time, and the next paced caller's turn.
    ns_per_op: f64,
    last_take: Option<Instant>,
    next_turn: Option<Instant>,
}

impl Queue {
    /// Accounts `took` ops taken now, the queue's length before the take
    /// being `backlog`: while ops kept waiting, the time since the last take
    /// is the store's time for them.
    fn took(&mut self, took: usize, backlog: usize) {
        let now = Instant::now();
        if let Some(last) = self.last_take.replace(now) {
            if backlog >= PACE_FROM && took > 0 {
                let sample = now.duration_since(last).as_nanos() as f64 / took as f64;
                let weight = (took as f64 / PACE_WINDOW_OPS).min(1.0);
                self.ns_per_op += (sample - self.ns_per_op) * weight;
            }
        }
        self.taken += took as u64;
    }

    /// A paced caller's turn (the queue holds `PACE_FROM` ops or more): when
    /// it may queue its op (now, or later).
    fn turn(&mut self, now: Instant) -> Instant {
        if self.ns_per_op <= 0.0 {
            return now;
        }
        // Slower the longer the queue: from `PACE_SLOWER` at `PACE_FROM` to
        // four times that at the bound, so the queue settles well below it.
        let fill = (self.ops.len() - PACE_FROM) as f64 / (QUEUE_BOUND - PACE_FROM) as f64;
        let step = Duration::from_nanos((self.ns_per_op * PACE_SLOWER * (1.0 + 3.0 * fill)) as u64);
        let earliest = now.checked_sub(PACE_SLACK).unwrap_or(now);
        let turn = self.next_turn.map_or(now, |t| t.max(earliest));
        self.next_turn = Some(turn + step);
        turn
    }

    /// Whether a batched caller waits for room.
    fn full(&self) -> bool {
        self.ops.len() >= QUEUE_BOUND
    }
}

struct Shared {
    /// Bumped each time the writer moves to a recreated store file (see
    /// `vanish`): the checkpoint thread and the tracker's reader reopen then.
    generation: Arc<AtomicU64>,
    /// Mirrors `Queue::suspended` for the tracker's reader (`Reader::following`).
    suspended: Arc<AtomicBool>,
    queue: Mutex<Queue>,
    work: Condvar,
    /// The checkpoint thread waits on it.
    checkpoints: Condvar,
    /// Threads in `call`.
    callers: AtomicUsize,
    /// How long a leading caller waits for the other callers' ops
    /// (`GATHER_FULL` when every commit syncs, else zero).
    gather: Duration,
    /// Whether the checkpoint thread runs (else the writer thread checkpoints).
    checkpoint_thread: AtomicBool,
    /// A paced caller is waiting for its turn awake (`WriterHandle::wait_turn`).
    pace_spinner: AtomicBool,
    space: Condvar,
    settled: Condvar,
    window: Duration,
    batched: bool,
    stored: AtomicU64,
    stored_bytes: AtomicU64,
    retained: AtomicU64,
    /// The longest a caller was held back in `push` (paced, or waiting for
    /// room), in ns.
    longest_wait_ns: AtomicU64,
    /// The write-ahead log's high-water mark since start, in bytes (its frames
    /// as the commit hook saw them, times the frame size).
    wal_peak_bytes: AtomicU64,
    /// The log's length in pages after the last commit.
    log_length: LogLength,
}

impl Shared {
    /// From the commit hook, on whichever thread committed.
    fn checkpoint_due(&self, pages: i32) {
        let mut q = self.queue.lock();
        if pages < q.checkpoint_from {
            // The log started over since the last checkpoint.
            q.checkpoint_from = 0;
        }
        if pages < CHECKPOINT_HARD_PAGES && pages < q.checkpoint_from + CHECKPOINT_PAGES {
            return;
        }
        let was = q.checkpoint;
        q.checkpoint = q.checkpoint.max(pages);
        drop(q);
        if pages >= CHECKPOINT_HARD_PAGES {
            if was < CHECKPOINT_HARD_PAGES {
                self.work.notify_one();
            }
        } else if was == 0 {
            if self.checkpoint_thread.load(Relaxed) {
                // `suspend` may wait on it too.
                self.checkpoints.notify_all();
            } else {
                self.work.notify_one();
            }
        }
    }

    /// Takes everything queued. Only the holder of the writer state calls it, so
    /// groups are applied in queue order.
    ///
    /// Batched, it takes the first `PULL_CHUNK` ops only (the transaction takes
    /// the inserts behind them as it goes, `take_inserts`), so that callers
    /// waiting for room get it at once and the queue's other ops keep their
    /// order behind the group.
    fn take(&self) -> Vec<Op> {
        let mut q = self.queue.lock();
        let n = if self.batched { q.ops.len().min(PULL_CHUNK) } else { q.ops.len() };
        // Drained, not swapped: the queue keeps its buffer, so a caller's push
        // never waits on its growth.
        let backlog = q.ops.len();
        let ops: Vec<Op> = q.ops.drain(..n).collect();
        q.took(n, backlog);
        if q.ops.is_empty() {
            // (Else an urgent op may still be queued: the flag stays.)
            q.urgent = false;
            q.first_at = None;
        }
        drop(q);
        self.space.notify_all();
        ops
    }

    /// Waits until the checkpoint thread is not checkpointing (at most a
    /// second: a checkpoint that stays stuck is left to the next time).
    fn wait_for_checkpoint_thread(&self) {
        let give_up = Instant::now() + Duration::from_secs(1);
        let mut q = self.queue.lock();
        while q.ckpt_running && !self.checkpoints.wait_until(&mut q, give_up).timed_out() {}
    }

    /// Moves up to `max` inserts from the head of the queue to `ops` (for a
    /// transaction under way, `transact`); stops at any other op, which waits
    /// for the next group in queue order.
    fn take_inserts(&self, ops: &mut Vec<Op>, max: usize) {
        let mut q = self.queue.lock();
        let backlog = q.ops.len();
        let before = ops.len();
        while ops.len() - before < max && matches!(q.ops.front(), Some(Op::Insert { .. })) {
            ops.extend(q.ops.pop_front());
        }
        if ops.len() == before {
            return;
        }
        q.took(ops.len() - before, backlog);
        if q.ops.is_empty() {
            q.first_at = None;
        }
        drop(q);
        self.space.notify_all();
    }
}

/// Called after each commit that stored hits, with the number of stored hits
/// (the delivery engine's threshold trigger). Must not block.
pub type CommitHook = Arc<dyn Fn(u64) + Send + Sync>;

/// How the writer runs.
pub struct WriterSettings {
    pub limits: Limits,
    /// How long batched inserts gather before a commit.
    pub window: Duration,
    pub batched: bool,
    /// The URL leased events report as theirs.
    pub batch_url: String,
    pub on_commit: Option<CommitHook>,
    /// Opens (creating it if needed) the store at its path again: used when the
    /// file the writer has open was deleted or replaced. `None`: not watched.
    pub reopen: Option<Reopen>,
    /// Opens the existing store file again after a suspension (`suspend`).
    /// `None`: the connection is never closed (a store without a file).
    pub resume: Option<Reopen>,
    /// Set to the log's length at each commit (`check::BackgroundCheck` watches it).
    pub log_length: LogLength,
}

/// Opens the store at its configured path, creating it when missing.
pub type Reopen = Arc<dyn Fn() -> Result<Connection> + Send + Sync>;

/// Starts the writer thread on `conn`.
pub struct Writer;

impl Writer {
    pub fn start(conn: Connection, reporter: Reporter, settings: WriterSettings) -> Result<WriterHandle> {
        let WriterSettings { limits, window, batched, batch_url, on_commit, reopen, resume, log_length } =
            settings;
        // Every commit syncs the log (FULL = 2, EXTRA = 3): worth gathering callers for.
        let syncs: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .map_err(|e| classify(e, "reading the synchronous setting"))?;
        let shared = Arc::new(Shared {
            generation: Arc::new(AtomicU64::new(0)),
            suspended: Arc::new(AtomicBool::new(false)),
            queue: Mutex::new(Queue {
                // Its largest (the pages are only touched as it fills).
                ops: VecDeque::with_capacity(QUEUE_BOUND + PULL_CHUNK),
                first_at: None,
                urgent: false,
                closing: None,
                stopped: false,
                accepted: 0,
                taken: 0,
                settled: 0,
                retry_at: None,
                checkpoint: 0,
                checkpoint_from: 0,
                ns_per_op: 0.0,
                last_take: None,
                next_turn: None,
                ckpt_running: false,
                suspended: false,
                ckpt_open: false,
            }),
            work: Condvar::new(),
            checkpoints: Condvar::new(),
            checkpoint_thread: AtomicBool::new(false),
            pace_spinner: AtomicBool::new(false),
            callers: AtomicUsize::new(0),
            gather: if syncs >= 2 { GATHER_FULL } else { Duration::ZERO },
            space: Condvar::new(),
            settled: Condvar::new(),
            window,
            batched,
            stored: AtomicU64::new(0),
            stored_bytes: AtomicU64::new(0),
            retained: AtomicU64::new(0),
            longest_wait_ns: AtomicU64::new(0),
            wal_peak_bytes: AtomicU64::new(0),
            log_length,
        });
        let mut conn = conn;
        configure(&mut conn, &shared).map_err(|e| classify(e, "configuring checkpoints"))?;
        let watch = reopen.and_then(|reopen| vanish::Watch::new(&conn, reopen));
        let mut state = WriterState {
            watch,
            disowned: Default::default(),
            conn: Some(conn),
            resume,
            shared: Arc::clone(&shared),
            reporter,
            limits,
            batch_url,
            on_commit,
            row: QueueRow::default(),
            data_version: -1,
            context_cache: None,
            verified: false,
            leased: Leases::new(),
            retained: Vec::new(),
            retry_at: None,
            retry_delay: RETRY_FIRST,
            drop_report: None,
        };
        state.refresh_totals().map_err(|e| classify(e, "counting stored hits"))?;
        let state = Arc::new(Mutex::new(state));
        let checkpointer = Checkpointer::start(&shared, &state.lock());
        let thread = std::thread::Builder::new()
            .name("attracker-writer".into())
            .spawn({
                let (shared, state) = (Arc::clone(&shared), Arc::clone(&state));
                move || run(&shared, &state, checkpointer)
            })
            .map_err(|e| Error::internal(format!("cannot start the writer thread: {e}")))?;
        Ok(WriterHandle { shared, state, thread: Mutex::new(Some(thread)) })
    }
}

/// The queue limits the writer enforces, and whether what they drop (and any
/// other drop of a stored hit) is reported to the collector (`drop_report`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_hits: u64,
    pub max_bytes: u64,
    pub report_drops: bool,
}

struct WriterState {
    /// The write connection; `None` only while suspended, between two commits.
    conn: Option<Connection>,
    /// Opens the store file again after a suspension.
    resume: Option<Reopen>,
    /// The store file this writer has open, watched for deletion.
    watch: Option<vanish::Watch>,
    /// Ids leased in a store file that vanished whose rows got other ids in the
    /// new one: settlements for them are ignored (those rows are sent again).
    disowned: std::collections::HashSet<u64>,
    shared: Arc<Shared>,
    reporter: Reporter,
    limits: Limits,
    batch_url: String,
    on_commit: Option<CommitHook>,
    /// The queue row as this writer last read or wrote it.
    row: QueueRow,
    data_version: i64,
    /// The event context stored last (see `ops::ContextCache`).
    context_cache: crate::store::ops::ContextCache,
    /// The totals were compared with a real count since the queue row was last
    /// read from the store (they are exact from then on: this writer keeps them).
    verified: bool,
    /// Rows leased to a sender and not yet settled (see `ops::lease`).
    leased: Leases,
    /// Batched hits (`Op::Insert`) whose commit failed, oldest first, retried
    /// with backoff.
    retained: Vec<Op>,
    retry_at: Option<Instant>,
    retry_delay: Duration,
    /// The drop report this writer queued and has not seen leased (`drop_report`).
    drop_report: Option<u64>,
}

/// What one op produced inside a transaction.
#[derive(Clone)]
enum Done {
    Count(u64),
    Leased(Vec<StoredHit>),
}

impl WriterState {
    /// `apply` without the suspension's reconnect and close (`suspend.rs`).
    fn apply_now(&mut self, ops: Vec<Op>) {
        let retry_due = !self.retained.is_empty() && self.retry_at.is_none_or(|at| Instant::now() >= at);
        if ops.is_empty() && !retry_due {
            // Woken for work a leading caller already did.
            return;
        }
        let count_inserts = |ops: &[Op]| ops.iter().filter(|o| matches!(o, Op::Insert { .. })).count() as u64;
        let mut ops = ops;
        self.check_file(false);
        self.retry_retained();
        let failure = if self.retained.is_empty() {
            // Batched inserts queued while this group commits join it.
            let (pull, settles) = (self.shared.batched, count_inserts(&ops));
            let done = self.transact(&mut ops, settles, pull);
            match done {
                Ok(results) => {
                    self.finish(ops, results);
                    return;
                }
                Err(e) => e,
            }
        } else {
            // Still failing: keep store order, new hits queue behind the retained.
            Error::storage("the store is failing; earlier hits wait to be committed")
        };
        // The inserts failed; the other operations (deletes free space) get their
        // own chance.
        let new_inserts = count_inserts(&ops);
        let (inserts, others): (Vec<Op>, Vec<Op>) =
            ops.into_iter().partition(|o| matches!(o, Op::Insert { .. }));
        let waiting = self.retain(inserts, &failure);
        self.publish(new_inserts);
        for w in waiting {
            w.send(Err(failure.clone()));
        }
        self.apply_alone(others);
        if !self.retained.is_empty() {
            self.reporter.log(
                LogLevel::Warn,
                format!("{} accepted hit(s) wait in memory: {failure}; retrying", self.retained.len()),
            );
        }
    }

    fn apply_alone(&mut self, mut ops: Vec<Op>) {
        if ops.is_empty() {
            return;
        }
        let results = self.transact(&mut ops, 0, false).unwrap_or_else(|e| vec![Err(e); ops.len()]);
        self.finish(ops, results);
    }

    /// Applies `ops` in order in one immediate transaction, then enforces the
    /// limits. On success returns one result per op.
    /// `settles` is how many of `ops` are inserts new to the writer (not retries):
    /// they count as settled from the commit on.
    fn refresh_totals(&mut self) -> rusqlite::Result<()> {
        let Some(conn) = &self.conn else { return Ok(()) };
        refresh_row(conn, &mut self.data_version, &mut self.row, &mut self.verified, &self.reporter)?;
        self.publish(0);
        Ok(())
    }

    /// Makes the queue figures visible, in one step with the inserts that just
    /// settled, before any caller hears of the commit.
    fn publish(&self, settled: u64) {
        let mut q = self.shared.queue.lock();
        q.settled += settled;
        q.retry_at =
            if self.retained.is_empty() { None } else { Some(self.retry_at.unwrap_or_else(Instant::now)) };
        self.shared.retained.store(self.retained.len() as u64, Relaxed);
        self.shared.stored.store(self.row.hits, Relaxed);
        self.shared.stored_bytes.store(self.row.bytes, Relaxed);
        drop(q);
        if settled > 0 {
            self.shared.settled.notify_all();
        }
    }
}
