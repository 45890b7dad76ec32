//! A sound store whose values are changed through SQL: any column of any row of
//! `hits`, the `queue` row, and `meta` values, set to fuzzed NULLs, integers,
//! reals, text (also invalid UTF-8) and blobs; rows deleted or duplicated. Then
//! the round of `attracker_fuzz::store::exercise`.
//!
//! The template store is written by the library at start (events, URL hits, a
//! cached remote configuration); columns are read from the schema, so a new
//! column is fuzzed too.
//!
//! Input: a sequence of (operation, target, value). Statements SQLite refuses
//! (NOT NULL, CHECK, UNIQUE) change nothing and are skipped.
//!
//! What must hold: the store is never moved aside (the file is sound: damaged
//! values are dropped row by row), the count agrees with the hits listed, an
//! exported batch is JSON, and everything `store_bytes` checks.

#![no_main]

use std::ffi::CString;
use std::path::PathBuf;
use std::ptr::null_mut;
use std::sync::OnceLock;

use attracker::ffi::*;
use attracker_fuzz::store::{exercise, Damage};
use attracker_fuzz::{clear_dir, scratch, Config, Input, Tracker};
use libfuzzer_sys::fuzz_target;
use rusqlite::types::Value;
use rusqlite::{params, Connection};

struct Template {
    dir: PathBuf,
    bytes: Vec<u8>,
    hit_columns: Vec<String>,
    queue_columns: Vec<String>,
}

fn columns(conn: &Connection, table: &str) -> Vec<String> {
    let mut s = conn.prepare(&format!("PRAGMA table_info({table})")).unwrap();
    s.query_map([], |r| r.get::<_, String>(1)).unwrap().map(Result::unwrap).collect()
}

fn template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| {
        let dir = scratch("store-sql");
        let db = dir.join("hits.db");
        let c = Config::offline_store(&db);
        let t = Tracker::open(&c, &[AT_OK]).unwrap();
        let events = [r#"{"plan":"pro"}"#, "{}", r#"{"a":[1,{"b":null}],"c":"\u00e9"}"#, r#"{"n":1e3}"#];
        for (i, props) in events.iter().enumerate() {
            let ty = CString::new(format!("event {i}")).unwrap();
            let props = CString::new(*props).unwrap();
            assert_eq!(unsafe { at_track_event(t.0, ty.as_ptr(), props.as_ptr(), None, null_mut()) }, AT_OK);
        }
        for u in [c"https://collect.example.com/h?x=1", c"http://127.0.0.1:8080/p"] {
            assert_eq!(unsafe { at_send_hit(t.0, u.as_ptr(), c"screen".as_ptr(), None, null_mut()) }, AT_OK);
        }
        t.close();
        drop(t);
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "INSERT OR REPLACE INTO meta (key, value) VALUES
               ('remote_config', '{\"schema_version\":1,\"flush_threshold\":5}'),
               ('remote_config_etag', '\"v1\"');",
        )
        .unwrap();
        let hit_columns = columns(&conn, "hits");
        let queue_columns = columns(&conn, "queue");
        drop(conn);
        let bytes = std::fs::read(&db).unwrap();
        clear_dir(&dir);
        Template { dir, bytes, hit_columns, queue_columns }
    })
}

fn value(input: &mut Input) -> Value {
    match input.u8() % 7 {
        0 => Value::Null,
        1 => Value::Integer(input.i64()),
        2 => Value::Real(f64::from_bits(input.u64())),
        3 => Value::Text(String::from_utf8_lossy(input.field()).into_owned()),
        4 => Value::Blob(input.field().to_vec()),
        // A number as text, for columns with integer affinity.
        5 => Value::Text(input.i64().to_string()),
        _ => Value::Integer(i64::from(input.u8()) - 2),
    }
}

fn set(conn: &Connection, table: &str, column: &str, row: &str, v: &Value, as_text: bool) {
    let cast = if as_text { "CAST(?1 AS TEXT)" } else { "?1" };
    let sql = format!("UPDATE {table} SET \"{column}\" = {cast} WHERE {row}");
    let _ = conn.execute(&sql, params![v]);
}

fuzz_target!(|data: &[u8]| {
    let tpl = template();
    clear_dir(&tpl.dir);
    let db = tpl.dir.join("hits.db");
    std::fs::write(&db, &tpl.bytes).unwrap();
    {
        let conn = Connection::open(&db).unwrap();
        let ids: Vec<i64> = {
            let mut s = conn.prepare("SELECT id FROM hits ORDER BY id").unwrap();
            s.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
        };
        let mut input = Input::new(data);
        let mut ops = 0;
        while !input.is_empty() && ops < 32 {
            ops += 1;
            match input.u8() % 6 {
                0 | 1 => {
                    let col = &tpl.hit_columns[usize::from(input.u8()) % tpl.hit_columns.len()];
                    let id = ids[usize::from(input.u8()) % ids.len()];
                    let text = input.u8() & 1 == 1;
                    let v = value(&mut input);
                    set(&conn, "hits", col, &format!("id = {id}"), &v, text);
                }
                2 => {
                    let col = &tpl.queue_columns[usize::from(input.u8()) % tpl.queue_columns.len()];
                    let text = input.u8() & 1 == 1;
                    let v = value(&mut input);
                    set(&conn, "queue", col, "id = 1", &v, text);
                }
                3 => {
                    let key = match input.u8() % 4 {
                        0 => "visitor_id".to_owned(),
                        1 => "remote_config".to_owned(),
                        2 => "remote_config_etag".to_owned(),
                        _ => String::from_utf8_lossy(input.field()).into_owned(),
                    };
                    let text = input.u8() & 1 == 1;
                    let v = value(&mut input);
                    let cast = if text { "CAST(?2 AS TEXT)" } else { "?2" };
                    let _ = conn.execute(
                        &format!("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, {cast})"),
                        params![key, v],
                    );
                }
                4 => {
                    let id = ids[usize::from(input.u8()) % ids.len()];
                    let _ = conn.execute("DELETE FROM hits WHERE id = ?1", [id]);
                }
                _ => {
                    // A copy of a row under a new id, or the queue row removed.
                    if input.bool() {
                        let id = ids[usize::from(input.u8()) % ids.len()];
                        let cols: Vec<&str> =
                            tpl.hit_columns.iter().map(String::as_str).filter(|c| *c != "id").collect();
                        let list = cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
                        let _ = conn.execute(
                            &format!("INSERT INTO hits ({list}) SELECT {list} FROM hits WHERE id = ?1"),
                            [id],
                        );
                    } else {
                        let _ = conn.execute("DELETE FROM queue", []);
                    }
                }
            }
        }
    }
    exercise(&tpl.dir, &db, Damage::Values);
});
