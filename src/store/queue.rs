//! The `queue` row (schema 2): running totals and the span of leased rows.

use rusqlite::{params, Connection, OptionalExtension};

use crate::store::ops::SIZE_SQL;

/// The `queue` row as read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueRow {
    pub hits: u64,
    pub bytes: u64,
    /// [first, last] ids of the rows leased to a sender; None when none.
    pub leased: Option<(u64, u64)>,
}

impl QueueRow {
    pub fn is_leased(&self, id: u64) -> bool {
        self.leased.is_some_and(|(first, last)| (first..=last).contains(&id))
    }
}

/// Reads the row; when it is missing (deleted after a hand edit), recounts.
pub fn read(conn: &Connection) -> rusqlite::Result<QueueRow> {
    let row = conn
        .prepare_cached("SELECT hits, bytes, leased_first, leased_last FROM queue WHERE id = 1")?
        .query_row([], |r| {
            let span = match (r.get::<_, Option<i64>>(2)?, r.get::<_, Option<i64>>(3)?) {
                (Some(a), Some(b)) => Some((a.max(0) as u64, b.max(0) as u64)),
                _ => None,
            };
            Ok(QueueRow {
                hits: r.get::<_, i64>(0)?.max(0) as u64,
                bytes: r.get::<_, i64>(1)?.max(0) as u64,
                leased: span,
            })
        })
        .optional()?;
    match row {
        Some(row) => Ok(row),
        None => recount(conn),
    }
}

/// Counts the hits table (a scan) and stores the totals; no span.
pub fn recount(conn: &Connection) -> rusqlite::Result<QueueRow> {
    let (hits, bytes) =
        conn.query_row(&format!("SELECT count(*), coalesce(sum({SIZE_SQL}), 0) FROM hits"), [], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
        })?;
    conn.prepare_cached("INSERT OR REPLACE INTO queue (id, hits, bytes) VALUES (1, ?1, ?2)")?
        .execute(params![hits as i64, bytes as i64])?;
    Ok(QueueRow { hits, bytes, leased: None })
}

pub fn write_totals(conn: &Connection, hits: u64, bytes: u64) -> rusqlite::Result<()> {
    let n = conn
        .prepare_cached("UPDATE queue SET hits = ?1, bytes = ?2 WHERE id = 1")?
        .execute(params![hits as i64, bytes as i64])?;
    if n == 0 {
        conn.prepare_cached("INSERT INTO queue (id, hits, bytes) VALUES (1, ?1, ?2)")?
            .execute(params![hits as i64, bytes as i64])?;
    }
    Ok(())
}

pub fn write_span(conn: &Connection, span: Option<(u64, u64)>) -> rusqlite::Result<()> {
    let (first, last) = span.map_or((None, None), |(a, b)| (Some(a as i64), Some(b as i64)));
    conn.prepare_cached("UPDATE queue SET leased_first = ?1, leased_last = ?2 WHERE id = 1")?
        .execute(params![first, last])
        .map(drop)
}

/// Crash recovery, by a new sender: the span a dead sender left is cleared (its
/// rows are pending again; nothing in them was changed), and rows a schema-1
/// library left in flight return to pending. Returns how many rows that covers.
pub fn recover(conn: &Connection) -> rusqlite::Result<u64> {
    let row = read(conn)?;
    let mut recovered = 0;
    if let Some((first, last)) = row.leased {
        recovered +=
            conn.prepare_cached("SELECT count(*) FROM hits WHERE id >= ?1 AND id <= ?2 AND state = 0")?
                .query_row(params![first as i64, last as i64], |r| r.get::<_, i64>(0))? as u64;
        write_span(conn, None)?;
    }
    // A literal `state = 1`, so the partial index `hits_in_flight` serves it.
    recovered += conn.prepare_cached("UPDATE hits SET state = 0 WHERE state = 1")?.execute([])? as u64;
    Ok(recovered)
}
