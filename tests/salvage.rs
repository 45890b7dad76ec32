//! Salvage keeps every column of every readable row, and is never abandoned half
//! way: when the damaged file cannot be read at the open that finds the damage
//! (the process is short of file descriptors), the store is either left as it
//! was or replaced with the salvage recorded, and a later open completes it.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use attracker::{Durability, LogLevel, Tracker};
use common::{config, files_named, Logs, TempDir};
use rusqlite::Connection;

/// Every column of every row, by message id, as SQLite returns it.
type Rows = HashMap<String, Vec<rusqlite::types::Value>>;

fn rows(db: &Path) -> Rows {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT message_id, kind, type, url, body, created_ms, retry_count, is_offline, next_attempt_ms,
                    visitor_id, session_id, session_ms
             FROM hits ORDER BY id",
        )
        .unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| Ok((r.get(0)?, (1..n).map(|i| r.get(i)).collect::<Result<Vec<_>, _>>()?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A store of `n` hits of two visitors (events and URL hits), some of them
/// retried and marked offline, then damaged so the integrity check fails while
/// every row stays readable: the root page of the `hits_in_flight` index is
/// overwritten.
fn damaged_store(dir: &TempDir, n: usize) -> Rows {
    let mut c = config(&dir.db());
    c.set_durability(Durability::Batched);
    let t = Tracker::new(c).unwrap();
    for i in 0..n {
        if i == n / 2 {
            t.set_visitor_id("second-visitor").unwrap();
        }
        if i % 3 == 0 {
            t.send_hit(&format!("https://example.com/p?i={i}"), "pageview", None).unwrap();
        } else {
            t.track_event("e", Some(&format!(r#"{{"i":{i}}}"#)), None).unwrap();
        }
    }
    t.close(Duration::from_secs(2)).unwrap();
    let conn = Connection::open(dir.db()).unwrap();
    conn.execute_batch(
        "UPDATE hits SET retry_count = 3, is_offline = 1, next_attempt_ms = 123456 WHERE id % 4 = 0;",
    )
    .unwrap();
    let root: i64 = conn
        .query_row("SELECT rootpage FROM sqlite_schema WHERE name = 'hits_in_flight'", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    drop(conn);
    let before = rows(&dir.db());
    let mut bytes = std::fs::read(dir.db()).unwrap();
    let page = 4096;
    let at = (root as usize - 1) * page;
    bytes[at..at + page].fill(0xC3);
    std::fs::write(dir.db(), &bytes).unwrap();
    before
}

#[test]
fn salvaged_rows_keep_every_column() {
    let dir = TempDir::new("salvage-columns");
    let before = damaged_store(&dir, 300);
    let mut c = config(&dir.db());
    let logs = Logs::default();
    logs.attach(&mut c);
    let t = Tracker::new(c).unwrap();
    let report = t.open_report().salvage.clone().expect("the damage is found at open");
    assert_eq!((report.salvaged, report.lost), (300, 0), "{report:?}");
    assert_eq!(t.visitor_id(), "second-visitor", "the store's visitor id is salvaged too");
    t.close(Duration::from_secs(1)).unwrap();
    let after = rows(&dir.db());
    assert_eq!(after.len(), 300);
    for (id, values) in &before {
        assert_eq!(after.get(id), Some(values), "row {id} is salvaged with every column");
    }
    assert!(logs.wait_for(LogLevel::Warn, "salvaged 300 hit(s), lost 0").is_some());
}

const CHILD_DB: &str = "ATTRACKER_TEST_SALVAGE_DB";
const CHILD_SPARE_FDS: &str = "ATTRACKER_TEST_SALVAGE_SPARE_FDS";

#[repr(C)]
struct RLimit {
    cur: u64,
    max: u64,
}

extern "C" {
    fn getrlimit(resource: i32, limit: *mut RLimit) -> i32;
    fn setrlimit(resource: i32, limit: *const RLimit) -> i32;
}

/// Linux's RLIMIT_NOFILE.
const RLIMIT_NOFILE: i32 = 7;

/// Not a test on its own: opens the damaged store with only a few file
/// descriptors to spare. Prints `outcome: opened <salvaged> <retry?>` or `outcome: failed <message>`.
#[test]
fn child_opening_short_of_file_descriptors() {
    let (Ok(db), Ok(spare)) = (std::env::var(CHILD_DB), std::env::var(CHILD_SPARE_FDS)) else { return };
    let spare: u64 = spare.parse().unwrap();
    let c = config(Path::new(&db));
    let open_fds = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64 - 1;
    // SAFETY: plain getrlimit/setrlimit calls on a local struct.
    unsafe {
        let mut limit = RLimit { cur: 0, max: 0 };
        assert_eq!(getrlimit(RLIMIT_NOFILE, &mut limit), 0);
        limit.cur = open_fds + spare;
        assert_eq!(setrlimit(RLIMIT_NOFILE, &limit), 0);
    }
    match Tracker::new(c) {
        Ok(t) => {
            let r = t.open_report().salvage.clone();
            let line = match r {
                Some(r) => format!("opened {} {}", r.salvaged, r.retry.is_some()),
                None => "opened none".to_owned(),
            };
            println!("outcome: {line}");
            // A tracker that could open may still be short of descriptors to close.
            std::mem::forget(t);
        }
        Err(e) => println!("outcome: failed {:?} {}", e.status, e.message),
    }
}

#[test]
fn a_salvage_short_of_file_descriptors_is_completed_by_a_later_open() {
    let template = TempDir::new("salvage-fds-template");
    let before = damaged_store(&template, 300);
    let damaged = std::fs::read(template.db()).unwrap();
    let mut outcomes = Vec::new();
    for spare in 0..=16 {
        let dir = TempDir::new("salvage-fds");
        std::fs::write(dir.db(), &damaged).unwrap();
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_opening_short_of_file_descriptors", "--nocapture", "--test-threads=1"])
            .env(CHILD_DB, dir.db())
            .env(CHILD_SPARE_FDS, spare.to_string())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.find("outcome: ").map(|i| l[i + 9..].to_owned()))
            .unwrap_or_else(|| panic!("spare {spare}: no outcome: {stdout}"));
        let aside = files_named(dir.path(), ".corrupt-");
        assert!(
            files_named(dir.path(), ".fresh").is_empty(),
            "spare {spare}: no half-built store left: {line}"
        );
        if line.starts_with("failed") {
            // Short of descriptors before the fresh store was complete: the
            // damaged store is left as it was. Or after it took the damaged
            // store's place (a later step of the open failed): the salvage is
            // recorded in it, and the open below completes it.
            if aside.is_empty() {
                assert_eq!(
                    std::fs::read(dir.db()).unwrap(),
                    damaged,
                    "spare {spare}: left as it was: {line}"
                );
            }
        } else {
            assert!(!aside.is_empty(), "spare {spare}: {line}");
            assert!(
                line == "opened 300 false" || line == "opened 0 true",
                "spare {spare}: all rows salvaged, or the salvage kept for later; never 'salvaged 0' alone: {line}"
            );
        }
        // A later open with descriptors to spare completes what was left.
        let mut c = config(&dir.db());
        let logs = Logs::default();
        logs.attach(&mut c);
        let t = Tracker::new(c).unwrap();
        let later = t.open_report().salvage.clone();
        t.close(Duration::from_secs(1)).unwrap();
        let after = rows(&dir.db());
        assert_eq!(after.len(), 300, "spare {spare}: every row salvaged in the end ({line}, then {later:?})");
        assert_eq!(after, before, "spare {spare}: with every column");
        if line == "opened 0 true" {
            assert_eq!(later.map(|r| r.salvaged), Some(300), "spare {spare}: the retry salvaged them");
            assert!(logs.wait_for(LogLevel::Warn, "salvaged 300").is_some());
        }
        outcomes.push(line);
    }
    eprintln!("outcomes by spare descriptors: {outcomes:?}");
    assert!(outcomes.iter().any(|o| o.starts_with("failed")), "some limit was too low to open at all");
    assert!(outcomes.iter().any(|o| o == "opened 300 false"), "enough descriptors salvage at once");
}
