//! Damage beyond a crash: a truncated database file is moved aside and salvaged;
//! a torn write-ahead log (a crash in the middle of writing it) is SQLite's own
//! recovery: the torn commit is dropped by its checksums, nothing else is lost,
//! and nothing is treated as damage.

mod common;

use std::time::Duration;

use attracker::{Durability, LogLevel, Tracker};
use common::{config, Logs, TempDir};

fn filled(dir: &TempDir, n: usize) -> attracker::Config {
    let mut c = config(&dir.db());
    c.set_max_queue_size(100_000).unwrap();
    c.set_max_store_bytes(1 << 30).unwrap();
    let t = Tracker::new(c.clone()).unwrap();
    let pad = "t".repeat(300);
    for i in 0..n {
        t.track_event("e", Some(&format!(r#"{{"n":{i},"pad":"{pad}"}}"#)), None).unwrap();
    }
    t.close(Duration::from_secs(2)).unwrap();
    c
}

#[test]
fn a_truncated_database_is_moved_aside_and_its_readable_rows_salvaged() {
    let dir = TempDir::new("truncated");
    let mut c = filled(&dir, 2000);
    let len = std::fs::metadata(dir.db()).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(dir.db()).unwrap();
    f.set_len(len / 2).unwrap(); // a copy or backup cut short
    drop(f);
    let logs = Logs::default();
    logs.attach(&mut c);
    let t = Tracker::new(c).unwrap();
    let report = t.open_report().salvage.clone().expect("the damage is found at open");
    assert!(report.salvaged > 0 && report.salvaged < 2000, "{report:?}");
    assert_eq!(t.offline_count().unwrap(), report.salvaged);
    let warn = logs.wait_for(LogLevel::Warn, "damaged").expect("a WARN with the counts");
    assert!(warn.contains(&format!("salvaged {}", report.salvaged)), "{warn}");
    t.track_event("after", None, None).unwrap();
    drop(t);
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".corrupt-"))
        .collect();
    assert!(!aside.is_empty(), "the damaged file is kept aside for a developer");
}

#[test]
fn a_torn_wal_loses_only_the_torn_commit() {
    let live = TempDir::new("torn-live");
    let mut c = config(&live.db());
    c.set_durability(Durability::OnReturn);
    let t = Tracker::new(c.clone()).unwrap();
    for i in 0..50 {
        t.track_event("e", Some(&format!(r#"{{"n":{i}}}"#)), None).unwrap();
    }
    // The files as a process killed while writing its last commit leaves them:
    // copy them while the tracker is open (its WAL holds the commits).
    let dir = TempDir::new("torn");
    for suffix in ["", "-wal"] {
        std::fs::copy(format!("{}{suffix}", live.db().display()), format!("{}{suffix}", dir.db().display()))
            .unwrap();
    }
    drop(t);
    let wal = format!("{}-wal", dir.db().display());
    let mut bytes = std::fs::read(&wal).unwrap();
    assert!(bytes.len() > 32 + 3 * (24 + 4096), "the WAL holds several frames");
    // Tear the last frame: half of it is garbage, as if the write stopped midway.
    let frame = 24 + 4096;
    let last = 32 + ((bytes.len() - 32) / frame - 1) * frame;
    for b in &mut bytes[last + 24 + 2048..last + frame] {
        *b = 0xEE;
    }
    std::fs::write(&wal, &bytes).unwrap();

    c.set_storage_path(dir.db().to_str().unwrap()).unwrap();
    let logs = Logs::default();
    logs.attach(&mut c);
    let t = Tracker::new(c).unwrap();
    assert!(t.open_report().salvage.is_none(), "not damage: SQLite's own crash recovery");
    let n = t.offline_count().unwrap();
    assert!((49..=50).contains(&n), "at most the torn commit is lost: {n}");
    let ids: Vec<u64> = t
        .offline_get()
        .unwrap()
        .iter()
        .map(|h| {
            serde_json::from_str::<serde_json::Value>(h.body.as_deref().unwrap()).unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, (0..n).collect::<Vec<u64>>(), "every earlier commit is intact, in order");
    assert!(logs.find(LogLevel::Warn, "damaged").is_none());
}
