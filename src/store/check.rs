//! The integrity check at open, and its background half for large stores.
//!
//! `PRAGMA quick_check` reads every page: a few milliseconds for a small store,
//! seconds for a million hits. So a store of up to `FULL_CHECK_MAX_PAGES` pages
//! gets the full check at open; a larger one gets a structural check at open
//! (header, schema, both ends of the hits table, the queue row) and the full
//! check on a background thread, which on damage leaves a marker file so the next
//! open runs the full check and, if it fails, moves the store aside and salvages.
//! When the store is sound, the background check also compares the queue's
//! running totals with a real count and recounts them if they disagree (the
//! check at open only tests them against cheap facts).

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, InterruptHandle, OpenFlags, Transaction, TransactionBehavior};

use crate::config::LogLevel;
use crate::runtime::Reporter;
use crate::store::open::with_suffix;
use crate::store::{is_corruption, queue};

/// Stores up to this many pages (16 MiB at 4 KiB pages) are checked in full at open.
pub(crate) const FULL_CHECK_MAX_PAGES: i64 = 4096;

/// Written beside the store by a background check that found damage.
pub(crate) fn marker_path(db: &Path) -> PathBuf {
    with_suffix(db, ".check-failed")
}

/// What the check at open found.
pub(crate) enum AtOpen {
    /// Fully checked and sound.
    Sound,
    /// Too large to check in full at open: the structure is sound; run the full
    /// check in the background.
    Deferred,
    Damaged(String),
}

/// Checks the store at open. `Err` is a failure that is not damage (busy, I/O).
pub(crate) fn at_open(conn: &Connection, db: &Path) -> rusqlite::Result<AtOpen> {
    let flagged = marker_path(db).exists();
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    if flagged || pages <= FULL_CHECK_MAX_PAGES {
        let verdict: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
        if verdict != "ok" {
            return Ok(AtOpen::Damaged(format!("integrity check: {verdict}")));
        }
        if flagged {
            // The damage the background check saw is gone (e.g. a read error that passed).
            let _ = std::fs::remove_file(marker_path(db));
        }
        return Ok(AtOpen::Sound);
    }
    // The schema, then the first and last rows of the hits table (the paths from
    // the root to both edges of its b-tree) and the queue row.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))?;
    for sql in [
        "SELECT id, message_id, body FROM hits ORDER BY id LIMIT 1",
        "SELECT id, message_id, body FROM hits ORDER BY id DESC LIMIT 1",
        "SELECT hits, bytes FROM queue",
    ] {
        match conn.prepare(sql).and_then(|mut s| s.query([])?.next().map(drop)) {
            Ok(()) => {}
            Err(e) if is_corruption(&e) => return Err(e),
            // A table an older schema lacks: the migration adds it.
            Err(_) => {}
        }
    }
    Ok(AtOpen::Deferred)
}

/// The full check running in the background; stopped (interrupted) by `stop`.
pub struct BackgroundCheck {
    interrupt: InterruptHandle,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundCheck {
    pub(crate) fn start(db: &Path, reporter: Reporter, busy: Duration) -> Option<BackgroundCheck> {
        // Read-write only to recount totals found wrong; it reads otherwise.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(db, flags).ok()?;
        conn.busy_timeout(busy).ok()?;
        let interrupt = conn.get_interrupt_handle();
        let db = db.to_owned();
        let thread = std::thread::Builder::new()
            .name("attracker-check".into())
            .spawn(move || run(conn, &db, &reporter))
            .ok()?;
        Some(BackgroundCheck { interrupt, thread: Some(thread) })
    }

    /// Interrupts the check and joins its thread.
    pub fn stop(&mut self) {
        self.interrupt.interrupt();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for BackgroundCheck {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(conn: Connection, db: &Path, reporter: &Reporter) {
    let damage = match conn.query_row("PRAGMA quick_check(1)", [], |r| r.get::<_, String>(0)) {
        Ok(verdict) if verdict == "ok" => None,
        Ok(verdict) => Some(verdict),
        Err(e) if is_corruption(&e) => Some(e.to_string()),
        // Interrupted at close, busy, I/O: nothing learned.
        Err(_) => None,
    };
    let Some(damage) = damage else {
        check_totals(&conn, db, reporter);
        return;
    };
    let _ = std::fs::write(marker_path(db), format!("{damage}\n"));
    reporter.log(
        LogLevel::Warn,
        format!(
            "store {} is damaged ({damage}); it keeps working where it can, and the next start \
             moves it aside and salvages its readable hits",
            db.display()
        ),
    );
}

/// Compares the queue's totals with a real count in one read snapshot; when
/// they disagree, recounts them in an immediate transaction (the writer takes
/// the new row in at its next commit: another connection changed the store).
fn check_totals(conn: &Connection, db: &Path, reporter: &Reporter) {
    let differ = (|| {
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Deferred)?;
        let stored = queue::totals_as_stored(&tx)?;
        let (hits, bytes, _) = queue::real_totals(&tx)?;
        Ok::<_, rusqlite::Error>(stored != Some((hits, bytes)))
    })();
    if !matches!(differ, Ok(true)) {
        return;
    }
    let fixed = (|| {
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        let why = queue::verify(&tx)?;
        tx.commit()?;
        Ok::<_, rusqlite::Error>(why)
    })();
    match fixed {
        Ok(Some(why)) => reporter.log(LogLevel::Warn, format!("store {}: {why}; recounted", db.display())),
        Ok(None) => {}
        Err(e) => reporter.log(
            LogLevel::Warn,
            format!(
                "store {}: its queue totals are wrong and could not be recounted now ({e})",
                db.display()
            ),
        ),
    }
}
