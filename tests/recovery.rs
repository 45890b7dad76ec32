//! Crash recovery, the corruption boundary and storage errors, against real files
//! and real processes.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use attracker::{DropReason, Durability, LogLevel, Status, Tracker};
use common::rng::{seed, Rng};
use common::{config, files_named, Drops, Logs, ManualClock, TempDir};

const CHILD_DB: &str = "ATTRACKER_TEST_CHILD_DB";
const CHILD_DURABILITY: &str = "ATTRACKER_TEST_CHILD_DURABILITY";

/// Not a test on its own: the body of the child process `kill -9` is aimed at.
/// It tracks from 4 threads and prints "thread seq" for every hit acknowledged
/// as committed.
#[test]
fn child_process_tracking_until_killed() {
    let Ok(db) = std::env::var(CHILD_DB) else { return };
    let batched = std::env::var(CHILD_DURABILITY).as_deref() == Ok("batched");
    let mut c = config(db.as_ref());
    c.set_max_queue_size(1_000_000).unwrap();
    c.set_max_store_bytes(1 << 30).unwrap();
    c.set_durability(if batched { Durability::Batched } else { Durability::OnReturn });
    let t = std::sync::Arc::new(Tracker::new(c).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let t = t.clone();
            std::thread::spawn(move || {
                let tag = std::process::id();
                for seq in 0u64.. {
                    let props = format!(r#"{{"p":{tag},"t":{thread},"s":{seq}}}"#);
                    t.track_event("k", Some(&props), None).unwrap();
                    if batched && seq % 16 != 15 {
                        continue;
                    }
                    if batched {
                        t.sync().unwrap();
                    }
                    let first = if batched { seq - 15 } else { seq };
                    let mut out = std::io::stdout().lock();
                    for s in first..=seq {
                        use std::io::Write;
                        writeln!(out, "{tag} {thread} {s}").unwrap();
                    }
                    use std::io::Write;
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
}

#[test]
fn every_hit_acknowledged_before_kill_9_is_in_the_store() {
    let dir = TempDir::new("kill9");
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng::new(seed("ATTRACKER_SEED", None));
    let mut acknowledged: HashSet<(u64, u64, u64)> = HashSet::new();
    let rounds = [("on_return", 6), ("batched", 4)];
    for (durability, n) in rounds {
        for _ in 0..n {
            let mut child = Command::new(&exe)
                .args(["--exact", "child_process_tracking_until_killed", "--nocapture", "--test-threads=1"])
                .env(CHILD_DB, dir.db())
                .env(CHILD_DURABILITY, durability)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let wanted = 50 + rng.below(400);
            let mut reader = BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            let mut got = 0;
            let deadline = Instant::now() + Duration::from_secs(20);
            while got < wanted && Instant::now() < deadline {
                line.clear();
                if reader.read_line(&mut line).unwrap() == 0 {
                    break;
                }
                if let Some(ack) = parse_ack(&line) {
                    acknowledged.insert(ack);
                    got += 1;
                }
            }
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            // Lines printed before the kill are acknowledgements too.
            for line in reader.lines().map_while(Result::ok) {
                if let Some(ack) = parse_ack(&line) {
                    acknowledged.insert(ack);
                }
            }
            assert!(got > 0, "the child tracked nothing ({durability})");
        }
    }
    let mut c = config(&dir.db());
    c.set_max_queue_size(1_000_000).unwrap();
    let t = Tracker::new(c).unwrap();
    assert!(t.open_report().salvage.is_none(), "a killed process never damages the store");
    let stored: HashSet<(u64, u64, u64)> = t
        .offline_get()
        .unwrap()
        .iter()
        .map(|h| {
            let v: serde_json::Value = serde_json::from_str(h.body.as_deref().unwrap()).unwrap();
            (v["p"].as_u64().unwrap(), v["t"].as_u64().unwrap(), v["s"].as_u64().unwrap())
        })
        .collect();
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged hits lost: {:?}",
        lost.len(),
        acknowledged.len(),
        &lost[..lost.len().min(5)]
    );
}

fn parse_ack(line: &str) -> Option<(u64, u64, u64)> {
    let mut it = line.split_whitespace().map(|w| w.parse::<u64>());
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(p)), Some(Ok(t)), Some(Ok(s))) => Some((p, t, s)),
        _ => None,
    }
}

#[test]
fn rows_a_schema_1_library_left_in_flight_become_pending_at_open() {
    let dir = TempDir::new("inflight");
    let t = Tracker::new(config(&dir.db())).unwrap();
    for _ in 0..5 {
        t.track_event("e", None, None).unwrap();
    }
    drop(t);
    // Schema 1 marked leased rows in the rows themselves.
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    conn.execute("UPDATE hits SET state = 1 WHERE id <= 3", []).unwrap();
    drop(conn);
    let t = Tracker::new(config(&dir.db())).unwrap();
    assert_eq!(t.open_report().recovered_in_flight, 3);
    drop(t);
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let in_flight: i64 =
        conn.query_row("SELECT count(*) FROM hits WHERE state != 0", [], |r| r.get(0)).unwrap();
    assert_eq!(in_flight, 0);
}

#[test]
fn a_lease_span_left_by_a_dead_sender_is_cleared_by_the_next_one() {
    let dir = TempDir::new("span");
    let t = Tracker::new(config(&dir.db())).unwrap();
    for _ in 0..5 {
        t.track_event("e", None, None).unwrap();
    }
    drop(t);
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    conn.execute("UPDATE queue SET leased_first = 2, leased_last = 4", []).unwrap();
    drop(conn);
    let t = Tracker::new(config(&dir.db())).unwrap();
    assert_eq!(t.open_report().recovered_in_flight, 3);
    assert_eq!(t.offline_count().unwrap(), 5, "nothing in the span was changed or lost");
    drop(t);
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let span: Option<i64> = conn.query_row("SELECT leased_first FROM queue", [], |r| r.get(0)).unwrap();
    assert_eq!(span, None);
}

#[test]
fn a_file_that_is_not_a_database_is_moved_aside_and_the_tracker_works() {
    let dir = TempDir::new("notadb");
    std::fs::write(dir.db(), b"this is not a database, just a file the size of a page or two".repeat(100))
        .unwrap();
    let mut c = config(&dir.db());
    let logs = Logs::default();
    logs.attach(&mut c);
    let t = Tracker::new(c).unwrap();
    let report = t.open_report().salvage.clone().expect("salvage report");
    assert_eq!(report.salvaged, 0);
    t.track_event("after", None, None).unwrap();
    assert_eq!(t.offline_count().unwrap(), 1);
    t.close(Duration::from_secs(1)).unwrap();
    let aside = files_named(dir.path(), ".corrupt-");
    assert!(aside.iter().any(|n| n.starts_with("hits.db.corrupt-") && !n.contains("-wal")), "{aside:?}");
    let warn = logs.wait_for(LogLevel::Warn, "damaged").expect("a WARN line");
    assert!(warn.contains("salvaged 0"), "{warn}");
}

#[test]
fn a_damaged_crash_image_moves_aside_with_its_wal_and_shm_and_is_salvaged() {
    let live = TempDir::new("live");
    let mut c = config(&live.db());
    c.set_max_queue_size(100_000).unwrap();
    c.set_max_store_bytes(1 << 30).unwrap();
    c.set_durability(Durability::Batched);
    let t = Tracker::new(c.clone()).unwrap();
    let pad = "w".repeat(300);
    for n in 0..11_500 {
        t.track_event("e", Some(&format!(r#"{{"n":{n},"pad":"{pad}"}}"#)), None).unwrap();
    }
    t.sync().unwrap();
    // Every frame into the main file, waiting out the tracker's own checkpoint
    // thread if it is at work.
    let side = rusqlite::Connection::open(live.db()).unwrap();
    side.busy_timeout(Duration::from_secs(10)).unwrap();
    let full = || side.query_row("PRAGMA wal_checkpoint(FULL)", [], |r| r.get::<_, i64>(0)).unwrap() == 0;
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !full() {
        assert!(std::time::Instant::now() < until, "the checkpoint completes");
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(side);
    for n in 11_500..12_000 {
        t.track_event("e", Some(&format!(r#"{{"n":{n},"pad":"{pad}"}}"#)), None).unwrap();
    }
    t.sync().unwrap();
    // The files as a killed process leaves them: early rows checkpointed into
    // the main file, the latest ones only in the WAL.
    let dir = TempDir::new("image");
    for suffix in ["", "-wal", "-shm"] {
        std::fs::copy(format!("{}{suffix}", live.db().display()), format!("{}{suffix}", dir.db().display()))
            .unwrap();
    }
    drop(t);
    assert!(std::fs::metadata(format!("{}-wal", dir.db().display())).unwrap().len() > 0);
    let mut bytes = std::fs::read(dir.db()).unwrap();
    for b in &mut bytes[40 * 4096..44 * 4096] {
        *b = 0x5A;
    }
    std::fs::write(dir.db(), &bytes).unwrap();

    c.set_storage_path(dir.db().to_str().unwrap()).unwrap();
    let t = Tracker::new(c).unwrap();
    let report = t.open_report().salvage.clone().expect("damage detected");
    assert!(report.salvaged > 11_000 && report.salvaged < 12_000, "{report:?}");
    assert_eq!(t.offline_count().unwrap(), report.salvaged);
    assert_eq!(report.lost, 12_000 - report.salvaged, "{report:?}");
    drop(t);
    let aside = files_named(dir.path(), ".corrupt-");
    assert_eq!(aside.len(), 3, "database, -wal and -shm moved together: {aside:?}");
}

#[test]
fn garbage_pages_lose_only_the_damaged_rows() {
    let dir = TempDir::new("garbage");
    let mut c = config(&dir.db());
    c.set_max_queue_size(10_000).unwrap();
    let t = Tracker::new(c).unwrap();
    let pad = "p".repeat(300);
    for n in 0..2000 {
        t.track_event("e", Some(&format!(r#"{{"n":{n},"pad":"{pad}"}}"#)), None).unwrap();
    }
    t.close(Duration::from_secs(1)).unwrap();
    drop(t);
    // Checkpointed on close: the rows live in the main file. Smash pages 40..44.
    let mut bytes = std::fs::read(dir.db()).unwrap();
    let page = 4096;
    assert!(bytes.len() > 50 * page, "file is {} bytes", bytes.len());
    for b in &mut bytes[40 * page..44 * page] {
        *b = 0xA5;
    }
    std::fs::write(dir.db(), &bytes).unwrap();

    let mut c = config(&dir.db());
    c.set_max_queue_size(10_000).unwrap();
    let logs = Logs::default();
    logs.attach(&mut c);
    let t = Tracker::new(c).unwrap();
    let report = t.open_report().salvage.clone().expect("damage detected at open");
    let kept: HashSet<u64> = t
        .offline_get()
        .unwrap()
        .iter()
        .map(|h| {
            serde_json::from_str::<serde_json::Value>(h.body.as_deref().unwrap()).unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(kept.len() as u64, report.salvaged);
    assert!(report.salvaged > 1500, "most rows survive: {report:?}");
    assert!(report.salvaged < 2000, "some rows were on the smashed pages: {report:?}");
    assert_eq!(report.salvaged + report.lost, 2000, "{report:?}");
    assert!(kept.contains(&0) && kept.contains(&1999), "rows before and after the damage survive");
    let warn = logs.wait_for(LogLevel::Warn, "damaged").expect("a WARN line");
    assert!(warn.contains(&format!("salvaged {}", report.salvaged)), "{warn}");
}

#[test]
fn an_undecodable_row_is_deleted_and_reported_and_nothing_else_is_lost() {
    let dir = TempDir::new("badrow");
    let mut c = config(&dir.db());
    let drops = Drops::default();
    drops.attach(&mut c);
    let t = Tracker::new(c.clone()).unwrap();
    for _ in 0..3 {
        t.track_event("e", None, None).unwrap();
    }
    drop(t);
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    conn.execute("UPDATE hits SET kind = 7 WHERE id = 2", []).unwrap();
    drop(conn);
    let t = Tracker::new(c).unwrap();
    assert_eq!(t.offline_get().unwrap().iter().map(|h| h.id).collect::<Vec<_>>(), vec![1, 3]);
    t.sync().unwrap();
    assert_eq!(t.offline_count().unwrap(), 2, "the bad row is gone");
    t.close(Duration::from_secs(1)).unwrap();
    assert_eq!(drops.ids(DropReason::Corrupt).len(), 1);
}

#[test]
fn a_full_disk_is_a_storage_error_that_loses_nothing_and_passes() {
    let dir = TempDir::new("full");
    let mut c = config(&dir.db());
    c.set_max_queue_size(1_000_000).unwrap();
    c.set_max_store_bytes(1 << 30).unwrap();
    c.set_store_page_limit(Some(40));
    let t = Tracker::new(c).unwrap();
    let pad = "f".repeat(1000);
    let mut accepted = 0;
    let err = loop {
        match t.track_event("e", Some(&format!(r#"{{"n":{accepted},"pad":"{pad}"}}"#)), None) {
            Ok(()) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted < 10_000, "the page limit never hit");
    };
    assert_eq!(err.status, Status::Storage);
    assert!(err.message.contains("full"), "{}", err.message);
    assert_eq!(t.offline_count().unwrap(), accepted, "every acknowledged hit is still there");
    assert!(dir.db().exists(), "never moved aside");
    // Space returns (the host deletes old hits): tracking works again.
    assert!(t.offline_delete_older_than(i64::MAX).unwrap() > 0);
    t.track_event("after", None, None).unwrap();
    assert_eq!(t.offline_count().unwrap(), 1);
}

#[test]
fn batched_hits_wait_in_memory_while_the_disk_is_full_and_commit_when_space_returns() {
    let dir = TempDir::new("full-batched");
    let mut c = config(&dir.db());
    c.set_max_queue_size(1_000_000).unwrap();
    c.set_max_store_bytes(1 << 30).unwrap();
    c.set_store_page_limit(Some(60));
    c.set_durability(Durability::Batched);
    let clock = ManualClock::at(1000);
    let t = Tracker::with_clock(c, clock.clone()).unwrap();
    let pad = "f".repeat(1000);
    let track = |n: u32| t.track_event("e", Some(&format!(r#"{{"n":{n},"pad":"{pad}"}}"#)), None).unwrap();
    for n in 0..30 {
        track(n);
    }
    t.sync().unwrap();
    clock.set(2000);
    for n in 30..330 {
        track(n);
    }
    let err = t.sync().unwrap_err();
    assert_eq!(err.status, Status::Storage, "{}", err.message);
    let stored = t.offline_count().unwrap();
    assert!((30..330).contains(&stored), "stored {stored}");
    assert_eq!(t.stats().unwrap().queued, 330, "the rest waits in memory, counted");
    // Space returns (the 30 oldest are deleted): the retry commits what now fits,
    // oldest first, and nothing is dropped.
    let last_id = t.offline_latest().unwrap().unwrap().id;
    assert_eq!(t.offline_delete_older_than(1500).unwrap(), 30);
    let deadline = Instant::now() + Duration::from_secs(20);
    while t.offline_count().unwrap() < 20 {
        assert!(Instant::now() < deadline, "retained hits never committed");
        std::thread::sleep(Duration::from_millis(100));
    }
    let first_after = t.offline_oldest().unwrap().unwrap();
    assert!(first_after.id > last_id);
    let stats = t.stats().unwrap();
    assert_eq!(stats.dropped_overflow + stats.dropped_storage, 0, "nothing dropped");
}

#[test]
fn a_store_locked_by_another_process_is_waited_for_then_reported() {
    let dir = TempDir::new("busy");
    let mut c = config(&dir.db());
    c.set_busy_timeout_ms(300).unwrap();
    let t = Tracker::new(c).unwrap();
    t.track_event("before", None, None).unwrap();
    let other = rusqlite::Connection::open(dir.db()).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let start = Instant::now();
    let err = t.track_event("blocked", None, None).unwrap_err();
    let waited = start.elapsed();
    assert_eq!(err.status, Status::Storage);
    assert!(err.message.contains("locked"), "{}", err.message);
    assert!(waited >= Duration::from_millis(250), "waited {waited:?} within the busy timeout");
    other.execute_batch("COMMIT").unwrap();
    t.track_event("after", None, None).unwrap();
    let types: Vec<String> = t.offline_get().unwrap().into_iter().map(|h| h.hit_type).collect();
    assert_eq!(types, vec!["before", "after"]);
}

#[test]
fn an_unopenable_path_is_a_storage_error_and_deletes_nothing() {
    let dir = TempDir::new("cantopen");
    let file = dir.path().join("file");
    std::fs::write(&file, b"keep me").unwrap();
    let err = Tracker::new(config(&file.join("sub/hits.db"))).err().unwrap();
    assert_eq!(err.status, Status::Storage);
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}
