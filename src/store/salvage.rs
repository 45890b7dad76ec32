//! The corruption boundary: a damaged store is replaced by a fresh one, moved
//! aside with its -wal/-shm, and every row that can still be read is copied
//! into the fresh store.
//!
//! The order makes every step safe to stop at. The fresh store is built first,
//! beside the damaged one, and records where its rows are to come from (`meta`
//! keys `salvage_from`, `salvage_reason`); only once it is complete does it
//! take the damaged store's place (the damaged file keeps a second name,
//! `<name>.corrupt-<ms>`, with its -wal/-shm). Then the rows are copied, and the
//! record removed in the same transaction. If the damaged file cannot be read
//! now (no file descriptors left, an I/O error), the record stays and the next
//! open tries again.

mod copy;

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::error::{Error, Result};
use crate::store::open::with_suffix;
use crate::store::{classify, is_corruption};

pub(crate) use copy::{
    carry_sequence, copy_meta, insert_rows, message_ids, read_rows, remap_contexts, Columns, Placement,
};

/// `meta` key: the file name of the damaged store this one salvages from.
const FROM_KEY: &str = "salvage_from";
/// `meta` key: why it was found damaged.
const REASON_KEY: &str = "salvage_reason";

/// What the corruption boundary did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SalvageReport {
    pub reason: String,
    pub moved_to: PathBuf,
    pub salvaged: u64,
    /// Rows lost. Exact when the damaged file could still be counted; otherwise
    /// estimated from the gaps in the ids of the salvaged rows.
    pub lost: u64,
    pub lost_is_exact: bool,
    /// Set when the damaged file could not be read now (no file descriptors, an
    /// I/O error): nothing was copied yet, and the next open tries again.
    pub retry: Option<String>,
}

/// Builds a fresh store beside the damaged one at `path` (with `create`, which
/// makes and migrates a store at the path it is given), then moves the damaged
/// store aside as `<path>.corrupt-<now_ms>` with its -wal/-shm and puts the
/// fresh one in its place. On any failure the damaged store stays where it is,
/// untouched, and the error says why. Returns the path it was moved to.
pub(crate) fn replace(
    path: &Path,
    now_ms: i64,
    why: &str,
    create: impl FnOnce(&Path) -> Result<Connection>,
) -> Result<PathBuf> {
    let fresh = with_suffix(path, ".fresh");
    let aside = with_suffix(path, &format!(".corrupt-{now_ms}"));
    remove_store_files(&fresh);
    let built = create(&fresh).and_then(|conn| {
        let name = aside.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let fail = |e| classify(e, "preparing a fresh store");
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", [FROM_KEY, &name])
            .map_err(fail)?;
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", [REASON_KEY, why])
            .map_err(fail)?;
        // A self-contained file (no -wal) to rename into place; the next open
        // switches it to WAL again.
        conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get::<_, String>(0)).map_err(fail)?;
        conn.close().map_err(|(_, e)| fail(e))
    });
    if let Err(e) = built {
        remove_store_files(&fresh);
        return Err(Error::storage(format!(
            "the store {} is damaged ({why}) and a fresh store could not be created beside it, \
             so it was left as it is: {}",
            path.display(),
            e.message
        )));
    }
    if let Err(e) = swap(path, &fresh, &aside) {
        remove_store_files(&fresh);
        return Err(Error::storage(format!(
            "the store {} is damaged ({why}) and could not be moved aside, so it was left as it is: {e}",
            path.display()
        )));
    }
    Ok(aside)
}

/// Gives the damaged database at `path` the name `aside` (a hard link, else a
/// rename), moves its -wal and -shm to match, then renames `fresh` over `path`.
/// Undoes what it did when a step fails.
fn swap(path: &Path, fresh: &Path, aside: &Path) -> std::io::Result<()> {
    let linked = fs::hard_link(path, aside).is_ok();
    if !linked {
        fs::rename(path, aside)?;
    }
    let mut moved: Vec<&str> = Vec::new();
    let mut result = Ok(());
    for suffix in ["-wal", "-shm"] {
        match fs::rename(with_suffix(path, suffix), with_suffix(aside, suffix)) {
            Ok(()) => moved.push(suffix),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        result = fs::rename(fresh, path);
    }
    if result.is_err() {
        for suffix in moved {
            let _ = fs::rename(with_suffix(aside, suffix), with_suffix(path, suffix));
        }
        let _ = if linked { fs::remove_file(aside) } else { fs::rename(aside, path) };
    }
    result
}

fn remove_store_files(db: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = fs::remove_file(with_suffix(db, suffix));
    }
}

