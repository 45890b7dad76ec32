//! Suspension: while the app is in the background, no connection to the store
//! stays open between two commits, so the process holds no lock on the store's
//! files (iOS terminates a suspended app that holds one in an App Group
//! container: 0xdead10cc).
//!
//! An idle SQLite connection in WAL mode keeps a shared POSIX lock on the
//! database file and one on the `-shm` file (its dead-man switch byte) for as
//! long as it is open; only closing it releases them. So `suspend` closes the
//! checkpoint thread's connection (after the checkpoint in progress) and the
//! write connection (after the commit in progress); every commit while
//! suspended opens the store, commits, and closes it again, so nothing queued
//! or tracked in the background is lost or refused. `resume` opens the write
//! connection again; the checkpoint thread reopens its own when a checkpoint
//! is next due. The tracker's reader follows the same flag
//! (`WriterHandle::suspended`, `Reader::following`).

use std::sync::atomic::{fence, AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use super::thread::configure;
use super::{Op, WriterHandle, WriterState};
use crate::config::LogLevel;
use crate::error::{Error, Result};
use crate::store::classify;

impl WriterHandle {
    /// Closes the store's connections until `resume`: waits for the commit and
    /// the checkpoint in progress, if any. Ops queued or arriving meanwhile are
    /// applied as usual, each group on a connection opened for it and closed
    /// after it. A writer without a resume opener (no file) keeps its
    /// connection.
    pub fn suspend(&self) {
        self.shared.suspended.store(true, SeqCst);
        {
            let mut q = self.shared.queue.lock();
            q.suspended = true;
            self.shared.checkpoints.notify_all();
            while q.ckpt_open && !q.stopped && self.shared.checkpoint_thread.load(SeqCst) {
                self.shared.checkpoints.wait(&mut q);
            }
        }
        let mut state = self.state.lock();
        // A file deleted since the last commit: its rows move now, while the
        // open connection can still read them.
        state.check_file(true);
        state.close_if_suspended();
        drop(state);
        self.hand_over();
    }

    /// Keeps the store's connections open again and opens the write
    /// connection now (on failure, the next commit tries again and reports
    /// the error to its callers).
    pub fn resume(&self) {
        self.shared.suspended.store(false, SeqCst);
        self.shared.queue.lock().suspended = false;
        // A checkpoint that fell due while suspended runs now.
        self.shared.checkpoints.notify_all();
        let mut state = self.state.lock();
        if let Err(e) = state.connect() {
            state.reporter.log(LogLevel::Warn, format!("the store could not be opened again yet: {e}"));
        }
        drop(state);
        self.hand_over();
    }

    /// Waits for the group being applied, if any: while suspended, the write
    /// connection is closed when this returns (a reply is sent inside the
    /// group, before the connection closes at its end).
    pub fn quiesce(&self) {
        self.state.lock().close_if_suspended();
        self.hand_over();
    }

    /// After holding the writer state without applying the queue: a caller
    /// whose `lead` found the state taken meanwhile left its op to the holder,
    /// so the writer thread is woken for it (the holder's side of the
    /// lead/follow handshake, `WriterHandle::lead`).
    fn hand_over(&self) {
        fence(SeqCst);
        if !self.shared.queue.lock().ops.is_empty() {
            self.shared.work.notify_one();
        }
    }

    /// True while suspended; shared with the reader, which closes its
    /// connection after each read while it is set.
    pub fn suspended(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.shared.suspended)
    }
}

impl WriterState {
    /// Applies `ops` (see `apply_now`); while suspended, closes the connection
    /// afterwards.
    pub(super) fn apply(&mut self, ops: Vec<Op>) {
        self.apply_now(ops);
        self.close_if_suspended();
    }

    /// Opens the write connection when it is closed (after a suspension): the
    /// same file, or, when the file at the path was deleted or replaced
    /// meanwhile, the store at its path (created when missing), with a WARN.
    pub(super) fn connect(&mut self) -> Result<()> {
        if self.conn.is_some() {
            return Ok(());
        }
        let resume =
            self.resume.clone().ok_or_else(|| Error::internal("the store's connection is closed"))?;
        let (mut conn, replaced) = match self.watch.as_mut() {
            Some(watch) if !watch.unchanged() => (watch.reopen_replaced()?, true),
            _ => (resume()?, false),
        };
        configure(&mut conn, &self.shared).map_err(|e| classify(e, "configuring checkpoints"))?;
        // Another process may have committed while the store was closed.
        self.data_version = -1;
        self.context_cache = None;
        self.conn = Some(conn);
        if replaced {
            self.shared.generation.fetch_add(1, SeqCst);
            let path = self.watch.as_ref().map(|w| w.path().display().to_string()).unwrap_or_default();
            self.reporter.log(
                LogLevel::Warn,
                format!(
                    "store {path} was deleted or replaced while the tracker had it closed (in the background); \
                     the store at its path is used from now on"
                ),
            );
        }
        Ok(())
    }

    /// Closes the write connection while suspended (never one without a way
    /// to open it again). Closing the last connection to the store checkpoints
    /// the log and removes it; either way no lock is left when it returns.
    pub(super) fn close_if_suspended(&mut self) {
        if self.resume.is_some() && self.shared.suspended.load(SeqCst) {
            self.conn = None;
        }
    }
}
