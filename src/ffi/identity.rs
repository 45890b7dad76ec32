//! Visitor identity, opting out, and the remote configuration in force.

use std::ffi::{c_char, CString};

use crate::config::OptOutPolicy;
use crate::ffi::args::*;
use crate::ffi::c_enum::CEnumType;
use crate::ffi::status::*;
use crate::ffi::tracker::{at_tracker, tracker_ref};
use crate::ffi::types::*;

/// Hands a string to the caller, who frees it with `at_string_free`.
pub(crate) fn owned(s: &str) -> *mut c_char {
    to_cstring(s).into_raw()
}

// header-section: Visitor identity, opting out, and the remote configuration in force

/// Frees a string the library returned (`at_visitor_id`, `at_user_id`,
/// `at_remote_config_json`, `at_last_send_error`).
/// NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn at_string_free(s: *mut c_char) {
    export_value!(
        (),
        if !s.is_null() {
            drop(CString::from_raw(s))
        }
    )
}

/// The visitor id sent as `anonymousId` with hits tracked from now on: a UUID v4
/// made at the store's first start and kept in it, or the host's own
/// (`at_set_visitor_id`). `*out` is owned by the caller: free it with
/// `at_string_free`. Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_visitor_id(tracker: *mut at_tracker, out: *mut *mut c_char) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let out = out_arg(out, "out")?;
        t.ensure_open()?;
        *out = owned(&t.visitor_id());
        Ok(())
    })
}

/// Replaces the visitor id with a new random UUID v4, kept in the store (e.g. at
/// logout). Hits tracked before keep the id they were tracked with.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_STORAGE` (unchanged), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_visitor_id_reset(tracker: *mut at_tracker) -> at_status {
    export!(tracker_ref(tracker)?.reset_visitor_id().map(drop))
}

/// Uses the host's own visitor id (UTF-8, 1 to 128 bytes, no control
/// characters), kept in the store, for hits tracked from now on; hits tracked
/// before keep theirs. Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT`,
/// `AT_ERR_STORAGE` (unchanged), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_set_visitor_id(tracker: *mut at_tracker, visitor_id: *const c_char) -> at_status {
    export!(tracker_ref(tracker)?.set_visitor_id(str_arg(visitor_id, "visitor_id")?))
}

/// Stops collection (as `at_set_tracking_enabled(tracker, false)`) with this
/// policy for hits already queued: `AT_OPT_OUT_KEEP` leaves them to be sent,
/// `AT_OPT_OUT_PURGE` deletes every one (stored, being committed, or
/// memory-only), reported as `AT_DROP_DELETED`; `*purged` (may be NULL) gets how
/// many. Race-free: a hit tracked at the same time is either accepted before the
/// opt-out (and purged with the rest) or refused with `AT_ERR_SUPPRESSED`.
/// `at_set_tracking_enabled(tracker, true)` opts back in.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (unknown policy),
/// `AT_ERR_STORAGE` (collection is off; the purge failed), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_opt_out(
    tracker: *mut at_tracker,
    policy: at_opt_out_policy,
    purged: *mut u64,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let n = t.opt_out(OptOutPolicy::from_c(policy)?)?;
        if let Some(purged) = purged.as_mut() {
            *purged = n;
        }
        Ok(())
    })
}

/// The remote configuration document in force, as fetched (with the host's own
/// keys), or `*out = NULL` when there is none (no URL, or nothing fetched or
/// cached yet). `*out` is owned by the caller: free it with `at_string_free`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_remote_config_json(tracker: *mut at_tracker, out: *mut *mut c_char) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let out = out_arg(out, "out")?;
        t.ensure_open()?;
        *out = t.remote_config_json().map_or(std::ptr::null_mut(), |doc| owned(&doc));
        Ok(())
    })
}
