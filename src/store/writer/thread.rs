//! The writer thread's loop (waiting for work: group windows, retries of
//! retained hits, close), and the checkpoint thread beside it.
//!
//! Checkpoints copy the log into the database on a connection and thread of
//! their own while commits go on, so neither a caller's commit nor the sender's
//! next lease waits for one. Only a log that outgrew them (`CHECKPOINT_HARD_PAGES`)
//! is checkpointed by the writer thread between two commits, which lets SQLite
//! start the log over.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use parking_lot::{Mutex, MutexGuard};
use rusqlite::Connection;

use super::{
    Queue, Shared, WriterState, CHECKPOINT_HARD_PAGES, CHECKPOINT_PAGES, GROUP_TARGET, WAL_LIMIT_BYTES,
    WRITER_CACHE_KIB,
};
use crate::config::LogLevel;
use crate::runtime::Reporter;

/// The checkpoint thread; joined on drop, once the writer has stopped.
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread with a second connection to the store. Without one
    /// (an in-memory store, or no thread to be had) the writer thread
    /// checkpoints between commits instead.
    pub(super) fn start(shared: &Arc<Shared>, state: &WriterState) -> Checkpointer {
        let path = state.conn.as_ref().and_then(|c| c.path()).filter(|p| !p.is_empty()).map(str::to_owned);
        let thread = path.and_then(|path| {
            let conn = checkpoint_connection(&path)?;
            shared.queue.lock().ckpt_open = true;
            let (shared, reporter) = (Arc::clone(shared), state.reporter.clone());
            std::thread::Builder::new()
                .name("attracker-ckpt".into())
                .spawn(move || checkpoints(&shared, conn, &path, &reporter))
                .ok()
        });
        shared.checkpoint_thread.store(thread.is_some(), Relaxed);
        shared.queue.lock().ckpt_open = thread.is_some();
        Checkpointer { shared: Arc::clone(shared), thread }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.shared.queue.lock().stopped = true;
            self.shared.checkpoints.notify_all();
            let _ = thread.join();
        }
    }
}

/// The checkpoint thread: a passive checkpoint each time the log passes
/// `CHECKPOINT_PAGES`, until the writer stops. It follows the writer to a
/// recreated store file (`vanish`). While the store is suspended it keeps no
/// connection (closed once the checkpoint in progress ends, `ckpt_open`
/// cleared for `WriterHandle::suspend`) and runs no checkpoint; it opens one
/// again at the first checkpoint due after `resume`.
fn checkpoints(shared: &Shared, conn: Connection, path: &str, reporter: &Reporter) {
    let mut conn = Some(conn);
    let mut generation = shared.generation.load(Relaxed);
    loop {
        {
            let mut q = shared.queue.lock();
            let due = |q: &Queue| !q.suspended && (1..CHECKPOINT_HARD_PAGES).contains(&q.checkpoint);
            while !q.stopped && !due(&q) {
                if q.suspended && q.ckpt_open {
                    conn = None;
                    q.ckpt_open = false;
                    shared.checkpoints.notify_all();
                }
                shared.checkpoints.wait(&mut q);
            }
            if q.stopped {
                return;
            }
            q.checkpoint_from = std::mem::take(&mut q.checkpoint);
            // Claimed under the lock: a suspension from now on waits for this
            // checkpoint, and the connection it may open, to end.
            q.ckpt_open = true;
            q.ckpt_running = true;
        }
        let now = shared.generation.load(Relaxed);
        if conn.is_none() || now != generation {
            if let Some(c) = checkpoint_connection(path) {
                conn = Some(c);
                generation = now;
            }
        }
        if let Some(conn) = &conn {
            checkpoint(conn, reporter);
        }
        shared.queue.lock().ckpt_running = false;
        // The writer may wait for it (`Next::Checkpoint`).
        shared.checkpoints.notify_all();
    }
}

/// A second connection to the store for checkpoints; None when it cannot be
/// opened (then checkpoints run between commits).
fn checkpoint_connection(path: &str) -> Option<Connection> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let c = Connection::open_with_flags(path, flags).ok()?;
    c.pragma_update(None, "wal_autocheckpoint", 0).ok()?;
    Some(c)
}

enum Next {
    Work,
    /// The write-ahead log is due for a checkpoint between commits.
    Checkpoint,
    /// Closing, and the deadline for retained hits has passed.
    GiveUp,
    Stop,
}

/// Copies the log into the database. Passive: a failure (a reader in the way, a
/// busy store) leaves it for the next time the log grows.
fn checkpoint(conn: &Connection, reporter: &Reporter) {
    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
    if let Err(e) = done {
        reporter.log(LogLevel::Debug, format!("checkpoint skipped: {e}"));
    }
}

