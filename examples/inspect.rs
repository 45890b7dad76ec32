//! Prints a store's hits as JSON lines, oldest first, for a developer looking at
//! what an app has queued. Opens the database read-only: a tracker that has it
//! open is not disturbed (WAL readers never block the writer).
//!
//! Run: cargo run --example inspect -- path/to/attracker.db

use rusqlite::{Connection, OpenFlags};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: inspect <store.db>");
        std::process::exit(2);
    };
    if let Err(e) = run(&path) {
        eprintln!("inspect: {path}: {e}");
        std::process::exit(1);
    }
}

fn run(path: &str) -> rusqlite::Result<()> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    eprintln!("schema version {version}");
    let mut stmt = conn.prepare(
        "SELECT id, message_id, kind, type, url, body, created_ms, retry_count, is_offline, state, next_attempt_ms
         FROM hits ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let body: Option<String> = r.get(5)?;
        // Properties are printed as JSON, not as a string holding JSON.
        let properties =
            body.as_deref().map(|b| serde_json::from_str(b).unwrap_or(serde_json::Value::String(b.into())));
        let line = serde_json::json!({
            "id": r.get::<_, i64>(0)?,
            "message_id": r.get::<_, String>(1)?,
            "kind": if r.get::<_, i64>(2)? == 1 { "url" } else { "event" },
            "type": r.get::<_, String>(3)?,
            "url": r.get::<_, Option<String>>(4)?,
            "properties": properties,
            "created_ms": r.get::<_, i64>(6)?,
            "retry_count": r.get::<_, i64>(7)?,
            "is_offline": r.get::<_, i64>(8)? != 0,
            "state": if r.get::<_, i64>(9)? == 1 { "in_flight" } else { "pending" },
            "next_attempt_ms": r.get::<_, i64>(10)?,
        });
        println!("{line}");
        n += 1;
    }
    eprintln!("{n} hit(s)");
    Ok(())
}
