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
//!
//! The check reads the whole store in one read transaction, and while it does,
//! the write-ahead log cannot start over: every commit of the writer meanwhile
//! makes it longer (a drain of a large store grew it to 14 MiB). So the check
//! gives way: once the log has grown by `YIELD_PAGES` pages since it began, it
//! stops, and starts again from the beginning after a pause (1 s, doubling up
//! to a minute). From the third time it gave way (7 s of pauses, by which a
//! drain or a burst is over), the growth it allows doubles each time, so a
//! store written without pause (a host tracking all the time) is still checked
//! to its end, at the cost of a longer log once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
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

/// How much the write-ahead log may grow while the background check holds its
/// read snapshot before the check gives way (pages; 1 MiB at 4 KiB pages);
/// doubled from the third time it gave way (`Retry`).
const YIELD_PAGES: i32 = 256;
/// The pause before a check that gave way starts again; doubled each time up
/// to `LAST_PAUSE`.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LAST_PAUSE: Duration = Duration::from_secs(60);
/// Steps of the check between two looks at the log's length.
const STEPS_PER_LOOK: i32 = 64;

/// The write-ahead log's length in pages as of the writer's last commit: set
/// by the writer's commit hook, watched by the background check.
#[derive(Clone, Default)]
pub struct LogLength(Arc<AtomicI32>);

impl LogLength {
    pub(crate) fn set(&self, pages: i32) {
        self.0.store(pages, Relaxed);
    }

    fn get(&self) -> i32 {
        self.0.load(Relaxed)
    }
}

/// Set by `stop`; the check's pauses wait on it.
#[derive(Default)]
struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
    /// The same, read by the check's progress handler without the lock.
    flag: AtomicBool,
}

impl Stop {
    /// Waits `pause`; true when stopped meanwhile.
    fn wait(&self, pause: Duration) -> bool {
        let mut stopped = self.stopped.lock();
        if !*stopped {
            self.wake.wait_for(&mut stopped, pause);
        }
        *stopped
    }
}

/// The full check running in the background; stopped (interrupted) by `stop`.
pub struct BackgroundCheck {
    interrupt: InterruptHandle,
    stop: Arc<Stop>,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundCheck {
    pub(crate) fn start(
        db: &Path,
        reporter: Reporter,
        busy: Duration,
        log: LogLength,
    ) -> Option<BackgroundCheck> {
        // Read-write only to recount totals found wrong; it reads otherwise.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(db, flags).ok()?;
        conn.busy_timeout(busy).ok()?;
        let interrupt = conn.get_interrupt_handle();
        let stop = Arc::new(Stop::default());
        let db = db.to_owned();
        let watch = Watch { log, stop: Arc::clone(&stop) };
        let thread = std::thread::Builder::new()
            .name("attracker-check".into())
            .spawn(move || run(conn, &db, &reporter, &watch))
            .ok()?;
        Some(BackgroundCheck { interrupt, stop, thread: Some(thread) })
    }

    /// Interrupts the check (or its pause) and joins its thread.
    pub fn stop(&mut self) {
        *self.stop.stopped.lock() = true;
        self.stop.flag.store(true, Relaxed);
        self.stop.wake.notify_all();
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

/// What the check watches while it runs: the log's length, and `stop`.
struct Watch {
    log: LogLength,
    stop: Arc<Stop>,
}

/// What one pass of the full check came to.
enum Pass {
    Sound,
    Damaged(String),
    /// It stopped to let the log start over (the log grew to `.0` pages).
    GaveWay(i32),
    /// Stopped at close, busy, I/O: nothing learned.
    Nothing,
}

/// When the check tries again after giving way, and how much the log may
/// grow during that pass.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Retry {
    pause: Duration,
    allowance: i32,
    gave_way: u32,
}

impl Retry {
    const FIRST: Retry = Retry { pause: FIRST_PAUSE, allowance: YIELD_PAGES, gave_way: 0 };
    /// Times the check gives way at the first allowance: 7 s of pauses, by
    /// which a drain or a burst is over.
    const AT_FIRST_ALLOWANCE: u32 = 3;

    fn after_giving_way(self) -> Retry {
        let gave_way = self.gave_way.saturating_add(1);
        let allowance = match gave_way >= Self::AT_FIRST_ALLOWANCE {
            true => self.allowance.saturating_mul(2),
            false => self.allowance,
        };
        Retry { pause: (self.pause * 2).min(LAST_PAUSE), allowance, gave_way }
    }
}

fn run(mut conn: Connection, db: &Path, reporter: &Reporter, watch: &Watch) {
    let mut retry = Retry::FIRST;
    let damage = loop {
        match check_pass(&mut conn, watch, retry.allowance) {
            Pass::Sound => break None,
            Pass::Damaged(why) => break Some(why),
            Pass::Nothing => return,
            Pass::GaveWay(pages) => {
                reporter.log(
                    LogLevel::Debug,
                    format!(
                        "background check of {} gave way to the writer (its read snapshot kept the log \
                         from starting over; it grew to {pages} pages); again in {} s",
                        db.display(),
                        retry.pause.as_secs()
                    ),
                );
                if watch.stop.wait(retry.pause) {
                    return;
                }
                retry = retry.after_giving_way();
            }
        }
    };
    let Some(damage) = damage else {
        check_totals(&conn, db, reporter);
        reporter.log(LogLevel::Debug, format!("background check done: {} is sound", db.display()));
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

/// One full check, stopped early when the log grows by `allowance` pages
/// meanwhile (or at close).
fn check_pass(conn: &mut Connection, watch: &Watch, allowance: i32) -> Pass {
    let (log, stop) = (watch.log.clone(), Arc::clone(&watch.stop));
    let limit = log.get().max(0).saturating_add(allowance);
    let grew = Arc::new(AtomicI32::new(0));
    let seen = Arc::clone(&grew);
    let handler = move || {
        let pages = log.get();
        if pages >= limit {
            seen.store(pages, Relaxed);
        }
        pages >= limit || stop.flag.load(Relaxed)
    };
    if conn.progress_handler(STEPS_PER_LOOK, Some(handler)).is_err() {
        return Pass::Nothing;
    }
    let verdict = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get::<_, String>(0));
    let _ = conn.progress_handler(0, None::<fn() -> bool>);
    match (grew.load(Relaxed), verdict) {
        (pages, _) if pages > 0 && !watch.stop.flag.load(Relaxed) => Pass::GaveWay(pages),
        (_, Ok(verdict)) if verdict == "ok" => Pass::Sound,
        (_, Ok(verdict)) => Pass::Damaged(verdict),
        (_, Err(e)) if is_corruption(&e) => Pass::Damaged(e.to_string()),
        (_, Err(_)) => Pass::Nothing,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_time_the_check_gives_way_it_waits_longer_and_from_the_third_allows_twice_the_growth() {
        let mut retry = Retry::FIRST;
        let mut seen = Vec::new();
        for _ in 0..9 {
            seen.push((retry.pause.as_secs(), retry.allowance));
            retry = retry.after_giving_way();
        }
        assert_eq!(
            seen,
            [
                (1, 256),
                (2, 256),
                (4, 256),
                (8, 512),
                (16, 1024),
                (32, 2048),
                (60, 4096),
                (60, 8192),
                (60, 16384)
            ]
        );
        for _ in 0..40 {
            retry = retry.after_giving_way();
        }
        assert_eq!((retry.pause, retry.allowance), (LAST_PAUSE, i32::MAX), "no overflow");
    }
}
