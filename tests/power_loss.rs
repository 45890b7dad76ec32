//! Power loss as a test: a child tracks hits until the power goes, then the
//! store is reopened and checked against what the child was told was committed.
//!
//! The child runs with `tests/support/powercut.c` preloaded, an LD_PRELOAD shim
//! (built here with `cc`) that keeps each store file as of its last sync and
//! records the writes since; at a chosen I/O event it rewrites each file as of
//! its last sync plus a random subset of those writes, sector by sector, and
//! ends the process (the disk model is in the shim's header). The child reports
//! each hit whose track call returned `Ok` (ON_RETURN: committed) on stdout; the
//! shim reports each completed sync of the -wal there too, in order.
//!
//! With `synchronous = FULL` no acknowledged hit may be lost. With `NORMAL` the
//! store must still open cleanly (never moved aside or salvaged), and only hits
//! acknowledged after the last sync may be lost — and then only the newest ones
//! (the -wal is read up to its first missing frame).
//!
//! Rounds run on one store, which grows until it is emptied now and then; every
//! tenth round starts without a store, so cuts also land while it is created.
//! 30 rounds per mode by default, 300 with `ATTRACKER_LONG_TESTS=1`; the base
//! seed is `ATTRACKER_POWERCUT_SEED` (printed, for replay).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use attracker::{Synchronous, Tracker};

const CHILD_DB: &str = "ATTRACKER_TEST_POWERCUT_DB";
const CHILD_FULL: &str = "ATTRACKER_TEST_POWERCUT_FULL";
const CHILD_FIRST: &str = "ATTRACKER_TEST_POWERCUT_FIRST";
/// The shim's exit code after a cut.
const CUT_EXIT: i32 = 99;

/// Not a test on its own: the child. Tracks `{"n": first + i}` until the power
/// goes, printing `ack <n>` once each track call returned `Ok`.
#[test]
fn child_tracks_until_the_power_goes() {
    let Ok(db) = std::env::var(CHILD_DB) else { return };
    let first: u64 = std::env::var(CHILD_FIRST).unwrap().parse().unwrap();
    let mut c = config(Path::new(&db));
    c.set_synchronous(if std::env::var(CHILD_FULL).is_ok() {
        Synchronous::Full
    } else {
        Synchronous::Normal
    });
    let t = match Tracker::new(c) {
        Ok(t) => t,
        Err(e) => {
            println!("open-failed {:?} {}", e.status, e.message);
            std::process::exit(3);
        }
    };
    let mut out = std::io::stdout().lock();
    for n in first..first + 1_000_000 {
        t.track_event("hit", Some(&format!("{{\"n\":{n}}}")), None)
            .expect("a commit fails only if the power goes");
        writeln!(out, "ack {n}").unwrap();
        out.flush().unwrap();
    }
    panic!("the power never went");
}

/// A store config whose queue never overflows here (the default drops the
/// oldest past 1000 hits, which would look like loss).
fn config(db: &Path) -> attracker::Config {
    let mut c = common::config(db);
    c.set_max_queue_size(10_000_000).unwrap();
    c
}

fn build_shim(dir: &Path) -> PathBuf {
    let so = dir.join("libpowercut.so");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/powercut.c");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o"])
        .arg(&so)
        .arg(&src)
        .args(["-ldl", "-lpthread"])
        .status()
        .expect("cc (gcc) builds the power-cut shim");
    assert!(status.success());
    so
}

