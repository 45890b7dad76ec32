//! The benchmarks' way in: the library's exported C functions (`attracker::ffi`),
//! called with C strings and raw handles exactly as a C host calls them, wrapped
//! just enough to keep the scenarios readable.

use std::ffi::{c_void, CStr, CString};
use std::path::Path;
use std::ptr;
use std::sync::mpsc;

use attracker::ffi::*;

/// Panics with `at_last_error()` unless `status` is `AT_OK`.
pub fn check(status: at_status, what: &str) {
    if status != AT_OK {
        // SAFETY: at_last_error never returns NULL and the string lives until the
        // next failing call on this thread.
        let msg = unsafe { CStr::from_ptr(at_last_error()) }.to_string_lossy().into_owned();
        panic!("{what}: status {status}: {msg}");
    }
}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL in benchmark strings")
}

/// An `at_config` under construction.
pub struct Config(*mut at_config);

impl Config {
    /// A configuration for `db`, sending to `endpoint`, with limits large enough
    /// for a million stored hits.
    pub fn new(db: &Path, endpoint: &str) -> Config {
        // SAFETY: plain calls into the C API with valid, NUL-terminated strings.
        unsafe {
            let c = at_config_new();
            assert!(!c.is_null());
            check(at_config_set_storage_path(c, cstr(db.to_str().unwrap()).as_ptr()), "storage path");
            check(at_config_set_endpoint(c, cstr(endpoint).as_ptr()), "endpoint");
            check(at_config_set_max_queue_size(c, 4_000_000), "max queue size");
            check(at_config_set_max_store_bytes(c, 8 << 30), "max store bytes");
            Config(c)
        }
    }

    pub fn durability(self, d: at_durability) -> Self {
        check(unsafe { at_config_set_durability(self.0, d) }, "durability");
        self
    }

    pub fn synchronous(self, s: at_synchronous) -> Self {
        check(unsafe { at_config_set_synchronous(self.0, s) }, "synchronous");
        self
    }

    pub fn offline_mode(self, m: at_offline_mode) -> Self {
        check(unsafe { at_config_set_offline_mode(self.0, m) }, "offline mode");
        self
    }

    pub fn gzip(self, on: bool) -> Self {
        check(unsafe { at_config_set_gzip(self.0, on) }, "gzip");
        self
    }

    /// The host's event context (`at_config_set_context`).
    pub fn context(self, json: &str) -> Self {
        check(unsafe { at_config_set_context(self.0, cstr(json).as_ptr()) }, "context");
        self
    }

    pub fn max_queue_size(self, hits: u32) -> Self {
        check(unsafe { at_config_set_max_queue_size(self.0, hits) }, "max queue size");
        self
    }

    /// Opens the tracker (the cost measured by the start figure).
    pub fn open(&self) -> Tracker {
        let mut t = ptr::null_mut();
        check(unsafe { at_tracker_new(self.0, &mut t) }, "at_tracker_new");
        Tracker(t)
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        unsafe { at_config_free(self.0) }
    }
}

/// An open `at_tracker`, freed on drop. Shared by reference across threads, as
/// the C API allows.
pub struct Tracker(*mut at_tracker);

// SAFETY: every at_* function but at_tracker_free may be called from any thread;
// free happens in Drop, with no other reference alive.
unsafe impl Send for Tracker {}
unsafe impl Sync for Tracker {}

extern "C" fn on_dispatched(result: *const at_dispatch_result, user_data: *mut c_void) {
    // SAFETY: user_data is the Box<Sender> made in `dispatch`, given back exactly once.
    let tx = unsafe { Box::from_raw(user_data.cast::<mpsc::Sender<at_dispatch_result>>()) };
    let _ = tx.send(unsafe { *result });
}

impl Tracker {
    /// `at_track_event` with a prepared type and properties.
    #[inline]
    pub fn track(&self, event_type: &CStr, properties: &CStr) -> at_status {
        unsafe { at_track_event(self.0, event_type.as_ptr(), properties.as_ptr(), None, ptr::null_mut()) }
    }

    /// `at_identify` with a user id and no traits.
    pub fn identify(&self, user_id: &str) {
        let user = cstr(user_id);
        check(
            unsafe { at_identify(self.0, user.as_ptr(), ptr::null(), None, ptr::null_mut()) },
            "at_identify",
        );
    }

    pub fn sync(&self) {
        check(unsafe { at_tracker_sync(self.0) }, "at_tracker_sync");
    }

    pub fn count(&self) -> u64 {
        let mut n = 0;
        check(unsafe { at_offline_count(self.0, &mut n) }, "at_offline_count");
        n
    }

    /// Reads one page of `limit` hits after `after_id`; returns how many came.
    pub fn page(&self, after_id: u64, limit: u32) -> usize {
        let mut list = ptr::null_mut();
        check(unsafe { at_offline_get_page(self.0, after_id, limit, &mut list) }, "at_offline_get_page");
        let n = unsafe { at_hit_list_len(list) };
        // Touch what a host would: the body of every hit.
        for i in 0..n {
            let hit = unsafe { at_hit_list_get(list, i) };
            assert!(!unsafe { at_hit_body(hit) }.is_null());
        }
        unsafe { at_hit_list_free(list) };
        n
    }

    /// `at_offline_dispatch`, waiting for its completion.
    pub fn dispatch(&self) -> at_dispatch_result {
        let (tx, rx) = mpsc::channel();
        let user = Box::into_raw(Box::new(tx)).cast::<c_void>();
        check(unsafe { at_offline_dispatch(self.0, Some(on_dispatched), user) }, "at_offline_dispatch");
        rx.recv().expect("dispatch completes")
    }

    pub fn stats(&self) -> at_stats {
        let mut s = std::mem::MaybeUninit::<at_stats>::zeroed();
        check(
            unsafe { at_tracker_stats(self.0, s.as_mut_ptr(), std::mem::size_of::<at_stats>()) },
            "at_tracker_stats",
        );
        unsafe { s.assume_init() }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        unsafe { at_tracker_free(self.0) }
    }
}

/// 300 bytes of JSON properties, the size the targets are stated for.
pub fn properties_300() -> CString {
    let head = r#"{"screen":"checkout","step":3,"cart":{"items":4,"total":129.95,"currency":"EUR"},"ab":["new_flow","dark"],"pad":""#;
    let tail = r#""}"#;
    let pad = 300 - head.len() - tail.len();
    let s = format!("{head}{}{tail}", "x".repeat(pad));
    assert_eq!(s.len(), 300);
    cstr(&s)
}

pub fn event_type() -> CString {
    cstr("Checkout Step Viewed")
}
