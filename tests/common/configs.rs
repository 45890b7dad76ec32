//! Configs that send to the test collector. A suite whose config differs
//! further builds on these in a function named for the difference.

use attracker::{Config, OfflineMode};

use super::collector::Collector;
use super::store::{config, TempDir};

/// The storage-test `config` (`Always` mode, drop reports off) for a store in
/// `dir`, sending to `collector`.
pub fn collector_config(dir: &TempDir, collector: &Collector) -> Config {
    let mut c = config(&dir.db());
    c.set_endpoint(&collector.url()).unwrap();
    c
}

/// `collector_config` in `mode`, with the automatic triggers off (no
/// threshold, no timer): only the test's dispatch, flush or lifecycle calls
/// send.
pub fn dispatch_only_config(dir: &TempDir, collector: &Collector, mode: OfflineMode) -> Config {
    let mut c = collector_config(dir, collector);
    c.set_offline_mode(mode);
    c.set_flush_interval_ms(0);
    c.set_flush_threshold(0);
    c
}

/// `dispatch_only_config` with room for 100 000 hits and 1 GiB, so no size
/// limit drops anything a test tracks in bulk.
pub fn bulk_config(dir: &TempDir, collector: &Collector, mode: OfflineMode) -> Config {
    let mut c = dispatch_only_config(dir, collector, mode);
    c.set_max_queue_size(100_000).unwrap();
    c.set_max_store_bytes(1 << 30).unwrap();
    c
}
