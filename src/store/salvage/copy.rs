//! Copying hit rows from one store to another by column name: what salvage
//! reads out of a damaged file, and what a tracker carries over from a store
//! whose file was deleted under it. Every column the two `hits` tables have in
//! common is copied, so columns added by later schema versions are kept too.

use std::collections::{HashMap, HashSet};

use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection};

use crate::store::reader::{decode_row, RowShare, COLUMNS};

/// A stored value exactly as read (text that is not UTF-8 included), so a copy
/// changes no byte; rows are judged after the copy, by the reader's decoding.
#[derive(Clone, Debug)]
pub(crate) enum Raw {
    Null,
    Int(i64),
    Real(f64),
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

impl Raw {
    fn of(v: ValueRef<'_>) -> Raw {
        match v {
            ValueRef::Null => Raw::Null,
            ValueRef::Integer(i) => Raw::Int(i),
            ValueRef::Real(f) => Raw::Real(f),
            ValueRef::Text(t) => Raw::Text(t.to_vec()),
            ValueRef::Blob(b) => Raw::Blob(b.to_vec()),
        }
    }
}

impl ToSql for Raw {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Raw::Null => ValueRef::Null,
            Raw::Int(i) => ValueRef::Integer(*i),
            Raw::Real(f) => ValueRef::Real(*f),
            Raw::Text(t) => ValueRef::Text(t),
            Raw::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// One row: its id in the source and its values, in `Columns` order.
pub(crate) struct Row {
    pub id: i64,
    pub values: Vec<Raw>,
}

/// The columns of `to`'s hits table that `from`'s has too, except `id`. The
/// names come from `to` (this library's schema), so they are safe to splice.
pub(crate) struct Columns(Vec<String>);

impl Columns {
    pub fn common(from: &Connection, to: &Connection) -> rusqlite::Result<Columns> {
        let names = |c: &Connection| -> rusqlite::Result<Vec<String>> {
            c.prepare("SELECT name FROM pragma_table_info('hits')")?.query_map([], |r| r.get(0))?.collect()
        };
        let source: HashSet<String> = names(from)?.into_iter().collect();
        Ok(Columns(names(to)?.into_iter().filter(|n| n != "id" && source.contains(n)).collect()))
    }

    /// No columns (a file whose schema cannot be read).
    pub fn none() -> Columns {
        Columns(Vec::new())
    }

