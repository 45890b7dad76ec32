//! The `queue` row (schema 2): running totals and the span of leased rows.
//!
//! `hits` and `bytes` count the rows up to `counted_to`. A transaction that
//! deletes rewrites the row (and moves `counted_to` to the newest row); one that
//! only inserts rewrites it once `ROW_LAG` rows went uncounted, so a hit
//! committed alone costs no extra page. Readers add the few rows above
//! `counted_to`.

use rusqlite::types::{Value, ValueRef};
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

/// The row as stored, its values checked one by one: the totals (hits, bytes,
/// counted_to) and the span. `Err` names the first value of the wrong type or
/// range (a hand edit, another program, a flipped bit SQLite cannot see).
struct Stored {
    totals: Result<(u64, u64, u64), String>,
    span: Result<Option<(u64, u64)>, String>,
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => format!("the real number {f}"),
        Value::Text(_) => "text".into(),
        Value::Blob(_) => "a blob".into(),
    }
}

fn count_value(v: &Value, name: &str) -> Result<u64, String> {
    match v {
        Value::Integer(i) if *i >= 0 => Ok(*i as u64),
        other => Err(format!("queue.{name} is {}", describe(other))),
    }
}

fn stored(conn: &Connection) -> rusqlite::Result<Option<Stored>> {
    let values = conn
        .prepare_cached("SELECT hits, bytes, counted_to, leased_first, leased_last FROM queue WHERE id = 1")?
        .query_row([], |r| {
            // Through `ValueRef`: text that is not UTF-8 is damage to report, not an error.
            let get = |i| {
                r.get_ref(i).map(|v| match v {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(i) => Value::Integer(i),
                    ValueRef::Real(f) => Value::Real(f),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                })
            };
            Ok([get(0)?, get(1)?, get(2)?, get(3)?, get(4)?])
        })
        .optional()?;
    Ok(values.map(|v: [Value; 5]| Stored {
        totals: (|| {
            Ok((count_value(&v[0], "hits")?, count_value(&v[1], "bytes")?, count_value(&v[2], "counted_to")?))
        })(),
        span: match (&v[3], &v[4]) {
            (Value::Null, Value::Null) => Ok(None),
            (Value::Integer(a), Value::Integer(b)) if 1 <= *a && a <= b => Ok(Some((*a as u64, *b as u64))),
            (a, b) => Err(format!("the leased span is [{}, {}]", describe(a), describe(b))),
        },
    }))
}

/// Reads the row and counts the rows above it; a missing row (deleted after a
/// hand edit) is recounted, and so is a damaged or implausible one (see
/// `read_checked`).
pub fn read(conn: &Connection) -> rusqlite::Result<QueueRow> {
    read_checked(conn).map(|(row, _)| row)
}

/// `read`, and why the stored totals were not trusted (a value of the wrong type
/// or range, or figures the cheap facts of `implausible` rule out): they were
/// recounted then, and the caller says so at WARN. `None` for a row that was
/// trusted, or missing (the documented way to ask for a recount).
pub fn read_checked(conn: &Connection) -> rusqlite::Result<(QueueRow, Option<String>)> {
    let Some(stored) = stored(conn)? else { return Ok((recount(conn)?, None)) };
    let damage = stored.totals.as_ref().err().or(stored.span.as_ref().err()).cloned();
    let leased = stored.span.unwrap_or(None);
    let (hits, bytes, counted_to) = match (stored.totals, damage) {
        (Ok(totals), None) => totals,
        (_, why) => return Ok((recount_keeping(conn, leased)?, why)),
    };
    let mut row = QueueRow { hits, bytes, newest: counted_to, counted_to, leased };
    if let Some(why) = implausible(conn, &row)? {
        return Ok((recount_keeping(conn, leased)?, Some(why)));
    }
    let (n, bytes, newest) = conn
        .prepare_cached(&format!(
            "SELECT count(*), coalesce(sum({SIZE_SQL}), 0), coalesce(max(id), 0) FROM hits WHERE id > ?1"
        ))?
        .query_row([row.counted_to as i64], |r| Ok((u(r.get(0)?), u(r.get(1)?), u(r.get(2)?))))?;
    row.hits += n;
    row.bytes += bytes;
    row.newest = row.newest.max(newest);
    Ok((row, None))
}

/// Checks the stored totals against facts that cost a few b-tree seeks, not a
/// scan, so a large store still opens in O(1): `counted_to` is at most the
/// newest id ever stored (`sqlite_sequence`); `hits` is at most the id span of
/// the rows up to `counted_to`, and not 0 when there are such rows; `bytes` is
/// at least 64 per hit and at most 64 per hit plus the file's size (every byte
/// counted is stored in the file). What these cannot see (a count a little too
/// low or high) the full check compares with a real count (`verify`).
fn implausible(conn: &Connection, row: &QueueRow) -> rusqlite::Result<Option<String>> {
    let one = |sql: &str, p: Option<i64>| -> rusqlite::Result<Option<Value>> {
        let mut stmt = conn.prepare_cached(sql)?;
        match p {
            Some(p) => stmt.query_row([p], |r| r.get(0)).optional(),
            None => stmt.query_row([], |r| r.get(0)).optional(),
        }
    };
    let int = |v: Option<Value>| match v {
        Some(Value::Integer(i)) => Some(i.max(0) as u64),
        _ => None,
    };
    let counted_to = row.counted_to.min(i64::MAX as u64) as i64;
    let seq = int(one("SELECT seq FROM sqlite_sequence WHERE name = 'hits'", None)?).unwrap_or(0);
    let max_id = int(one("SELECT id FROM hits ORDER BY id DESC LIMIT 1", None)?).unwrap_or(0);
    let newest_ever = seq.max(max_id);
    if row.counted_to > newest_ever {
        return Ok(Some(format!(
            "queue.counted_to ({}) is past the newest id ever stored ({newest_ever})",
            row.counted_to
        )));
    }
    let first = int(one("SELECT id FROM hits ORDER BY id LIMIT 1", None)?);
    let last = int(one("SELECT id FROM hits WHERE id <= ?1 ORDER BY id DESC LIMIT 1", Some(counted_to))?);
    let span = match (first, last) {
        (Some(a), Some(b)) if a <= b => b - a + 1,
        _ => 0,
    };
    if row.hits > span {
        return Ok(Some(format!(
            "queue.hits ({}) exceeds the id span of the rows it counts ({span})",
            row.hits
        )));
    }
    if row.hits == 0 && span > 0 {
        return Ok(Some("queue.hits is 0 but rows are counted".into()));
    }
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let overhead = u128::from(row.hits) * 64;
    let file = u(pages) as u128 * u(page_size) as u128;
    let bytes = u128::from(row.bytes);
    if bytes < overhead || bytes > overhead + file {
        return Ok(Some(format!(
            "queue.bytes ({}) is outside what {} hit(s) in a file of {file} bytes can hold",
            row.bytes, row.hits
        )));
    }
    Ok(None)
}