/// The writer thread. `checkpointer` ends with it.
pub(super) fn run(shared: &Shared, state: &Mutex<WriterState>, checkpointer: Checkpointer) {
    loop {
        match next(shared) {
            Next::Work => {
                let mut st = state.lock();
                let ops = shared.take();
                st.apply(ops);
            }
            Next::Checkpoint => {
                let st = state.lock();
                // The checkpoint thread's run would make this one fail (busy)
                // and the log grow on: it ends first.
                shared.wait_for_checkpoint_thread();
                // Suspended and closed: the log waits for the next commit after resume.
                if let Some(conn) = &st.conn {
                    checkpoint(conn, &st.reporter);
                }
            }
            Next::GiveUp => {
                state.lock().abandon_retained();
                break;
            }
            Next::Stop => {
                // A caller may still be applying a group it took before closing
                // began; the state lock waits for it, then the queue is rechecked.
                let mut st = state.lock();
                // A file deleted since the last commit: its rows move now,
                // while the process can still read them.
                st.check_file(true);
                let q = shared.queue.lock();
                if q.ops.is_empty() && q.retry_at.is_none() {
                    break;
                }
            }
        }
    }
    let mut q = shared.queue.lock();
    q.stopped = true;
    drop(q);
    shared.settled.notify_all();
    drop(checkpointer);
}

/// Whether the writer thread is to checkpoint now, between commits: the log
/// outgrew the checkpoint thread, or there is none.
fn checkpoint_here(shared: &Shared, q: &mut MutexGuard<'_, Queue>) -> bool {
    let due = q.checkpoint >= CHECKPOINT_HARD_PAGES
        || (q.checkpoint > 0 && !shared.checkpoint_thread.load(Relaxed));
    if due {
        q.checkpoint_from = std::mem::take(&mut q.checkpoint);
    }
    due
}

/// Waits until there is work for the writer thread.
fn next(shared: &Shared) -> Next {
    let mut q = shared.queue.lock();
    loop {
        let now = Instant::now();
        // A log past the hard mark goes first, even when callers keep the
        // queue full: it starts over only after a checkpoint between commits.
        if q.checkpoint >= CHECKPOINT_HARD_PAGES && checkpoint_here(shared, &mut q) {
            return Next::Checkpoint;
        }
        if !q.ops.is_empty() {
            let go = q.urgent
                || q.closing.is_some()
                || !shared.batched
                || q.ops.len() >= GROUP_TARGET
                || shared.window.is_zero();
            let deadline = q.first_at.unwrap_or(now) + shared.window;
            if go || now >= deadline {
                return Next::Work;
            }
            if checkpoint_here(shared, &mut q) {
                return Next::Checkpoint;
            }
            shared.work.wait_until(&mut q, deadline);
            continue;
        }
        if let Some(retry_at) = q.retry_at {
            if let Some(close_by) = q.closing {
                if now >= close_by {
                    return Next::GiveUp;
                }
            }
            if now >= retry_at {
                return Next::Work;
            }
            let wake = q.closing.map_or(retry_at, |c| c.min(retry_at));
            shared.work.wait_until(&mut q, wake);
            continue;
        }
        if checkpoint_here(shared, &mut q) {
            return Next::Checkpoint;
        }
        if q.closing.is_some() {
            return Next::Stop;
        }
        shared.work.wait(&mut q);
    }
}

/// What the writer's connection needs: no automatic checkpoints (the checkpoint
/// thread runs them), and a hook that tells it when the log has grown.
pub(super) fn configure(conn: &mut Connection, shared: &Arc<Shared>) -> rusqlite::Result<()> {
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // When the log starts over, a file grown past this is cut back to it.
    conn.pragma_update(None, "journal_size_limit", WAL_LIMIT_BYTES)?;
    // Appends touch the rightmost pages of two trees: a small cache holds them
    // (a negative size is KiB).
    conn.pragma_update(None, "cache_size", -(WRITER_CACHE_KIB as i64))?;
    let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    // A log of n frames is a 32-byte header and n frames of a 24-byte header
    // and a page each.
    let frame = page_size.max(512) as u64 + 24;
    let shared = Arc::clone(shared);
    conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
        shared.wal_peak_bytes.fetch_max(32 + pages.max(0) as u64 * frame, Relaxed);
        shared.log_length.set(pages);
        if pages >= CHECKPOINT_PAGES {
            shared.checkpoint_due(pages);
        }
        Ok(())
    }))
}
