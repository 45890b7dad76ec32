//! The inspection API of the "offline hits" feature: read, count and delete the
//! stored hits. Reads use their own connection: they never wait for the network,
//! and wait for the writer at most one group commit (to see every hit accepted
//! before the call).

use crate::error::Result;
use crate::ffi::args::*;
use crate::ffi::hit::{at_hit, at_hit_list};
use crate::ffi::status::*;
use crate::ffi::tracker::{at_tracker, tracker_ref};
use crate::hit::StoredHit;

// header-section: Stored hits: reading, counting and deleting them

fn list(hits: Vec<StoredHit>) -> *mut at_hit_list {
    Box::into_raw(Box::new(at_hit_list { hits: hits.into_iter().map(at_hit::from).collect() }))
}

fn one(hit: Option<StoredHit>) -> *mut at_hit {
    hit.map_or(std::ptr::null_mut(), |h| Box::into_raw(Box::new(at_hit::from(h))))
}

unsafe fn write_out<T>(out: *mut T, f: impl FnOnce() -> Result<T>) -> Result<()> {
    let out = out_arg(out, "out")?;
    *out = f()?;
    Ok(())
}

/// Every stored hit, oldest first, in a list the caller owns (free with
/// `at_hit_list_free`). Loads the whole queue: prefer `at_offline_get_page`
/// for large queues. Memory-only hits (`AT_OFFLINE_NEVER`) are not listed.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_STORAGE` (the store could not be read),
/// `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_offline_get(tracker: *mut at_tracker, out: *mut *mut at_hit_list) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        write_out(out, || t.offline_get().map(list))
    })
}

/// At most `limit` (at least 1) stored hits with an id greater than `after_id`,
/// oldest first; pass 0 for the first page, then the last hit's `at_hit_id`.
/// An empty list means the end. Caller owns the list.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (`limit` 0),
/// `AT_ERR_STORAGE`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_offline_get_page(
    tracker: *mut at_tracker,
    after_id: u64,
    limit: u32,
    out: *mut *mut at_hit_list,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        write_out(out, || t.offline_get_page(after_id, limit).map(list))
    })
}

/// The oldest stored hit, or `*out = NULL` when the store is empty. Caller owns
/// the hit: free with `at_hit_free`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_STORAGE`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_offline_oldest(tracker: *mut at_tracker, out: *mut *mut at_hit) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        write_out(out, || t.offline_oldest().map(one))
    })
}

/// The most recently stored hit, or `*out = NULL` when the store is empty.
/// Caller owns the hit: free with `at_hit_free`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_STORAGE`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_offline_latest(tracker: *mut at_tracker, out: *mut *mut at_hit) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        write_out(out, || t.offline_latest().map(one))
    })
}

/// Number of stored hits.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_STORAGE`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_offline_count(tracker: *mut at_tracker, out: *mut u64) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        write_out(out, || t.offline_count())
    })
}

/// Deletes every stored hit; writes how many to `*deleted` (may be NULL).
/// Deleted hits are reported as `AT_DROP_DELETED`.
/// Errors: `AT_ERR_NULL_ARGUMENT` (tracker), `AT_ERR_STORAGE` (nothing deleted),
/// `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_offline_delete(tracker: *mut at_tracker, deleted: *mut u64) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        write_count(deleted, t.offline_delete()?)
    })
}

/// Deletes stored hits created more than `days` × 24 h ago (0 deletes every hit
/// created before now); writes how many to `*deleted` (may be NULL).
/// Errors: `AT_ERR_NULL_ARGUMENT` (tracker), `AT_ERR_STORAGE` (nothing deleted),
/// `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_offline_delete_older_than_days(
    tracker: *mut at_tracker,
    days: u32,
    deleted: *mut u64,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        write_count(deleted, t.offline_delete_older_than_days(days)?)
    })
}

/// Deletes stored hits created before `unix_ms` (Unix milliseconds); writes how
/// many to `*deleted` (may be NULL).
/// Errors: `AT_ERR_NULL_ARGUMENT` (tracker), `AT_ERR_STORAGE` (nothing deleted),
/// `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_offline_delete_older_than(
    tracker: *mut at_tracker,
    unix_ms: i64,
    deleted: *mut u64,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        write_count(deleted, t.offline_delete_older_than(unix_ms)?)
    })
}

unsafe fn write_count(out: *mut u64, n: u64) -> Result<()> {
    if let Some(out) = out.as_mut() {
        *out = n;
    }
    Ok(())
}