/// Salvages into `conn` (the store at `path`) the rows of the damaged store its
/// `meta` names, if it names one: at the open that replaced it, or at a later
/// open when that one could not read it. `None` when there is nothing to do.
pub(crate) fn resume(conn: &mut Connection, path: &Path) -> Result<Option<SalvageReport>> {
    let fail = |e| classify(e, "reading the salvage record");
    let get = |key: &str| {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get::<_, String>(0)).optional()
    };
    let Some(name) = get(FROM_KEY).map_err(fail)? else { return Ok(None) };
    let reason = get(REASON_KEY).ok().flatten().unwrap_or_else(|| "damaged".into());
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let aside = dir.join(name);
    let mut report = SalvageReport {
        reason,
        moved_to: aside.clone(),
        salvaged: 0,
        lost: 0,
        lost_is_exact: false,
        retry: None,
    };
    if !aside.exists() {
        forget_record(conn).map_err(fail)?;
        report.reason = format!("{}; the damaged file is gone, nothing could be salvaged", report.reason);
        return Ok(Some(report));
    }
    match read(&aside, conn) {
        Err(not_now) => {
            report.retry = Some(not_now);
            Ok(Some(report))
        }
        Ok(mut taken) => {
            let copied = (|| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                remap_contexts(&taken.meta_from, &tx, &taken.cols, &mut taken.rows);
                let present = message_ids(&tx)?;
                let place = Placement { keep_ids: false, present: &present };
                let done = insert_rows(&tx, &taken.cols, &taken.rows, &place);
                // A new account: the fresh store has its own id and numbers its
                // rows from 1, so no sequence number is ever reused under an id.
                copy_meta(&taken.meta_from, &tx, &[FROM_KEY, REASON_KEY, crate::store::store_id::KEY]);
                forget_record(&tx)?;
                crate::store::queue::recount(&tx)?;
                tx.commit()?;
                Ok::<_, rusqlite::Error>(done)
            })();
            let done = match copied {
                Ok(done) => done,
                Err(e) => {
                    // The fresh store refused the rows (a full disk): kept for the next open.
                    report.retry = Some(classify(e, "copying the salvaged rows").message);
                    return Ok(Some(report));
                }
            };
            report.salvaged = done.copied + done.present;
            let unreadable = taken.unreadable + done.undecodable;
            match taken.expected {
                Some(n) => {
                    report.lost = n.saturating_sub(report.salvaged).max(unreadable);
                    report.lost_is_exact = true;
                }
                None => {
                    let span = match (taken.rows.first(), taken.rows.last()) {
                        (Some(a), Some(b)) => (b.id - a.id + 1) as u64,
                        _ => 0,
                    };
                    report.lost = span.saturating_sub(report.salvaged).max(unreadable);
                }
            }
            if let Some(why) = taken.nothing_read {
                report.reason = format!("{}; nothing could be read from it: {why}", report.reason);
            }
            Ok(Some(report))
        }
    }
}

fn forget_record(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM meta WHERE key IN (?1, ?2)", [FROM_KEY, REASON_KEY]).map(drop)
}

/// What could be read from a damaged file.
struct Taken {
    cols: Columns,
    rows: Vec<copy::Row>,
    unreadable: u64,
    /// Its row count, when it could still be counted.
    expected: Option<u64>,
    /// The damaged file, open read-only, for its `meta` entries.
    meta_from: Connection,
    /// Set when the file is too damaged to read anything from (not a database).
    nothing_read: Option<String>,
}

/// Reads what can be read from the damaged file at `aside`. `Err` when it
/// cannot be read now for a reason that may pass (it cannot be opened: no
/// file descriptors; an I/O error): the caller keeps the salvage record.
fn read(aside: &Path, fresh: &Connection) -> std::result::Result<Taken, String> {
    // Read-only, so closing it never checkpoints or deletes the moved -wal: the
    // damaged files stay as they were, for a developer to look at.
    let old = Connection::open_with_flags(
        aside,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    // A file shorter than its header says (cut short by a copy or a full disk)
    // is refused whole unless the schema is "writable"; this connection only
    // reads, and with it the pages that are there can be read.
    let _ = old.pragma_update(None, "writable_schema", true);
    let permanent = |e: &rusqlite::Error| is_corruption(e);
    let (cols, nothing_read) = match Columns::common(&old, fresh) {
        Ok(cols) => (cols, None),
        Err(e) if permanent(&e) => (Columns::none(), Some(e.to_string())),
        Err(e) => return Err(e.to_string()),
    };
    let expected = match old.query_row("SELECT count(*) FROM hits", [], |r| r.get::<_, i64>(0)) {
        Ok(n) => Some(n.max(0) as u64),
        Err(e) if permanent(&e) || nothing_read.is_some() => None,
        Err(e) => return Err(e.to_string()),
    };
    let (rows, unreadable) = if nothing_read.is_some() { (Vec::new(), 0) } else { read_rows(&old, &cols) };
    Ok(Taken { cols, rows, unreadable, expected, meta_from: old, nothing_read })
}
