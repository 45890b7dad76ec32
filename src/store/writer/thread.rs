//! The writer thread's loop: waiting for work (group windows, retries of
//! retained hits, close), and the checkpoints it runs between and beside commits.

use std::time::Instant;

use parking_lot::Mutex;
use rusqlite::Connection;

use super::{Shared, WriterState, CHECKPOINT_HARD_PAGES, GROUP_TARGET};
use crate::config::LogLevel;
use crate::runtime::Reporter;

/// A second connection to the store for checkpoints; None when it cannot be
/// opened (then checkpoints run between commits).
pub(super) fn checkpoint_connection(conn: &Connection) -> Option<Connection> {
    let path = conn.path().filter(|p| !p.is_empty())?;
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let c = Connection::open_with_flags(path, flags).ok()?;
    c.pragma_update(None, "wal_autocheckpoint", 0).ok()?;
    Some(c)
}

enum Next {
    Work,
    /// The write-ahead log is due for a checkpoint; it holds this many pages.
    Checkpoint(i32),
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

/// The writer thread. `checkpointer` is its own connection for checkpoints
/// that run alongside commits.
pub(super) fn run(
    shared: &Shared,
    state: &Mutex<WriterState>,
    checkpointer: Option<Connection>,
    reporter: Reporter,
) {
    loop {
        match next(shared) {
            Next::Work => {
                let mut st = state.lock();
                let ops = shared.take();
                st.apply(ops);
            }
            Next::Checkpoint(pages) => match &checkpointer {
                Some(conn) if pages < CHECKPOINT_HARD_PAGES => checkpoint(conn, &reporter),
                _ => {
                    let st = state.lock();
                    checkpoint(&st.conn, &st.reporter);
                }
            },
            Next::GiveUp => {
                state.lock().abandon_retained();
                break;
            }
            Next::Stop => {
                // A caller may still be applying a group it took before closing
                // began; the state lock waits for it, then the queue is rechecked.
                let _st = state.lock();
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
}

/// Waits until there is work for the writer thread.
fn next(shared: &Shared) -> Next {
    let mut q = shared.queue.lock();
    loop {
        let now = Instant::now();
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
            if q.checkpoint > 0 {
                return Next::Checkpoint(std::mem::take(&mut q.checkpoint));
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
        if q.checkpoint > 0 {
            return Next::Checkpoint(std::mem::take(&mut q.checkpoint));
        }
        if q.closing.is_some() {
            return Next::Stop;
        }
        shared.work.wait(&mut q);
    }
}
