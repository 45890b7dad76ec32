//! The corruption boundary: a damaged store is moved aside with its -wal/-shm, and
//! every row that can still be read is copied into the fresh store.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::hit::HitKind;
use crate::store::classify;
use crate::store::open::with_suffix;

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
}

/// Renames `path`, `path-wal` and `path-shm` to `path.corrupt-<ms>[-wal|-shm]`, so
/// SQLite still pairs the moved file with its WAL. Returns the new database path.
pub(crate) fn move_aside(path: &Path, now_ms: i64) -> Result<PathBuf> {
    let aside = with_suffix(path, &format!(".corrupt-{now_ms}"));
    for suffix in ["", "-wal", "-shm"] {
        let from = with_suffix(path, suffix);
        let to = with_suffix(&aside, suffix);
        match fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::storage(format!(
                    "the store {} is damaged and could not be moved aside: {e}",
                    path.display()
                )))
            }
        }
    }
    Ok(aside)
}

struct Row {
    id: i64,
    message_id: String,
    kind: i64,
    hit_type: String,
    url: Option<String>,
    body: Option<String>,
    created_ms: i64,
    retry_count: i64,
    is_offline: i64,
}

/// Copies what can be read from the damaged file at `aside` into `fresh`.
pub(crate) fn salvage_into(aside: &Path, fresh: &mut Connection, reason: String) -> Result<SalvageReport> {
    let mut report =
        SalvageReport { reason, moved_to: aside.to_owned(), salvaged: 0, lost: 0, lost_is_exact: false };
    // Read-only, so closing it never checkpoints or deletes the moved -wal: the
    // damaged files stay as they were, for a developer to look at.
    let Ok(old) = Connection::open_with_flags(aside, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return Ok(report);
    };
    // A file shorter than its header says (cut short by a copy or a full disk)
    // is refused whole unless the schema is "writable"; this connection only
    // reads, and with it the pages that are there can be read.
    let _ = old.pragma_update(None, "writable_schema", true);
    let expected: Option<u64> =
        old.query_row("SELECT count(*) FROM hits", [], |r| r.get::<_, i64>(0)).ok().map(|n| n as u64);
    let (rows, undecodable) = read_rows(&old);
    let meta: Vec<(String, String)> = old
        .prepare("SELECT key, value FROM meta")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .unwrap_or_default();
    drop(old);

    let tx = fresh.transaction().map_err(|e| classify(e, "salvaging"))?;
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO hits (message_id, kind, type, url, body, created_ms, retry_count, is_offline)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(|e| classify(e, "salvaging"))?;
        for r in &rows {
            insert
                .execute(params![
                    r.message_id,
                    r.kind,
                    r.hit_type,
                    r.url,
                    r.body,
                    r.created_ms,
                    r.retry_count,
                    r.is_offline
                ])
                .map_err(|e| classify(e, "salvaging"))?;
        }
        let mut put = tx
            .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")
            .map_err(|e| classify(e, "salvaging"))?;
        for (k, v) in &meta {
            put.execute(params![k, v]).map_err(|e| classify(e, "salvaging"))?;
        }
        crate::store::queue::recount(&tx).map_err(|e| classify(e, "salvaging"))?;
    }
    tx.commit().map_err(|e| classify(e, "salvaging"))?;
    report.salvaged = rows.len() as u64;
    match expected {
        Some(n) => {
            report.lost = n.saturating_sub(report.salvaged).max(undecodable);
            report.lost_is_exact = true;
        }
        None => {
            let span = match (rows.first(), rows.last()) {
                (Some(a), Some(b)) => (b.id - a.id + 1) as u64,
                _ => 0,
            };
            report.lost = span.saturating_sub(report.salvaged).max(undecodable);
        }
    }
    Ok(report)
}

/// Reads rows in id order. A damaged page makes a query fail; the scan then jumps
/// ahead by growing steps until it reads again, so rows past the damage survive.
fn read_rows(old: &Connection) -> (Vec<Row>, u64) {
    const PAGE: i64 = 256;
    let mut rows = Vec::new();
    let mut undecodable = 0u64;
    let mut after = i64::MIN;
    let mut skip = 1i64;
    let mut failures = 0;
    while failures < 64 {
        let result = old.prepare(
            "SELECT id, message_id, kind, type, url, body, created_ms, retry_count, is_offline
             FROM hits WHERE id > ?1 ORDER BY id LIMIT ?2",
        );
        let Ok(mut stmt) = result else { break };
        let Ok(mut cursor) = stmt.query(params![after, PAGE]) else {
            failures += 1;
            after = after.saturating_add(skip);
            skip = skip.saturating_mul(2);
            continue;
        };
        let mut seen = 0;
        let mut broke = false;
        loop {
            match cursor.next() {
                Ok(Some(r)) => {
                    seen += 1;
                    let Ok(id) = r.get::<_, i64>(0) else {
                        broke = true;
                        break;
                    };
                    after = id;
                    match decode(r) {
                        Some(row) => rows.push(row),
                        None => undecodable += 1,
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    broke = true;
                    break;
                }
            }
        }
        if broke {
            failures += 1;
            after = after.saturating_add(skip);
            skip = skip.saturating_mul(2);
        } else if seen < PAGE {
            break;
        } else {
            skip = 1;
        }
    }
    (rows, undecodable)
}

fn decode(r: &rusqlite::Row<'_>) -> Option<Row> {
    let row = Row {
        id: r.get(0).ok()?,
        message_id: r.get(1).ok()?,
        kind: r.get(2).ok()?,
        hit_type: r.get(3).ok()?,
        url: r.get(4).ok()?,
        body: r.get(5).ok()?,
        created_ms: r.get(6).ok()?,
        retry_count: r.get(7).ok()?,
        is_offline: r.get(8).ok()?,
    };
    HitKind::from_code(row.kind)?;
    Some(row)
}
