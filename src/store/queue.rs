//! The `queue` row (schema 2): running totals and the span of leased rows.
//!
//! `hits` and `bytes` count the rows up to `counted_to`. A transaction that
//! deletes rewrites the row (and moves `counted_to` to the newest row); one that
//! only inserts rewrites it once `ROW_LAG` rows went uncounted, so a hit
//! committed alone costs no extra page. Readers add the few rows above
//! `counted_to`.

use rusqlite::{params, Connection, OptionalExtension};

use crate::store::ops::SIZE_SQL;

/// Inserted rows the queue row may leave uncounted.
pub(crate) const ROW_LAG: u64 = 256;

/// The queue as a writer knows it: exact totals, and what the row says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueRow {
    /// Rows in hits, all of them.
    pub hits: u64,
    /// Their size.
    pub bytes: u64,
    /// The highest id in hits (0 when empty); rows inserted later have larger ids.
    pub newest: u64,
    /// `counted_to` as stored.
    pub counted_to: u64,
    /// [first, last] ids of the rows leased to a sender; None when none.
    pub leased: Option<(u64, u64)>,
}

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

/// Reads the row and counts the rows above it; when the row is missing
/// (deleted after a hand edit), recounts the table.
pub fn read(conn: &Connection) -> rusqlite::Result<QueueRow> {
    let row = conn
        .prepare_cached("SELECT hits, bytes, counted_to, leased_first, leased_last FROM queue WHERE id = 1")?
        .query_row([], |r| {
            let span = match (r.get::<_, Option<i64>>(3)?, r.get::<_, Option<i64>>(4)?) {
                (Some(a), Some(b)) => Some((u(a), u(b))),
                _ => None,
            };
            let counted_to = u(r.get(2)?);
            Ok(QueueRow {
                hits: u(r.get(0)?),
                bytes: u(r.get(1)?),
                newest: counted_to,
                counted_to,
                leased: span,
            })
        })
        .optional()?;
    let Some(mut row) = row else { return recount(conn) };
    let (n, bytes, newest) = conn
        .prepare_cached(&format!(
            "SELECT count(*), coalesce(sum({SIZE_SQL}), 0), coalesce(max(id), 0) FROM hits WHERE id > ?1"
        ))?
        .query_row([row.counted_to as i64], |r| Ok((u(r.get(0)?), u(r.get(1)?), u(r.get(2)?))))?;
    row.hits += n;
    row.bytes += bytes;
    row.newest = row.newest.max(newest);
    Ok(row)
}

/// The number of hits, as a reader sees it: the row plus the rows above it.
pub fn count(conn: &Connection) -> rusqlite::Result<u64> {
    let kept = conn
        .prepare_cached(
            "SELECT q.hits + (SELECT count(*) FROM hits WHERE id > q.counted_to) FROM queue q WHERE q.id = 1",
        )?
        .query_row([], |r| r.get::<_, i64>(0))
        .optional()?;
    match kept {
        Some(n) => Ok(u(n)),
        // The row was deleted by hand while the tracker ran: count (the writer
        // puts the row back at its next commit).
        None => conn.query_row("SELECT count(*) FROM hits", [], |r| r.get::<_, i64>(0)).map(u),
    }
}

/// Counts the hits table (a scan) and stores the totals; no span.
pub fn recount(conn: &Connection) -> rusqlite::Result<QueueRow> {
    let (hits, bytes, newest) = conn.query_row(
        &format!("SELECT count(*), coalesce(sum({SIZE_SQL}), 0), coalesce(max(id), 0) FROM hits"),
        [],
        |r| Ok((u(r.get(0)?), u(r.get(1)?), u(r.get(2)?))),
    )?;
    conn.prepare_cached("INSERT OR REPLACE INTO queue (id, hits, bytes, counted_to) VALUES (1, ?1, ?2, ?3)")?
        .execute(params![hits as i64, bytes as i64, newest as i64])?;
    Ok(QueueRow { hits, bytes, newest, counted_to: newest, leased: None })
}

/// Stores the totals as of the newest row.
pub fn write_totals(conn: &Connection, hits: u64, bytes: u64, newest: u64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE queue SET hits = ?1, bytes = ?2, counted_to = ?3 WHERE id = 1")?
        .execute(params![hits as i64, bytes as i64, newest as i64])
        .map(drop)
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
        recovered += u(conn
            .prepare_cached("SELECT count(*) FROM hits WHERE id >= ?1 AND id <= ?2 AND state = 0")?
            .query_row(params![first as i64, last as i64], |r| r.get::<_, i64>(0))?);
        write_span(conn, None)?;
    }
    // A literal `state = 1`, so the partial index `hits_in_flight` serves it.
    recovered += conn.prepare_cached("UPDATE hits SET state = 0 WHERE state = 1")?.execute([])? as u64;
    Ok(recovered)
}