    fn list(&self) -> String {
        self.0.iter().map(|n| format!("\"{}\"", n.replace('"', "\"\""))).collect::<Vec<_>>().join(", ")
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|n| n == name)
    }
}

/// Reads rows in id order. A damaged page makes a query fail; the scan then
/// jumps ahead by growing steps until it reads again, so rows past the damage
/// survive. Returns the rows and how many could not be read.
pub(crate) fn read_rows(from: &Connection, cols: &Columns) -> (Vec<Row>, u64) {
    const PAGE: i64 = 256;
    if cols.0.is_empty() {
        return (Vec::new(), 0);
    }
    let sql = format!("SELECT id, {} FROM hits WHERE id > ?1 ORDER BY id LIMIT ?2", cols.list());
    let mut rows = Vec::new();
    let mut unreadable = 0u64;
    let mut after = i64::MIN;
    let mut skip = 1i64;
    let mut failures = 0;
    while failures < 64 {
        let Ok(mut stmt) = from.prepare(&sql) else { break };
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
                    let values: rusqlite::Result<Vec<Raw>> =
                        (1..=cols.0.len()).map(|i| r.get_ref(i).map(Raw::of)).collect();
                    match values {
                        Ok(values) => rows.push(Row { id, values }),
                        Err(_) => unreadable += 1,
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
    (rows, unreadable)
}

/// How `insert_rows` places the rows.
pub(crate) struct Placement<'a> {
    /// Keep each row's id when `to` has no row with it (a carried-over row
    /// keeps the id its sender may have leased it under).
    pub keep_ids: bool,
    /// Message ids already in `to`: rows with these are there already.
    pub present: &'a HashSet<String>,
}

/// What `insert_rows` did.
#[derive(Default, Debug)]
pub(crate) struct Inserted {
    pub copied: u64,
    /// Rows `to` refused or the reader could not decode: not copied.
    pub undecodable: u64,
    /// Rows already in `to` (same message id).
    pub present: u64,
    /// Source ids that now name another row (their rows got new ids).
    pub renumbered: Vec<u64>,
}

/// Inserts `rows` into `to` (inside the caller's transaction). Each copied row
/// is read back and decoded as the reader would; one that does not decode is
/// removed again and counted as undecodable.
pub(crate) fn insert_rows(to: &Connection, cols: &Columns, rows: &[Row], place: &Placement<'_>) -> Inserted {
    let list = cols.list();
    let marks = (1..=cols.0.len()).map(|i| format!("?{}", i + 1)).collect::<Vec<_>>().join(", ");
    let with_id = format!("INSERT INTO hits (id, {list}) VALUES (?1, {marks})");
    let without_id = format!("INSERT INTO hits ({list}) VALUES ({})", {
        (1..=cols.0.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
    });
    let read_back = format!("SELECT {COLUMNS} FROM hits WHERE id = ?1");
    let message = cols.index_of("message_id");
    let mut done = Inserted::default();
    for row in rows {
        if let Some(Raw::Text(m)) = message.map(|i| &row.values[i]) {
            if place.present.contains(String::from_utf8_lossy(m).as_ref()) {
                done.present += 1;
                continue;
            }
        }
        let values = || row.values.iter().map(|v| v as &dyn ToSql);
        let mut inserted = None;
        if place.keep_ids {
            let taken = to
                .prepare_cached("SELECT 1 FROM hits WHERE id = ?1")
                .and_then(|mut s| s.exists([row.id]))
                .unwrap_or(true);
            if !taken {
                let all: Vec<&dyn ToSql> = std::iter::once(&row.id as &dyn ToSql).chain(values()).collect();
                inserted = to.prepare_cached(&with_id).and_then(|mut s| s.execute(all.as_slice())).ok();
            } else {
                done.renumbered.push(row.id as u64);
            }
        }
        if inserted.is_none() {
            let all: Vec<&dyn ToSql> = values().collect();
            inserted = to.prepare_cached(&without_id).and_then(|mut s| s.execute(all.as_slice())).ok();
        }
        if inserted.is_none() {
            done.undecodable += 1;
            continue;
        }
        let id = to.last_insert_rowid();
        let decodes = to
            .prepare_cached(&read_back)
            .and_then(|mut s| {
                s.query_row([id], |r| {
                    decode_row(to, id as u64, r, "", &mut RowShare::default()).map(|h| h.is_some())
                })
            })
            .unwrap_or(false);
        if decodes {
            done.copied += 1;
        } else {
            let _ = to.execute("DELETE FROM hits WHERE id = ?1", [id]);
            done.undecodable += 1;
        }
    }
    done
}

/// The message ids of every row in `conn` (a scan: for merging into a store
/// that already holds rows).
pub(crate) fn message_ids(conn: &Connection) -> rusqlite::Result<HashSet<String>> {
    conn.prepare("SELECT message_id FROM hits")?
        .query_map([], |r| {
            Ok(String::from_utf8_lossy(r.get_ref(0)?.as_bytes_or_null()?.unwrap_or(b"")).into_owned())
        })?
        .collect()
}

/// Copies the `meta` entries of `from` that `to` lacks (keys in `skip` aside).
pub(crate) fn copy_meta(from: &Connection, to: &Connection, skip: &[&str]) -> u64 {
    let entries: Vec<(Raw, Raw)> = from
        .prepare("SELECT key, value FROM meta")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((Raw::of(r.get_ref(0)?), Raw::of(r.get_ref(1)?))))?.collect()
        })
        .unwrap_or_default();
    let mut copied = 0;
    for (key, value) in entries {
        if matches!(&key, Raw::Text(k) if skip.iter().any(|s| s.as_bytes() == k.as_slice())) {
            continue;
        }
        // Values are checked where they are read (open): copied as they are.
        let put = to.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)", params![key, value]);
        copied += put.unwrap_or(0) as u64;
    }
    copied
}

/// Copies the event contexts `rows` refer to from `from` into `to` (found or
/// added there by their text) and points the rows at the ids in `to`. A row
/// whose context cannot be read goes without one (it is sent with the
/// library's own context).
pub(crate) fn remap_contexts(from: &Connection, to: &Connection, cols: &Columns, rows: &mut [Row]) {
    let Some(i) = cols.index_of("context_id") else { return };
    let old: Vec<(i64, String)> = from
        .prepare("SELECT id, json FROM contexts")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .unwrap_or_default();
    let map: HashMap<i64, i64> = old
        .into_iter()
        .filter_map(|(id, json)| Some((id, crate::store::ops::put_context(to, &json).ok()? as i64)))
        .collect();
    for row in rows {
        let new = match row.values[i] {
            Raw::Int(id) => map.get(&id).map_or(Raw::Null, |n| Raw::Int(*n)),
            _ => Raw::Null,
        };
        row.values[i] = new;
    }
}

/// Continues `from`'s sequence of row ids in `to` (`AUTOINCREMENT`'s
/// `sqlite_sequence`): an id `from` ever handed out, and so a sequence number a
/// collector may have seen, is never handed out again under the same store id.
pub(crate) fn carry_sequence(from: &Connection, to: &Connection) -> rusqlite::Result<()> {
    let seq: i64 = from
        .query_row("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'hits'", [], |r| r.get(0))
        .unwrap_or(0);
    let present: bool =
        to.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'hits')", [], |r| r.get(0))?;
    if present {
        to.execute("UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'hits'", [seq])?;
    } else {
        to.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('hits', ?1)", [seq])?;
    }
    Ok(())
}
