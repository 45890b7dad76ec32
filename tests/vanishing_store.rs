//! A store whose file (or directory) is deleted while a tracker has it open (a
//! cleaner, a user clearing the app's data, a test harness): the tracker notices
//! at its first commit 50 ms or more later (or at close), recreates the store at its path and carries over every
//! row it can still read through its open connection, with a WARN. Nothing
//! accepted is lost while the process lives.

mod common;

use std::time::Duration;

use attracker::{Durability, LogLevel, Tracker};
use common::{config, Logs, TempDir};

fn track(t: &Tracker, from: usize, to: usize) {
    for i in from..to {
        t.track_event("e", Some(&format!(r#"{{"n":{i}}}"#)), None).unwrap();
    }
}

fn numbers(t: &Tracker) -> Vec<u64> {
    t.offline_get()
        .unwrap()
        .iter()
        .map(|h| {
            serde_json::from_str::<serde_json::Value>(h.body.as_deref().unwrap()).unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

fn vanish(what: &str, durability: Durability) {
    let dir = TempDir::new("vanish");
    let db = dir.path().join("store/hits.db");
    let mut c = config(&db);
    c.set_durability(durability);
    let logs = Logs::default();
    logs.attach(&mut c);
    let t = Tracker::new(c.clone()).unwrap();
    let visitor = t.visitor_id();
    track(&t, 0, 20);
    t.sync().unwrap();
    match what {
        "directory" => std::fs::remove_dir_all(db.parent().unwrap()).unwrap(),
        _ => {
            for suffix in ["", "-wal", "-shm"] {
                std::fs::remove_file(format!("{}{suffix}", db.display())).unwrap();
            }
        }
    }
    // Looked at every 50 ms at most: tracked at once, these go into the open
    // (deleted) file and move with the rest.
    track(&t, 20, 25);
    std::thread::sleep(Duration::from_millis(60));
    track(&t, 25, 30);
    t.sync().unwrap();
    assert!(db.exists(), "{what}: recreated at its path");
    assert_eq!(
        numbers(&t),
        (0..30).collect::<Vec<_>>(),
        "{what}: every hit, in order, read from the new file"
    );
    t.close(Duration::from_secs(2)).unwrap();
    let warn = logs
        .find(LogLevel::Warn, "deleted or replaced")
        .unwrap_or_else(|| panic!("{what}: a WARN: {:?}", logs.0.lock().unwrap()));
    assert!(warn.contains("carried over 25 hit(s)"), "{warn}");

    let t = Tracker::new(config(&db)).unwrap();
    assert_eq!(numbers(&t), (0..30).collect::<Vec<_>>(), "{what}: all of them after a restart");
    assert_eq!(t.visitor_id(), visitor, "{what}: the visitor id is carried over too");
    assert!(t.open_report().salvage.is_none());
}

#[test]
fn a_store_whose_directory_is_removed_is_recreated_with_every_hit() {
    vanish("directory", Durability::OnReturn);
}

#[test]
fn a_store_whose_files_are_deleted_is_recreated_with_every_hit() {
    vanish("files", Durability::OnReturn);
}

#[test]
fn batched_hits_survive_a_removed_directory_too() {
    vanish("directory", Durability::Batched);
}

#[test]
fn rows_leased_when_the_store_vanished_are_settled_in_the_new_one() {
    let dir = TempDir::new("vanish-lease");
    let db = dir.path().join("store/hits.db");
    let t = Tracker::new(config(&db)).unwrap();
    track(&t, 0, 5);
    let batch = t.offline_export_batch().unwrap().expect("a batch");
    std::fs::remove_dir_all(db.parent().unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(60));
    track(&t, 5, 8);
    // The upload succeeded: the five leased rows go, in the new store.
    t.offline_ack_batch(&batch, true).unwrap();
    assert_eq!(numbers(&t), vec![5, 6, 7]);
    drop(t);
    let t = Tracker::new(config(&db)).unwrap();
    assert_eq!(numbers(&t), vec![5, 6, 7]);
}

#[test]
fn a_file_deleted_just_before_close_is_carried_over_at_close() {
    let dir = TempDir::new("vanish-close");
    let db = dir.path().join("store/hits.db");
    let t = Tracker::new(config(&db)).unwrap();
    track(&t, 0, 5);
    std::fs::remove_dir_all(db.parent().unwrap()).unwrap();
    track(&t, 5, 7);
    t.close(Duration::from_secs(2)).unwrap();
    let t = Tracker::new(config(&db)).unwrap();
    assert_eq!(numbers(&t), (0..7).collect::<Vec<_>>());
}