/// Compares the stored totals with a real count of the rows they cover (a scan:
/// for stores checked in full, and the background check of large ones) and
/// recounts when they differ; returns what differed. Run it inside a
/// transaction, so the row and the count are of one snapshot.
pub fn verify(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let (row, why) = read_checked(conn)?;
    if why.is_some() {
        return Ok(why);
    }
    let (hits, bytes, newest) = real_totals(conn)?;
    if (hits, bytes) == (row.hits, row.bytes) {
        return Ok(None);
    }
    recount_keeping(conn, row.leased)?;
    Ok(Some(format!(
        "the queue totals ({} hit(s), {} bytes) disagreed with the table ({hits} hit(s), {bytes} bytes, newest id {newest})",
        row.hits, row.bytes
    )))
}

/// The check of the totals at open: against cheap facts always (`read_checked`),
/// and against a real count too when `exact` (a store small enough to have been
/// checked in full, whose pages are in the cache now). In one immediate
/// transaction, so no other process changes the table between the two.
pub fn check_at_open(conn: &Connection, exact: bool) -> rusqlite::Result<Option<String>> {
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let why = if exact { verify(&tx)? } else { read_checked(&tx)?.1 };
    tx.commit()?;
    Ok(why)
}

/// The totals the row and the rows above it give (what `read` would return),
/// without writing: `None` when the row is missing or damaged.
pub fn totals_as_stored(conn: &Connection) -> rusqlite::Result<Option<(u64, u64)>> {
    let Some(Stored { totals: Ok((hits, bytes, counted_to)), .. }) = stored(conn)? else { return Ok(None) };
    let (n, more) = conn
        .prepare_cached(&format!("SELECT count(*), coalesce(sum({SIZE_SQL}), 0) FROM hits WHERE id > ?1"))?
        .query_row([counted_to.min(i64::MAX as u64) as i64], |r| Ok((u(r.get(0)?), u(r.get(1)?))))?;
    Ok(Some((hits.saturating_add(n), bytes.saturating_add(more))))
}

/// Count, size and newest id of every row: a scan.
pub fn real_totals(conn: &Connection) -> rusqlite::Result<(u64, u64, u64)> {
    conn.prepare_cached(&format!(
        "SELECT count(*), coalesce(sum({SIZE_SQL}), 0), coalesce(max(id), 0) FROM hits"
    ))?
    .query_row([], |r| Ok((u(r.get(0)?), u(r.get(1)?), u(r.get(2)?))))
}

/// The number of hits, as a reader sees it: the row plus the rows above it. A
/// row with a value of the wrong type (the writer recounts it at its next
/// transaction) or none at all: a count of the table.
pub fn count(conn: &Connection) -> rusqlite::Result<u64> {
    if let Some(Stored { totals: Ok((hits, _, counted_to)), .. }) = stored(conn)? {
        let above: i64 = conn
            .prepare_cached("SELECT count(*) FROM hits WHERE id > ?1")?
            .query_row([counted_to.min(i64::MAX as u64) as i64], |r| r.get(0))?;
        return Ok(hits.saturating_add(u(above)));
    }
    conn.query_row("SELECT count(*) FROM hits", [], |r| r.get::<_, i64>(0)).map(u)
}

/// Counts the hits table (a scan) and stores the totals; no span.
pub fn recount(conn: &Connection) -> rusqlite::Result<QueueRow> {
    recount_keeping(conn, None)
}

/// Counts the hits table (a scan) and stores the totals with `span`.
fn recount_keeping(conn: &Connection, span: Option<(u64, u64)>) -> rusqlite::Result<QueueRow> {
    let (hits, bytes, newest) = real_totals(conn)?;
    let (first, last) = span.map_or((None, None), |(a, b)| (Some(a as i64), Some(b as i64)));
    conn.prepare_cached(
        // An upsert, not a replace: columns a later schema adds keep their values.
        "INSERT INTO queue (id, hits, bytes, counted_to, leased_first, leased_last)
         VALUES (1, ?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET hits = excluded.hits, bytes = excluded.bytes,
             counted_to = excluded.counted_to, leased_first = excluded.leased_first,
             leased_last = excluded.leased_last",
    )?
    .execute(params![hits as i64, bytes as i64, newest as i64, first, last])?;
    Ok(QueueRow { hits, bytes, newest, counted_to: newest, leased: span })
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
