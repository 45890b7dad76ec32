//! Temporary directories, C string helpers, and the tracker the tracker tests run on.

use std::ffi::{c_char, c_void, CStr};
use std::path::{Path, PathBuf};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use attracker::ffi::*;

use crate::callbacks::{on_drop, on_log, Sink};
use crate::checker::last_error;

pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "attracker-fuzz-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

pub unsafe fn bytes_of(p: *const c_char) -> Option<Vec<u8>> {
    (!p.is_null()).then(|| CStr::from_ptr(p).to_bytes().to_vec())
}

pub fn path_bytes(p: &Path) -> Vec<u8> {
    p.to_str().expect("temp dir is UTF-8").as_bytes().to_vec()
}

pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub const ENDPOINT: &str = "http://127.0.0.1:9";
pub const MAX_EVENT: u32 = 524_288;

/// The main tracker: nothing is ever sent (ALWAYS, no triggers), every hit is
/// committed on return, nothing overflows.
pub unsafe fn open_main(db: &Path, sink: &Sink) -> *mut at_tracker {
    let cfg = at_config_new();
    assert!(!cfg.is_null());
    let db = cstr(db.to_str().unwrap());
    let endpoint = cstr(ENDPOINT);
    let ud = sink as *const Sink as *mut c_void;
    for st in [
        at_config_set_storage_path(cfg, db.as_ptr().cast()),
        at_config_set_endpoint(cfg, endpoint.as_ptr().cast()),
        at_config_set_offline_mode(cfg, AT_OFFLINE_ALWAYS),
        at_config_set_durability(cfg, AT_DURABILITY_ON_RETURN),
        at_config_set_flush_threshold(cfg, 0),
        at_config_set_flush_interval_ms(cfg, 0),
        at_config_set_max_queue_size(cfg, u32::MAX),
        at_config_set_max_store_bytes(cfg, u64::MAX),
        at_config_set_max_event_bytes(cfg, MAX_EVENT),
        at_config_set_max_batch_bytes(cfg, 16 * 1024 * 1024),
        at_config_set_max_batch_events(cfg, 10_000),
        at_config_set_track_lifecycle_events(cfg, false),
        at_config_set_drop_callback(cfg, Some(on_drop), ud),
        at_config_set_log_callback(cfg, Some(on_log), ud, AT_LOG_DEBUG),
    ] {
        assert_eq!(st, AT_OK, "{:?}", String::from_utf8_lossy(&last_error()));
    }
    sink.log_min.store(AT_LOG_DEBUG, SeqCst);
    let mut t = null_mut();
    assert_eq!(at_tracker_new(cfg, &mut t), AT_OK, "{:?}", String::from_utf8_lossy(&last_error()));
    assert!(!t.is_null());
    at_config_free(cfg);
    t
}
