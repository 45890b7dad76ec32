//! Batched durability under a caller faster than the store: the in-memory
//! queue stays bounded, a caller waits for room while the store takes hits and
//! is refused with a status that says so once the store took none for a whole
//! commit window, every accepted hit is stored,
//! and the write-ahead log stays under its bound (and is gone after close).

mod common;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use attracker::{Durability, Status, Tracker};
use common::{config, TempDir};

const PAD: usize = 300;
const WAL_LIMIT: u64 = 4 * 1024 * 1024;

fn batched(dir: &TempDir) -> attracker::Config {
    let mut c = config(&dir.db());
    c.set_durability(Durability::Batched);
    c.set_max_queue_size(1_000_000).unwrap();
    c.set_max_store_bytes(1 << 30).unwrap();
    c
}

fn wal(dir: &TempDir) -> std::path::PathBuf {
    format!("{}-wal", dir.db().display()).into()
}

/// Tracks `n` events of 300-byte properties, retrying a refused call as a
/// host would; returns how many calls were refused.
fn track_burst(t: &Tracker, n: usize, tag: u64) -> u64 {
    let pad = "p".repeat(PAD);
    let mut refused = 0;
    for i in 0..n {
        let props = format!(r#"{{"t":{tag},"i":{i},"pad":"{pad}"}}"#);
        while let Err(e) = t.track_event("burst", Some(&props), None) {
            assert_eq!(e.status, Status::Storage, "{e}");
            assert!(e.to_string().contains("not accepted"), "{e}");
            refused += 1;
        }
    }
    refused
}

#[test]
fn a_burst_keeps_the_log_under_its_bound_and_close_removes_it() {
    let dir = TempDir::new("wal-bound");
    let t = Tracker::new(batched(&dir)).unwrap();
    // About 14 MiB of rows: without checkpoints that restart it, the log
    // would pass its bound more than three times over.
    track_burst(&t, 30_000, 0);
    t.sync().unwrap();
    let stats = t.stats().unwrap();
    assert_eq!(t.offline_count().unwrap(), 30_000);
    assert!(stats.wal_peak_bytes > 0, "the commit hook saw the log");
    assert!(stats.wal_peak_bytes <= WAL_LIMIT, "log high-water mark {} bytes", stats.wal_peak_bytes);
    let on_disk = std::fs::metadata(wal(&dir)).map_or(0, |m| m.len());
    assert!(on_disk <= WAL_LIMIT, "-wal file is {on_disk} bytes");
    t.close(Duration::from_secs(5)).unwrap();
    drop(t);
    assert!(!wal(&dir).exists(), "close leaves no -wal");
    let t = Tracker::new(batched(&dir)).unwrap();
    assert_eq!(t.offline_count().unwrap(), 30_000);
}

#[test]
fn a_stalled_store_refuses_batched_hits_after_one_commit_window() {
    let dir = TempDir::new("stalled");
    let mut c = batched(&dir);
    c.set_commit_window_ms(20).unwrap();
    c.set_busy_timeout_ms(60_000).unwrap();
    let t = Tracker::new(c).unwrap();
    t.track_event("first", None, None).unwrap();
    t.sync().unwrap();
    // Another connection holds the write lock: the writer waits in its busy
    // handler and takes nothing more from the queue.
    let blocker = rusqlite::Connection::open(dir.db()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let pad = "s".repeat(PAD);
    let mut accepted = 1;
    let refused = loop {
        let props = format!(r#"{{"n":{accepted},"pad":"{pad}"}}"#);
        let call = Instant::now();
        match t.track_event("stalled", Some(&props), None) {
            Ok(_) => accepted += 1,
            Err(e) => break (e, call.elapsed()),
        }
        assert!(accepted < 100_000, "the queue is bounded");
    };
    let (e, waited) = refused;
    assert_eq!(e.status, Status::Storage);
    assert!(e.to_string().contains("not accepted"), "{e}");
    // One commit window, not the minute the writer may wait for the lock.
    assert!(waited >= Duration::from_millis(20), "refused after {waited:?}");
    assert!(waited < Duration::from_secs(10), "refused after {waited:?}");
    let stats = t.stats().unwrap();
    assert!(stats.longest_wait_us >= 20_000, "{}", stats.longest_wait_us);
    assert!(stats.queued >= accepted, "queued {} accepted {accepted}", stats.queued);
    // Nothing accepted is lost: once the lock goes, every accepted hit commits.
    blocker.execute_batch("COMMIT").unwrap();
    drop(blocker);
    t.sync().unwrap();
    assert_eq!(t.offline_count().unwrap(), accepted);
    // And the queue has room again.
    t.track_event("after", None, None).unwrap();
    t.sync().unwrap();
    assert_eq!(t.offline_count().unwrap(), accepted + 1);
}

#[test]
fn threads_bursting_past_the_bound_lose_nothing_they_were_told_was_accepted() {
    let dir = TempDir::new("threads");
    let t = Tracker::new(batched(&dir)).unwrap();
    let refused = AtomicU64::new(0);
    const THREADS: u64 = 4;
    const EACH: usize = 4_000;
    std::thread::scope(|s| {
        for tag in 0..THREADS {
            let (t, refused) = (&t, &refused);
            s.spawn(move || refused.fetch_add(track_burst(t, EACH, tag), Relaxed));
        }
    });
    t.sync().unwrap();
    assert_eq!(t.offline_count().unwrap(), THREADS * EACH as u64);
    // Every (thread, index) exactly once.
    let mut seen = std::collections::HashSet::new();
    for hit in t.offline_get().unwrap() {
        let v: serde_json::Value = serde_json::from_str(hit.body.as_deref().unwrap()).unwrap();
        assert!(seen.insert((v["t"].as_u64().unwrap(), v["i"].as_u64().unwrap())));
    }
    assert_eq!(seen.len(), THREADS as usize * EACH);
    let stats = t.stats().unwrap();
    eprintln!("refused {} calls; longest wait {} us", refused.load(Relaxed), stats.longest_wait_us);
}

#[test]
fn closing_while_paced_callers_wait_ends_their_waits_and_keeps_what_they_were_told_was_accepted() {
    let dir = TempDir::new("paced-close");
    let t = Tracker::new(batched(&dir)).unwrap();
    let accepted = AtomicU64::new(0);
    let pad = "p".repeat(PAD);
    let (closed_at, ended) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4u64)
            .map(|tag| {
                let (t, accepted, pad) = (&t, &accepted, &pad);
                s.spawn(move || {
                    for i in 0.. {
                        let props = format!(r#"{{"t":{tag},"i":{i},"pad":"{pad}"}}"#);
                        match t.track_event("paced", Some(&props), None) {
                            Ok(()) => accepted.fetch_add(1, Relaxed),
                            Err(e) if e.status == Status::Closed => return Instant::now(),
                            Err(e) => {
                                assert!(e.to_string().contains("not accepted"), "{e}");
                                continue;
                            }
                        };
                    }
                    unreachable!()
                })
            })
            .collect();
        // Four threads outrun the store: they are held back (paced, or at the
        // bound) before long.
        let give_up = Instant::now() + Duration::from_secs(20);
        while t.stats().unwrap().longest_wait_us == 0 {
            assert!(Instant::now() < give_up, "no caller was ever held back");
            std::thread::sleep(Duration::from_millis(5));
        }
        let closing = Instant::now();
        t.close(Duration::from_secs(5)).unwrap();
        let closed_at = Instant::now();
        assert!(closed_at - closing < Duration::from_secs(3), "close took {:?}", closed_at - closing);
        let ended: Vec<Instant> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        (closed_at, ended)
    });
    for end in ended {
        // Each thread heard `Closed` by the time close returned (plus the
        // moment its next call took).
        assert!(end <= closed_at + Duration::from_secs(1), "a caller went on waiting after close");
    }
    drop(t);
    let t = Tracker::new(config(&dir.db())).unwrap();
    assert_eq!(t.offline_count().unwrap(), accepted.load(Relaxed), "every accepted hit is stored");
}
