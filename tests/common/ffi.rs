//! Trackers made through the C ABI, as a C host makes them.

use std::ffi::CStr;

use attracker::ffi::*;

/// Through the C ABI: a tracker in `ALWAYS` mode on the store `db`, sending to
/// `endpoint` (`c"http://127.0.0.1:9"`: nothing listens there). Every setter
/// must succeed. Free it with `at_tracker_free`.
///
/// # Safety
/// The C ABI's own rules: the returned handle is the caller's to free, once.
pub unsafe fn c_tracker(db: &CStr, endpoint: &CStr) -> *mut at_tracker {
    let cfg = at_config_new();
    assert_eq!(at_config_set_storage_path(cfg, db.as_ptr()), AT_OK);
    assert_eq!(at_config_set_endpoint(cfg, endpoint.as_ptr()), AT_OK);
    assert_eq!(at_config_set_offline_mode(cfg, AT_OFFLINE_ALWAYS), AT_OK);
    let mut t = std::ptr::null_mut();
    assert_eq!(at_tracker_new(cfg, &mut t), AT_OK);
    at_config_free(cfg);
    t
}