/// A directory for the store, on tmpfs when there is one: durability is the
/// shim's model, so the real disk's fsync only costs time.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() { base.to_owned() } else { std::env::temp_dir() };
        let dir = base.join(format!("attracker-powercut-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("store")).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one child saw before the cut.
struct Run {
    acked: Vec<u64>,
    /// How many of `acked` were reported before the last completed -wal sync.
    acked_before_last_sync: usize,
    syncs: u64,
}

fn run_child(db: &Path, shim: &Path, full: bool, first: u64, cut_at: u64, seed: u64) -> Run {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_tracks_until_the_power_goes", "--test-threads=1", "--nocapture", "--quiet"])
        .env(CHILD_DB, db)
        .env(CHILD_FIRST, first.to_string())
        .env("LD_PRELOAD", shim)
        .env("POWERCUT_TARGET", db)
        .env("POWERCUT_AT", cut_at.to_string())
        .env("POWERCUT_SEED", seed.to_string())
        .env("POWERCUT_MARK_FD", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if full {
        cmd.env(CHILD_FULL, "1");
    }
    let mut child = cmd.spawn().unwrap();
    let mut run = Run { acked: Vec::new(), acked_before_last_sync: 0, syncs: 0 };
    let mut cut = false;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("ack ") {
            run.acked.push(n.parse().unwrap());
        } else if line == "sync" {
            run.syncs += 1;
            run.acked_before_last_sync = run.acked.len();
        } else if line == "cut" {
            cut = true;
        } else if line.starts_with("open-failed") {
            panic!("seed {seed}: the child could not open the store: {line}");
        }
    }
    let status = child.wait().unwrap();
    assert!(cut && status.code() == Some(CUT_EXIT), "seed {seed}: the child ended without a cut: {status}");
    run
}

fn moved_aside(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains("corrupt"))
        .collect()
}

/// The `n` of every stored hit.
fn stored(t: &Tracker) -> BTreeSet<u64> {
    t.offline_get()
        .unwrap()
        .iter()
        .map(|h| {
            let body: serde_json::Value = serde_json::from_str(h.body.as_deref().unwrap()).unwrap();
            body["n"].as_u64().unwrap()
        })
        .collect()
}

fn rng(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[derive(Default, Debug)]
struct Tally {
    rounds: u64,
    acked: u64,
    lost: u64,
    /// Acknowledged after the last sync of their round (the ones NORMAL may lose).
    unsynced: u64,
    max_lost_in_a_round: u64,
    syncs: u64,
}

fn power_cuts(full: bool) -> Tally {
    let mode = if full { "full" } else { "normal" };
    let rounds: u64 = if std::env::var("ATTRACKER_LONG_TESTS").is_ok() { 300 } else { 30 };
    let base: u64 =
        std::env::var("ATTRACKER_POWERCUT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x90e7c07);
    let scratch = Scratch::new(mode);
    let shim = build_shim(&scratch.0);
    let dir = scratch.0.join("store");
    let db = dir.join("hits.db");
    let mut state = base ^ u64::from(full);
    let mut survivors = BTreeSet::new();
    let mut tally = Tally::default();
    for round in 0..rounds {
        let fresh = round % 10 == 0;
        if fresh {
            std::fs::remove_dir_all(&dir).unwrap();
            std::fs::create_dir_all(&dir).unwrap();
            survivors.clear();
        }
        // I/O events per committed hit: about 5 with FULL (frames and a sync),
        // about 4 with NORMAL, which syncs only when it checkpoints (every ~500
        // hits), so its rounds run longer.
        let span = match (fresh, full) {
            (true, _) => 200,
            (false, true) => 600,
            (false, false) => 6000,
        };
        let cut_at = rng(&mut state) % span + 1;
        let seed = rng(&mut state);
        let run = run_child(&db, &shim, full, (round + 1) * 10_000_000, cut_at, seed);
        let replay = format!(
            "{mode} round {round}: ATTRACKER_POWERCUT_SEED={base}, cut at event {cut_at}, seed {seed}"
        );

        let t = Tracker::new(config(&db)).unwrap_or_else(|e| panic!("{replay}: reopening failed: {e:?}"));
        assert!(t.open_report().salvage.is_none(), "{replay}: the store was salvaged");
        assert!(moved_aside(&dir).is_empty(), "{replay}: the store was moved aside");
        let present = stored(&t);
        let lost: Vec<u64> = run.acked.iter().copied().filter(|n| !present.contains(n)).collect();
        let gone: Vec<u64> = survivors.difference(&present).copied().collect();
        assert!(
            gone.is_empty(),
            "{replay}: {} hit(s) that survived earlier cuts are gone (of {}; first {:?}, last {:?}); {} stored now",
            gone.len(),
            survivors.len(),
            gone.first(),
            gone.last(),
            present.len()
        );
        if full {
            assert!(lost.is_empty(), "{replay}: acknowledged hits lost with synchronous=FULL: {lost:?}");
        } else {
            let synced = &run.acked[..run.acked_before_last_sync];
            assert!(
                lost.iter().all(|n| !synced.contains(n)),
                "{replay}: hits acknowledged before the last sync were lost: {lost:?}"
            );
            let kept = run.acked.len() - lost.len();
            assert_eq!(&run.acked[kept..], &lost[..], "{replay}: only the newest hits may be lost");
        }
        tally.rounds += 1;
        tally.acked += run.acked.len() as u64;
        tally.lost += lost.len() as u64;
        tally.unsynced += (run.acked.len() - run.acked_before_last_sync) as u64;
        tally.max_lost_in_a_round = tally.max_lost_in_a_round.max(lost.len() as u64);
        tally.syncs += run.syncs;
        survivors = present;
        if survivors.len() > 5000 {
            t.offline_delete().unwrap();
            survivors.clear();
        }
        t.close(std::time::Duration::from_secs(5)).unwrap();
    }
    eprintln!("power cuts, synchronous={mode} (ATTRACKER_POWERCUT_SEED={base}): {tally:?}");
    tally
}

#[test]
fn no_acknowledged_hit_is_lost_to_a_power_cut_with_synchronous_full() {
    let t = power_cuts(true);
    assert!(t.acked > 0 && t.syncs > 0);
    assert_eq!(t.lost, 0);
}

#[test]
fn with_synchronous_normal_a_power_cut_loses_only_the_newest_unsynced_hits() {
    let t = power_cuts(false);
    assert!(t.acked > 0 && t.syncs > 0);
    assert!(t.lost <= t.unsynced);
    // The writer checkpoints, and so syncs the -wal, at the latest when the log
    // holds 4000 pages (CHECKPOINT_HARD_PAGES), and each commit adds a page or
    // more: no cut can take more commits than that.
    assert!(t.max_lost_in_a_round <= 4000, "{t:?}");
}
