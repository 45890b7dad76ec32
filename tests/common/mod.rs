//! The helpers every integration test shares. Include it with `mod common;`
//! (from a test in a directory: `#[path = "../common/mod.rs"] mod common;`).
//!
//! - `collector`: the test collector of tests/support/collector/, an HTTP server
//!   on loopback (`use common::collector::{Collector, Fault};`). This is the one
//!   way tests start it; examples/collector.rs and the benchmark include it by
//!   path themselves, since they cannot depend on test code.
//! - `store`: a temporary directory, the storage-test config, files and SQL
//!   edits beside a store.
//! - `configs`: configs that send to a collector.
//! - `callbacks`: log lines and drop notices collected from a tracker.
//! - `sending`: tracking in bulk, dispatch and flush waiting for their report,
//!   `wait_until` a condition holds.
//! - `clock`: a clock the test moves by hand.
//! - `ffi`: a tracker made through the C ABI.
//! - `rng`: a seeded generator whose seed is printed and can be replayed.
#![allow(dead_code)]

#[path = "../support/collector/mod.rs"]
pub mod collector;

mod callbacks;
mod clock;
mod configs;
mod ffi;
pub mod rng;
mod sending;
mod store;

// Each test binary uses some of these; the rest are unused there, not dead.
#[allow(unused_imports)]
pub use callbacks::{Drops, Logs};
#[allow(unused_imports)]
pub use clock::ManualClock;
#[allow(unused_imports)]
pub use configs::{bulk_config, collector_config, dispatch_only_config};
#[allow(unused_imports)]
pub use ffi::c_tracker;
#[allow(unused_imports)]
pub use sending::{dispatch, dispatch_within, flush, track_n, wait_until, WAIT};
#[allow(unused_imports)]
pub use store::{config, edit_store, files_named, TempDir};
