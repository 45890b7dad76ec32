//! The bundled SQLite is built for size (README "Size"): the features the
//! library never uses are left out through libsqlite3-sys's LIBSQLITE3_FLAGS
//! (.cargo/config.toml), and what the store needs is in. rusqlite here is the
//! library's own build of SQLite (one libsqlite3-sys in the test binary), so
//! a build that lost the flags (cargo run from outside the repository, a
//! changed libsqlite3-sys) fails here.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use attracker::Tracker;
use common::{config, TempDir};
use rusqlite::Connection;

fn compile_options(conn: &Connection) -> BTreeSet<String> {
    let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

/// Options libsqlite3-sys turns on by default that the library never uses.
const LEFT_OUT: &[&str] = &[
    "ENABLE_FTS3",
    "ENABLE_FTS3_PARENTHESIS",
    "ENABLE_FTS4",
    "ENABLE_FTS5",
    "ENABLE_RTREE",
    "ENABLE_GEOPOLY",
    "ENABLE_DBSTAT_VTAB",
    "ENABLE_STAT4",
    "SOUNDEX",
    "ENABLE_COLUMN_METADATA",
    "ENABLE_LOAD_EXTENSION",
];

/// Parts of SQLite omitted outright.
const OMITTED: &[&str] = &[
    "OMIT_JSON",
    "OMIT_LOAD_EXTENSION",
    "OMIT_DEPRECATED",
    "OMIT_SHARED_CACHE",
    "OMIT_UTF16",
    "OMIT_GET_TABLE",
    "OMIT_COMPLETE",
    "OMIT_DECLTYPE",
];

#[test]
fn unused_features_are_left_out_of_the_bundled_sqlite() {
    let conn = Connection::open_in_memory().unwrap();
    let options = compile_options(&conn);
    for option in LEFT_OUT {
        assert!(!options.contains(*option), "{option} is built in: {options:?}");
    }
    for option in OMITTED {
        assert!(options.contains(*option), "{option} is missing: {options:?}");
    }
    // What the library relies on stays: serialized threading for the
    // connections of several threads, misuse checks at the API.
    assert!(options.contains("THREADSAFE=1"), "{options:?}");
    assert!(options.contains("ENABLE_API_ARMOR"), "{options:?}");
}

#[test]
fn the_left_out_features_are_really_gone() {
    let conn = Connection::open_in_memory().unwrap();
    let fails = |sql: &str, why: &str| {
        let err = conn.execute_batch(sql).expect_err(sql).to_string();
        assert!(err.contains(why), "{sql}: {err}");
    };
    fails("CREATE VIRTUAL TABLE f5 USING fts5(x)", "no such module: fts5");
    fails("CREATE VIRTUAL TABLE f4 USING fts4(x)", "no such module: fts4");
    fails("CREATE VIRTUAL TABLE r USING rtree(id, x0, x1)", "no such module: rtree");
    fails("SELECT * FROM dbstat", "no such table: dbstat");
    fails("SELECT json('{}')", "no such function: json");
    fails("SELECT soundex('x')", "no such function: soundex");
}

/// Every kind of statement the store uses, on a file in WAL mode.
#[test]
fn what_the_store_needs_is_built_in() {
    let dir = TempDir::new("sqlite-build");
    let conn = Connection::open(dir.db()).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    for sql in [
        include_str!("../src/store/sql/v1.sql"),
        include_str!("../src/store/sql/v2.sql"),
        include_str!("../src/store/sql/v3.sql"),
        include_str!("../src/store/sql/v4.sql"),
    ] {
        conn.execute_batch(sql).unwrap();
    }
    conn.execute(
        "INSERT INTO hits (message_id, kind, type, body, created_ms) VALUES ('m', 0, 't', '{}', 1)",
        [],
    )
    .unwrap();
    // AUTOINCREMENT, table-valued pragmas, octet_length, RETURNING, WITHOUT ROWID.
    let seq: i64 =
        conn.query_row("SELECT seq FROM sqlite_sequence WHERE name = 'hits'", [], |r| r.get(0)).unwrap();
    assert_eq!(seq, 1);
    let columns: i64 =
        conn.query_row("SELECT count(*) FROM pragma_table_info('hits')", [], |r| r.get(0)).unwrap();
    assert_eq!(columns, 18);
    let size: i64 = conn
        .query_row(
            "DELETE FROM hits WHERE id = 1 RETURNING octet_length(type) + octet_length(body)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(size, 3);
    conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')", []).unwrap();
    let verdict: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0)).unwrap();
    assert_eq!(verdict, "ok");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    drop(conn);

    // And the library itself on that build, in a store of its own.
    let t = Tracker::new(config(&dir.path().join("tracker.db"))).unwrap();
    t.track_event("built", Some(r#"{"small":true}"#), None).unwrap();
    assert_eq!(t.offline_count().unwrap(), 1);
    t.close(Duration::from_secs(1)).unwrap();
}
