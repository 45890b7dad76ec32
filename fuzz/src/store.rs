//! The round a damaged store goes through in the store targets: opened, listed,
//! tracked into, a batch exported and given back, closed and reopened, with what
//! must hold at each step.

use std::path::Path;
use std::ptr::null_mut;

use attracker::ffi::*;

use crate::{checked, moved_aside, track_one, Config, Tracker};

/// What the file was before the round.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// Its bytes were mutated: it may be moved aside and salvaged at the first open.
    Bytes,
    /// Its values were changed through SQL: the file is sound, so it must never
    /// be moved aside; damaged rows are dropped one by one.
    Values,
}

/// Runs the round on the store `db` in `dir`.
pub fn exercise(dir: &Path, db: &Path, damage: Damage) {
    let config = Config::offline_store(db);
    // A store written by a newer library (user_version) or with a schema that
    // is not the library's is refused as a storage error, never deleted.
    let Ok(t) = Tracker::open(&config, &[AT_OK, AT_ERR_STORAGE]) else {
        assert!(db.exists(), "a refused store is left in place");
        assert!(moved_aside(dir).is_empty(), "a refused store is not moved aside");
        return;
    };
    if damage == Damage::Values {
        assert!(moved_aside(dir).is_empty(), "a store with damaged values was moved aside as damaged");
    }
    let listed = t.all();
    let count = t.count();
    if let (Ok(hits), Ok(n)) = (&listed, count) {
        assert_eq!(n, hits.len() as u64, "the count agrees with the hits listed");
    }
    let tracked = track_one(&t, &[AT_OK, AT_ERR_STORAGE]);
    if let (Ok(hits), AT_OK) = (&listed, tracked) {
        let after = t.all().expect("a store that was just written can be read");
        assert_eq!(after.len(), hits.len() + 1, "the new hit is stored, nothing else lost");
        assert_eq!(t.count(), Ok(after.len() as u64));
        let newest = t.latest().expect("the new hit is the latest");
        assert_eq!(newest.hit_type, b"fuzz");
    }
    export_and_return(&t);
    let before_close = t.all().ok().map(|h| h.len() as u64);
    t.close();
    drop(t);

    // Reopened: sound now, whatever it was before, and nothing lost.
    let aside = moved_aside(dir).len();
    let t = Tracker::open(&config, &[AT_OK, AT_ERR_STORAGE]).expect("a store the tracker wrote reopens");
    assert_eq!(moved_aside(dir).len(), aside, "a store the tracker wrote and closed is not damaged");
    if let Some(n) = before_close {
        let hits = t.all().expect("the reopened store can be read");
        assert_eq!(hits.len() as u64, n, "every hit stored before close is there after reopening");
        assert_eq!(t.count(), Ok(n));
    }
    t.close();
}

/// Exports a batch and gives it back, then exports and acknowledges one.
fn export_and_return(t: &Tracker) {
    for delivered in [false, true] {
        let mut batch = null_mut();
        let s = checked("at_offline_export_batch", &[AT_OK, AT_ERR_STORAGE], || unsafe {
            at_offline_export_batch(t.0, &mut batch)
        });
        if s != AT_OK || batch.is_null() {
            return;
        }
        unsafe {
            let mut len = 0usize;
            let body = at_request_body(batch, &mut len);
            assert!(!body.is_null() && len > 0, "an exported batch has a body");
            let body = std::slice::from_raw_parts(body, len);
            let v: serde_json::Value = serde_json::from_slice(body).expect("an exported batch is JSON");
            assert!(v.get("batch").is_some_and(|b| b.is_array()), "an exported batch has a batch array");
            for i in 0..at_request_header_count(batch) {
                assert!(!at_request_header_name(batch, i).is_null());
                assert!(!at_request_header_value(batch, i).is_null());
            }
        }
        let before = t.count();
        let s = checked("at_offline_ack_batch", &[AT_OK, AT_ERR_STORAGE], || unsafe {
            at_offline_ack_batch(t.0, batch, delivered)
        });
        if s != AT_OK {
            // Not freed: give it back once more, then leave it (a storage failure).
            unsafe { at_offline_ack_batch(t.0, batch, false) };
            return;
        }
        if !delivered {
            assert_eq!(t.count(), before, "a batch given back leaves the count as it was");
        }
    }
}
