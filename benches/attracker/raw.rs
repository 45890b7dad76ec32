//! The engine's own limits: raw SQLite through the same rusqlite, the same schema
//! (the library's migration files), the same pragmas and a prepared statement,
//! with no tracker in between.

use std::path::Path;
use std::time::Instant;

use rusqlite::{params, Connection};

/// The library's schema, applied the way its migrations apply it.
const SCHEMA: &[&str] = &[
    include_str!("../../src/store/sql/v1.sql"),
    include_str!("../../src/store/sql/v2.sql"),
    include_str!("../../src/store/sql/v3.sql"),
    include_str!("../../src/store/sql/v4.sql"),
];

/// The same row the tracker writes: a fresh message id, the properties, and the
/// visitor and session ids with the session time, and the reference to the
/// shared context (row 1).
const INSERT: &str = "INSERT INTO hits (message_id, kind, type, url, body, created_ms, is_offline, state,
                                        visitor_id, session_id, session_ms, context_id)
                      VALUES (?1, 0, ?2, NULL, ?3, ?4, 0, 0, ?5, ?6, ?7, 1)";

pub fn open(path: &Path) -> Connection {
    open_with(path, "NORMAL")
}

fn open_with(path: &Path, synchronous: &str) -> Connection {
    let conn = Connection::open(path).expect("open raw store");
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "synchronous", synchronous).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    if version == 0 {
        for sql in SCHEMA {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", SCHEMA.len() as i64).unwrap();
    }
    conn
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Rows per second inserting `n` rows, `per_txn` rows per transaction
/// (1 = autocommit, one transaction per row).
pub fn insert_rate(path: &Path, n: usize, per_txn: usize, event_type: &str, body: &str) -> f64 {
    let mut conn = open(path);
    // The session id is the Unix ms of its start, as text.
    let (visitor, session) = (uuid::Uuid::new_v4().to_string(), now_ms().to_string());
    let start = Instant::now();
    let mut left = n;
    while left > 0 {
        let k = left.min(per_txn);
        let tx = conn.transaction().unwrap();
        {
            let mut stmt = tx.prepare_cached(INSERT).unwrap();
            for _ in 0..k {
                let ms = start.elapsed().as_millis() as i64;
                stmt.execute(params![
                    uuid::Uuid::new_v4().to_string(),
                    event_type,
                    body,
                    now_ms(),
                    visitor,
                    session,
                    ms
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
        left -= k;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Latencies (nanoseconds, sorted) of `n` rows inserted one transaction each
/// with `synchronous = FULL`: what SQLite itself takes to make one row durable
/// (every commit syncs the log), the engine's floor under an ON_RETURN + FULL call.
pub fn full_commit_ns(path: &Path, n: usize, event_type: &str, body: &str) -> Vec<u64> {
    let conn = open_with(path, "FULL");
    let (visitor, session) = (uuid::Uuid::new_v4().to_string(), now_ms().to_string());
    let start = Instant::now();
    let mut stmt = conn.prepare_cached(INSERT).unwrap();
    let mut out: Vec<u64> = (0..n)
        .map(|_| {
            let call = Instant::now();
            let ms = start.elapsed().as_millis() as i64;
            let id = uuid::Uuid::new_v4().to_string();
            stmt.execute(params![id, event_type, body, now_ms(), visitor, session, ms]).unwrap();
            call.elapsed().as_nanos() as u64
        })
        .collect();
    out.sort_unstable();
    out
}

/// Rows per second reading the oldest 500 rows (every column, as a sender does)
/// and deleting them, one transaction per 500, until the table is empty.
pub fn drain_rate(path: &Path) -> (f64, u64) {
    let mut conn = open(path);
    let start = Instant::now();
    let mut total = 0u64;
    loop {
        let tx = conn.transaction().unwrap();
        let (n, last) = {
            let mut sel = tx
                .prepare_cached(
                    "SELECT id, message_id, kind, type, url, body, created_ms, retry_count, is_offline
                     FROM hits ORDER BY id LIMIT 500",
                )
                .unwrap();
            let mut rows = sel.query([]).unwrap();
            let (mut n, mut last, mut bytes) = (0u64, 0i64, 0usize);
            while let Some(r) = rows.next().unwrap() {
                last = r.get(0).unwrap();
                let id: String = r.get(1).unwrap();
                let body: Option<String> = r.get(5).unwrap();
                bytes += id.len() + body.map_or(0, |b| b.len());
                n += 1;
            }
            std::hint::black_box(bytes);
            (n, last)
        };
        if n == 0 {
            break;
        }
        tx.prepare_cached("DELETE FROM hits WHERE id <= ?1").unwrap().execute([last]).unwrap();
        tx.commit().unwrap();
        total += n;
    }
    (total as f64 / start.elapsed().as_secs_f64(), total)
}
