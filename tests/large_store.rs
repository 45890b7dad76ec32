//! What keeps large stores fast: running totals instead of counting, and the
//! integrity check of a large store deferred to a background thread.

mod common;

use std::time::{Duration, Instant};

use attracker::{LogLevel, Tracker};
use common::{config, edit_store, Logs, TempDir};

const V1: &str = include_str!("../src/store/sql/v1.sql");

/// The totals as the queue row keeps them: its figures plus the rows above
/// `counted_to` (inserts rewrite the row only now and then).
fn totals_row(db: &std::path::Path) -> Option<(i64, i64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT q.hits + (SELECT count(*) FROM hits WHERE id > q.counted_to),
                q.bytes + (SELECT coalesce(sum(64 + octet_length(type) + coalesce(octet_length(url), 0)
                                               + coalesce(octet_length(body), 0)), 0)
                           FROM hits WHERE id > q.counted_to)
         FROM queue q WHERE q.id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

#[test]
fn a_version_1_store_is_migrated_with_its_totals() {
    let dir = TempDir::new("v1");
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.execute_batch(V1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        for n in 0..50 {
            conn.execute(
                "INSERT INTO hits (message_id, kind, type, body, created_ms) VALUES (?1, 0, 'e', ?2, 1)",
                rusqlite::params![format!("00000000-0000-4000-8000-{n:012}"), format!(r#"{{"n":{n}}}"#)],
            )
            .unwrap();
        }
    }
    let t = Tracker::new(config(&dir.db())).unwrap();
    assert_eq!(t.offline_count().unwrap(), 50);
    t.track_event("e", None, None).unwrap();
    assert_eq!(t.offline_count().unwrap(), 51);
    drop(t);
    let (hits, bytes) = totals_row(&dir.db()).unwrap();
    assert_eq!(hits, 51);
    // Each row counts 64 bytes of overhead plus its type and body.
    let body_bytes: i64 = (0..50).map(|n| format!(r#"{{"n":{n}}}"#).len() as i64).sum::<i64>() + 2;
    assert_eq!(bytes, 51 * (64 + 1) + body_bytes);
}

#[test]
fn a_missing_totals_row_is_recounted_at_open() {
    let dir = TempDir::new("recount");
    let t = Tracker::new(config(&dir.db())).unwrap();
    for _ in 0..30 {
        t.track_event("e", None, None).unwrap();
    }
    drop(t);
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    // Hand edits: 10 rows deleted, and the queue row with them, as the README says.
    conn.execute("DELETE FROM hits WHERE id <= 10", []).unwrap();
    conn.execute("DELETE FROM queue", []).unwrap();
    drop(conn);
    let t = Tracker::new(config(&dir.db())).unwrap();
    assert_eq!(t.offline_count().unwrap(), 20);
    drop(t);
    assert_eq!(totals_row(&dir.db()).map(|r| r.0), Some(20));
}

#[test]
fn the_queue_row_lags_inserts_but_never_deletes() {
    let dir = TempDir::new("lag");
    let t = Tracker::new(config(&dir.db())).unwrap();
    let stored = |db: &std::path::Path| {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.query_row("SELECT hits, counted_to FROM queue", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .unwrap()
    };
    for _ in 0..10 {
        t.track_event("e", None, None).unwrap();
    }
    assert_eq!(stored(&dir.db()), (0, 0), "ten single commits leave the row as it was");
    assert_eq!(t.offline_count().unwrap(), 10, "readers count the rows above it");
    for _ in 0..300 {
        t.track_event("e", None, None).unwrap();
    }
    let (hits, counted_to) = stored(&dir.db());
    assert!(hits >= 256 && hits == counted_to, "rewritten once 256 went uncounted: {hits} {counted_to}");
    assert_eq!(t.offline_count().unwrap(), 310);
    t.offline_delete_older_than(i64::MAX).unwrap();
    assert_eq!(stored(&dir.db()).0, 0, "a delete rewrites it at once");
    assert_eq!(t.offline_count().unwrap(), 0);
    t.track_event("e", None, None).unwrap();
    drop(t);
    let t = Tracker::new(config(&dir.db())).unwrap();
    assert_eq!(t.offline_count().unwrap(), 1);
    assert_eq!(t.stats().unwrap().queued, 1);
}

#[test]
fn two_trackers_on_one_store_keep_one_count() {
    let dir = TempDir::new("two");
    let a = Tracker::new(config(&dir.db())).unwrap();
    let b = Tracker::new(config(&dir.db())).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| (0..100).for_each(|_| a.track_event("a", None, None).unwrap()));
        s.spawn(|| (0..100).for_each(|_| b.track_event("b", None, None).unwrap()));
    });
    assert_eq!(a.offline_count().unwrap(), 200);
    assert_eq!(b.offline_count().unwrap(), 200);
    a.track_event("a", None, None).unwrap();
    assert_eq!(a.stats().unwrap().queued, 201, "a commit takes in the other's commits");
    assert_eq!(b.offline_delete().unwrap(), 201);
    a.track_event("a", None, None).unwrap();
    assert_eq!(a.offline_count().unwrap(), 1);
    assert_eq!(b.offline_count().unwrap(), 1);
}

/// A store past the size that is checked in full at open (16 MiB).
fn large_store(dir: &TempDir) {
    let mut c = config(&dir.db());
    c.set_max_queue_size(100_000).unwrap();
    c.set_max_store_bytes(1 << 30).unwrap();
    let t = Tracker::new(c).unwrap();
    let pad = "p".repeat(10_000);
    for n in 0..2000 {
        t.track_event("e", Some(&format!(r#"{{"n":{n},"pad":"{pad}"}}"#)), None).unwrap();
    }
    t.close(Duration::from_secs(5)).unwrap();
}

#[test]
fn damage_in_a_large_store_is_found_in_the_background_and_salvaged_at_the_next_start() {
    let dir = TempDir::new("large");
    large_store(&dir);
    // Smash pages in the middle of the file, away from both ends of the table.
    let mut bytes = std::fs::read(dir.db()).unwrap();
    let page = 4096;
    assert!(bytes.len() > 4200 * page, "a large store: {} bytes", bytes.len());
    for b in &mut bytes[2500 * page..2504 * page] {
        *b = 0xA5;
    }
    std::fs::write(dir.db(), &bytes).unwrap();
    let marker = format!("{}.check-failed", dir.db().display());

    let open = |logs: &Logs| {
        let mut c = config(&dir.db());
        c.set_max_queue_size(100_000).unwrap();
        c.set_max_store_bytes(1 << 30).unwrap();
        logs.attach(&mut c);
        let started = Instant::now();
        let t = Tracker::new(c).unwrap();
        (t, started.elapsed())
    };
    let logs = Logs::default();
    let (t, _) = open(&logs);
    assert!(t.open_report().salvage.is_none(), "the check at open is structural only");
    let deadline = Instant::now() + Duration::from_secs(20);
    while logs.find(LogLevel::Warn, "damaged").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let warn = logs.wait_for(LogLevel::Warn, "damaged").expect("the background check reports the damage");
    assert!(warn.contains("next start"), "{warn}");
    assert!(std::path::Path::new(&marker).exists(), "a marker for the next start");
    t.track_event("still", None, None).unwrap();
    drop(t);

    let logs = Logs::default();
    let (t, _) = open(&logs);
    let report = t.open_report().salvage.clone().expect("moved aside and salvaged at the next start");
    assert!(report.salvaged > 1900, "{report:?}");
    assert!(report.salvaged < 2001, "{report:?}");
    assert_eq!(t.offline_count().unwrap(), report.salvaged);
    assert!(!std::path::Path::new(&marker).exists(), "the marker is gone with the damaged file");
    assert!(logs.wait_for(LogLevel::Warn, "salvaged").is_some());
}

#[test]
fn a_sound_large_store_opens_without_a_full_check_and_closes_promptly() {
    let dir = TempDir::new("large-ok");
    large_store(&dir);
    let logs = Logs::default();
    let mut c = config(&dir.db());
    c.set_max_queue_size(100_000).unwrap();
    c.set_max_store_bytes(1 << 30).unwrap();
    logs.attach(&mut c);
    let t = Tracker::new(c).unwrap();
    assert_eq!(t.offline_count().unwrap(), 2000);
    // Closing interrupts the background check rather than waiting for it.
    t.close(Duration::from_secs(1)).unwrap();
    assert!(logs.find(LogLevel::Warn, "damaged").is_none());
    assert!(!std::path::Path::new(&format!("{}.check-failed", dir.db().display())).exists());
}

/// Copies the store files of `from` into a new directory.
fn copy_store(from: &TempDir, tag: &str) -> TempDir {
    let to = TempDir::new(tag);
    for suffix in ["", "-wal"] {
        let src = format!("{}{suffix}", from.db().display());
        if std::path::Path::new(&src).exists() {
            std::fs::copy(&src, format!("{}{suffix}", to.db().display())).unwrap();
        }
    }
    to
}

fn open_large(dir: &TempDir, logs: &Logs, drops: &common::Drops) -> Tracker {
    let mut c = config(&dir.db());
    c.set_max_queue_size(100_000).unwrap();
    c.set_max_store_bytes(1 << 30).unwrap();
    logs.attach(&mut c);
    drops.attach(&mut c);
    Tracker::new(c).unwrap()
}

#[test]
fn implausible_totals_in_a_large_store_are_recounted_at_open_and_drop_nothing() {
    let base = TempDir::new("large-implausible");
    large_store(&base);
    // 2000 rows, 20 MB: a total of 1e12 hits, 1e15 bytes or a counted_to past
    // every id cannot be true, and the cheap facts at open show it.
    for (what, sql) in [
        ("hits", "UPDATE queue SET hits = 1e12"),
        ("bytes", "UPDATE queue SET bytes = 1e15"),
        ("counted_to", "UPDATE queue SET counted_to = 1e12, hits = 0, bytes = 0"),
        ("too few bytes", "UPDATE queue SET bytes = 10"),
        ("hits 0", "UPDATE queue SET hits = 0"),
    ] {
        let dir = copy_store(&base, "large-implausible-copy");
        edit_store(&dir, sql);
        let (logs, drops) = (Logs::default(), common::Drops::default());
        let t = open_large(&dir, &logs, &drops);
        assert_eq!(t.offline_count().unwrap(), 2000, "{what}");
        for _ in 0..10 {
            t.track_event("after", None, None).unwrap();
        }
        assert_eq!(t.offline_count().unwrap(), 2010, "{what}");
        assert_eq!(t.stats().unwrap().queued, 2010, "{what}");
        t.close(Duration::from_secs(1)).unwrap();
        assert!(drops.0.lock().unwrap().is_empty(), "{what}: nothing dropped");
        let warn = logs.wait_for(LogLevel::Warn, "queue totals").unwrap_or_else(|| panic!("{what}: a WARN"));
        assert!(warn.contains("recounted"), "{warn}");
    }
}

#[test]
fn the_background_check_corrects_totals_that_are_plausible_but_wrong() {
    let dir = TempDir::new("large-off-by-some");
    large_store(&dir);
    // Five too few: within every cheap fact, found only by a real count.
    edit_store(&dir, "UPDATE queue SET hits = hits - 5, bytes = bytes - 5 * 10100");
    let (logs, drops) = (Logs::default(), common::Drops::default());
    let t = open_large(&dir, &logs, &drops);
    let deadline = Instant::now() + Duration::from_secs(30);
    while t.offline_count().unwrap() != 2000 {
        assert!(Instant::now() < deadline, "the background check never corrected the count");
        std::thread::sleep(Duration::from_millis(20));
    }
    t.track_event("after", None, None).unwrap();
    assert_eq!(t.stats().unwrap().queued, 2001, "the writer took in the corrected totals");
    t.close(Duration::from_secs(1)).unwrap();
    assert!(logs.wait_for(LogLevel::Warn, "disagreed").is_some());
}

#[test]
fn totals_that_disagree_with_the_table_never_drop_a_hit() {
    let dir = TempDir::new("limits-trust");
    let mut c = config(&dir.db());
    c.set_max_queue_size(40).unwrap();
    let (logs, drops) = (Logs::default(), common::Drops::default());
    logs.attach(&mut c);
    drops.attach(&mut c);
    let t = Tracker::new(c).unwrap();
    for _ in 0..40 {
        t.track_event("e", None, None).unwrap();
    }
    // Another program edits the store while the tracker runs: it deletes ten
    // rows in the middle and leaves totals claiming 40 hits (plausible: the
    // ids still span 1..40) where there are 30.
    edit_store(
        &dir,
        "UPDATE queue SET hits = 40, counted_to = 40,
                          bytes = (SELECT sum(64 + octet_length(type) + coalesce(octet_length(body), 0)) FROM hits);
         DELETE FROM hits WHERE id BETWEEN 10 AND 19;",
    );
    for _ in 0..5 {
        t.track_event("e", None, None).unwrap();
    }
    assert_eq!(t.offline_count().unwrap(), 35);
    t.close(Duration::from_secs(1)).unwrap();
    assert!(drops.ids(attracker::DropReason::Overflow).is_empty(), "no hit dropped for a wrong counter");
    assert!(logs.wait_for(LogLevel::Warn, "disagreed").is_some());
}

/// A store of many small rows, `rows` of them, written with SQL (fast): its
/// full check reads every row, so it runs for a while.
fn many_rows_store(dir: &TempDir, rows: u32) {
    Tracker::new(config(&dir.db())).unwrap().close(Duration::from_secs(5)).unwrap();
    edit_store(
        dir,
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
             INSERT INTO hits (message_id, kind, type, body, created_ms)
             SELECT printf('m-%08d', i), 0, 'e', printf('{{\"n\":%d,\"pad\":\"%.200c\"}}', i, 'p'), 1 FROM n;
             DELETE FROM queue;"
        ),
    );
}

#[test]
fn the_background_check_gives_way_to_the_writer_and_the_log_stays_bounded() {
    let dir = TempDir::new("large-busy");
    many_rows_store(&dir, 90_000);
    let (logs, drops) = (Logs::default(), common::Drops::default());
    let t = open_large(&dir, &logs, &drops);
    // Commits while the check holds its read snapshot: a log that cannot start
    // over grows by every commit, unless the check gives way.
    let started = Instant::now();
    let mut tracked = 0;
    while logs.find(LogLevel::Debug, "gave way").is_none() && started.elapsed() < Duration::from_secs(20) {
        for _ in 0..50 {
            t.track_event("busy", Some(r#"{"k":1}"#), None).unwrap();
        }
        tracked += 50;
    }
    let gave_way = logs.find(LogLevel::Debug, "gave way");
    let peak = t.stats().unwrap().wal_peak_bytes;
    assert!(gave_way.is_some(), "the check gave way to {tracked} commits (log peak {peak} bytes)");
    // The log is cut back to 4 MiB when it starts over; one commit past the mark
    // at which the check gives way stays under it.
    assert!(peak <= 4 << 20, "the log grew to {peak} bytes while the check ran");
    // Once the writer is quiet the check runs again, and to its end.
    let deadline = Instant::now() + Duration::from_secs(60);
    while logs.find(LogLevel::Debug, "background check done").is_none() {
        assert!(Instant::now() < deadline, "the check never finished once the writer was quiet");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(t.offline_count().unwrap(), 90_000 + tracked);
    t.close(Duration::from_secs(1)).unwrap();
    assert!(logs.find(LogLevel::Warn, "damaged").is_none());
}
