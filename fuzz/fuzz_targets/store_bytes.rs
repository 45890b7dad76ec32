//! A store file whose bytes are mutated: written as the database (no -wal), then
//! opened, listed, tracked into, a batch exported and given back, closed and
//! reopened (`attracker_fuzz::store::exercise`).
//!
//! Seeds are stores written by the library (`cargo run --example make_seeds`).
//!
//! What must hold: opening never fails on damage (it is moved aside and salvaged)
//! and refuses only with `AT_ERR_STORAGE`, leaving the file in place; the count
//! agrees with the hits listed; a hit tracked is stored; a store the tracker
//! closed reopens sound with every hit.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use attracker_fuzz::store::{exercise, Damage};
use attracker_fuzz::{clear_dir, scratch};
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| scratch("store-bytes"))
}

fuzz_target!(|data: &[u8]| {
    let dir = dir();
    clear_dir(dir);
    let db = dir.join("hits.db");
    std::fs::write(&db, data).unwrap();
    exercise(dir, &db, Damage::Bytes);
});
