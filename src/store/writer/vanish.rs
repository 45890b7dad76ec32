//! A store file that disappears under the writer (deleted, its directory
//! removed, replaced by another file): SQLite keeps writing to the open,
//! unlinked file, and everything in it would be gone when the process ends.
//!
//! Before a transaction, at most every `CHECK_EVERY` (a stat costs a few
//! microseconds, a tenth of a single-hit commit), and at close, the writer
//! compares the file at the store's path (device and inode) with the one it
//! opened. Rows committed in between are in the open file and move with the
//! rest, so the interval costs nothing but the delay. When they differ it opens the
//! store at its path again (creating the file and its directory, or opening the
//! file that replaced it), copies in every row it can still read through its
//! open connection (with the `meta` entries: visitor id, cached configuration),
//! moves to the new file, and logs a WARN with the counts.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::thread::configure;
use super::{Reopen, WriterState};
use crate::config::LogLevel;
use crate::store::queue;
use crate::store::salvage::{
    carry_sequence, copy_meta, insert_rows, message_ids, read_rows, remap_contexts, Columns, Placement,
};

/// How often the path is compared with the open file, at most.
const CHECK_EVERY: Duration = Duration::from_millis(50);

/// The store file the writer has open, and how to open it again.
pub(super) struct Watch {
    path: PathBuf,
    checked: Instant,
    /// (device, inode) of the file opened.
    id: (u64, u64),
    reopen: Reopen,
    /// The last failure to recreate was logged (once per failure spell).
    warned: bool,
}

fn file_id(path: &Path) -> Option<(u64, u64)> {
    crate::store::platform::file_identity(path)
}

impl Watch {
    /// `None` for a store with no file (in memory).
    pub(super) fn new(conn: &Connection, reopen: Reopen) -> Option<Watch> {
        let path = PathBuf::from(conn.path().filter(|p| !p.is_empty())?);
        let id = file_id(&path)?;
        Some(Watch { path, checked: Instant::now(), id, reopen, warned: false })
    }
}

impl Watch {
    /// The file at the store's path is the one opened last.
    pub(super) fn unchanged(&self) -> bool {
        file_id(&self.path) == Some(self.id)
    }

    /// The store was deleted or replaced while no connection was open (see
    /// `suspend`): opens it at its path again (creating it when missing) and
    /// watches that file from now on. A deleted file's rows are gone with it:
    /// no open connection kept them readable.
    pub(super) fn reopen_replaced(&mut self) -> crate::error::Result<Connection> {
        let conn = (self.reopen)()?;
        self.id = file_id(&self.path).unwrap_or(self.id);
        self.warned = false;
        Ok(conn)
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

/// What moving to a new file carried over.
struct Carried {
    copied: u64,
    present: u64,
    unreadable: u64,
    renumbered: Vec<u64>,
}

impl WriterState {
    /// Moves to a new store file when the one open is no longer at the path:
    /// looked at when `CHECK_EVERY` has passed since the last look, or `now`.
    pub(super) fn check_file(&mut self, now: bool) {
        let Some(watch) = &mut self.watch else { return };
        // Closed (suspended): nothing is open to carry over; `connect` looks
        // at the file before it opens one again.
        if self.conn.is_none() {
            return;
        }
        if !now && watch.checked.elapsed() < CHECK_EVERY {
            return;
        }
        watch.checked = Instant::now();
        if file_id(&watch.path) == Some(watch.id) {
            return;
        }
        let path = watch.path.clone();
        let mut fresh = match (watch.reopen)() {
            Ok(conn) => conn,
            Err(e) => return self.cannot_move(&path, &e.message),
        };
        let span = self.row.leased;
        let Some(old) = &self.conn else { return };
        let carried = match carry_over(old, &fresh, span) {
            Ok(c) => c,
            Err(e) => return self.cannot_move(&path, &e.to_string()),
        };
        if let Err(e) = configure(&mut fresh, &self.shared) {
            return self.cannot_move(&path, &e.to_string());
        }
        for id in carried.renumbered {
            if self.leased.remove(&id).is_some() {
                self.disowned.insert(id);
            }
        }
        // The old connection closes with the unlinked file: nothing of it is
        // needed any more.
        drop(self.conn.replace(fresh));
        if let Some(watch) = &mut self.watch {
            watch.id = file_id(&path).unwrap_or(watch.id);
            watch.warned = false;
        }
        self.data_version = -1;
        self.context_cache = None;
        self.shared.generation.fetch_add(1, SeqCst);
        self.reporter.log(
            LogLevel::Warn,
            format!(
                "store {} was deleted or replaced while open; the store was opened again at its path \
                 and carried over {} hit(s) from the open file ({} already there, {} unreadable)",
                path.display(),
                carried.copied,
                carried.present,
                carried.unreadable
            ),
        );
        let _ = self.refresh_totals();
    }

    /// Keeps writing to the open file, and says why once.
    fn cannot_move(&mut self, path: &Path, why: &str) {
        let Some(watch) = &mut self.watch else { return };
        if std::mem::replace(&mut watch.warned, true) {
            return;
        }
        self.reporter.log(
            LogLevel::Warn,
            format!(
                "store {} was deleted or replaced while open and cannot be recreated now ({why}); \
                 hits go on into the open file and are carried over once it can be",
                path.display()
            ),
        );
    }
}

/// Copies every readable row of `old` into `fresh` (keeping ids that are free
/// there; rows already in it, by message id, are skipped) with the `meta`
/// entries it lacks, then recounts its totals, in one transaction.
fn carry_over(old: &Connection, fresh: &Connection, span: Option<(u64, u64)>) -> rusqlite::Result<Carried> {
    let tx = Transaction::new_unchecked(fresh, TransactionBehavior::Immediate)?;
    let has_rows: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM hits)", [], |r| r.get(0))?;
    let present = if has_rows { message_ids(&tx)? } else { HashSet::new() };
    let cols = Columns::common(old, &tx)?;
    let (mut rows, unreadable) = read_rows(old, &cols);
    remap_contexts(old, &tx, &cols, &mut rows);
    let done = insert_rows(&tx, &cols, &rows, &Placement { keep_ids: true, present: &present });
    copy_meta(old, &tx, &[]);
    // Same store id: its sequence numbers go on where they were.
    carry_sequence(old, &tx)?;
    queue::recount(&tx)?;
    queue::write_span(&tx, span)?;
    tx.commit()?;
    Ok(Carried {
        copied: done.copied,
        present: done.present,
        unreadable: unreadable + done.undecodable,
        renumbered: done.renumbered,
    })
}
