//! Bytes on disk per stored event. The tracker's rows (schema 4: the user id,
//! the session, a reference to the context shared by every hit tracked under
//! it) beside the rows schema 3 stored for the same events (no user id, no
//! context) and beside the same rows with the context copied into each one
//! (what a snapshot per hit would cost without the `contexts` table).

use std::path::Path;

use attracker::ffi::{AT_DURABILITY_BATCHED, AT_OFFLINE_ALWAYS};
use rusqlite::{params, Connection};

use crate::capi::{self, Config};

/// A context as a mobile host sets it: app, device, screen, network.
pub const CONTEXT: &str = r#"{"app":{"name":"Example Game","version":"2.4.1","build":"2041","namespace":"com.example.game"},"device":{"manufacturer":"Apple","model":"iPhone15,2","type":"ios","id":"4F1C2A7E-6B8D-4E0F-9A3C-1D2E3F405162"},"screen":{"width":1179,"height":2556,"density":3},"network":{"wifi":true,"cellular":false,"carrier":"Example Mobile"}}"#;

pub struct Sizes {
    /// This library: an identified user, the context above, 300-byte properties.
    pub tracker: f64,
    /// The same events as schema 3 stored them.
    pub schema3: f64,
    /// Schema 3 rows with the full context (the library's part too) in each.
    pub inline_context: f64,
}

/// Bytes of the checkpointed database file per row of `hits`.
fn bytes_per_row(db: &Path) -> f64 {
    let conn = Connection::open(db).expect("open the measured store");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    let rows: i64 = conn.query_row("SELECT count(*) FROM hits", [], |r| r.get(0)).unwrap();
    (pages * size) as f64 / rows as f64
}

/// `n` events of 300-byte properties, stored three ways under `scratch`.
pub fn bytes_per_event(scratch: &Path, n: usize) -> Sizes {
    let (ty, props) = (capi::event_type(), capi::properties_300());
    let db = crate::fresh(scratch, "storage.db");
    let context_text;
    {
        let t = Config::new(&db, "http://127.0.0.1:9")
            .offline_mode(AT_OFFLINE_ALWAYS)
            .durability(AT_DURABILITY_BATCHED)
            .context(CONTEXT)
            .open();
        t.identify("user-1234567");
        for _ in 0..n {
            capi::check(t.track(&ty, &props), "track");
        }
        t.sync();
    }
    let tracker = bytes_per_row(&db);
    {
        let conn = Connection::open(&db).unwrap();
        context_text =
            conn.query_row("SELECT json FROM contexts LIMIT 1", [], |r| r.get::<_, String>(0)).unwrap();
    }
    let (ty, props) = (ty.to_str().unwrap(), props.to_str().unwrap());
    let schema3 = schema3_rows(&crate::fresh(scratch, "schema3.db"), n, ty, props, None);
    let inline = schema3_rows(&crate::fresh(scratch, "inline.db"), n, ty, props, Some(&context_text));
    Sizes { tracker, schema3, inline_context: inline }
}

/// Bytes per row of `n` rows as schema 3 wrote them (a UUID session id per
/// tracker start, no user id, no context); with `context`, each row's body
/// carries it too.
fn schema3_rows(db: &Path, n: usize, ty: &str, props: &str, context: Option<&str>) -> f64 {
    let mut conn = Connection::open(db).unwrap();
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).unwrap();
    for sql in [
        include_str!("../../src/store/sql/v1.sql"),
        include_str!("../../src/store/sql/v2.sql"),
        include_str!("../../src/store/sql/v3.sql"),
    ] {
        conn.execute_batch(sql).unwrap();
    }
    let body = match context {
        Some(c) => format!(r#"{{"properties":{props},"context":{c}}}"#),
        None => props.to_owned(),
    };
    let (visitor, session) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    let tx = conn.transaction().unwrap();
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO hits (message_id, kind, type, body, created_ms, visitor_id, session_id, session_ms)
                 VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .unwrap();
        for i in 0..n {
            let id = uuid::Uuid::new_v4().to_string();
            stmt.execute(params![id, ty, body, 1_795_366_000_000i64 + i as i64, visitor, session, i as i64])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    drop(conn);
    bytes_per_row(db)
}
