//! `at_hit` and `at_hit_list`: stored hits handed to the host.

use std::ffi::{c_char, CString};

use crate::ffi::args::to_cstring;
use crate::hit::StoredHit;

// header-section: at_hit and at_hit_list: stored hits handed to the host

/// One stored hit, a snapshot: later changes to the store do not affect it.
/// Immutable, so it may be read from any thread. Its strings are owned by it and
/// valid until it (or the list holding it) is freed.
pub struct at_hit {
    id: u64,
    url: CString,
    hit_type: CString,
    message_id: CString,
    body: Option<CString>,
    created_ms: i64,
    retry_count: u32,
    is_offline: bool,
}

impl From<StoredHit> for at_hit {
    fn from(h: StoredHit) -> Self {
        at_hit {
            id: h.id,
            url: to_cstring(&h.url),
            hit_type: to_cstring(&h.hit_type),
            message_id: to_cstring(&h.message_id),
            body: h.body.as_deref().map(to_cstring),
            created_ms: h.created_ms,
            retry_count: h.retry_count,
            is_offline: h.is_offline,
        }
    }
}

/// Stored hits, oldest first. Owns its hits; free with `at_hit_list_free`.
pub struct at_hit_list {
    pub(crate) hits: Vec<at_hit>,
}

/// Number of hits in `list`; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn at_hit_list_len(list: *const at_hit_list) -> usize {
    export_value!(0, list.as_ref().map_or(0, |l| l.hits.len()))
}

/// The hit at `index` (0 = oldest), owned by the list and valid until it is
/// freed; NULL when `list` is NULL or `index` is out of range.
#[no_mangle]
pub unsafe extern "C" fn at_hit_list_get(list: *const at_hit_list, index: usize) -> *const at_hit {
    export_value!(
        std::ptr::null(),
        list.as_ref().and_then(|l| l.hits.get(index)).map_or(std::ptr::null(), |h| h as *const at_hit)
    )
}

/// Frees a list and every hit in it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn at_hit_list_free(list: *mut at_hit_list) {
    export_value!(
        (),
        if !list.is_null() {
            drop(Box::from_raw(list))
        }
    )
}

/// Frees a hit returned by `at_offline_oldest` / `at_offline_latest`. NULL is a
/// no-op. Never pass a hit that belongs to a list.
#[no_mangle]
pub unsafe extern "C" fn at_hit_free(hit: *mut at_hit) {
    export_value!(
        (),
        if !hit.is_null() {
            drop(Box::from_raw(hit))
        }
    )
}

/// For a URL hit its URL; for an event the batch URL it is posted to
/// ("{endpoint}/v1/batch"). Owned by the hit. NULL for a NULL hit.
#[no_mangle]
pub unsafe extern "C" fn at_hit_url(hit: *const at_hit) -> *const c_char {
    export_value!(std::ptr::null(), hit.as_ref().map_or(std::ptr::null(), |h| h.url.as_ptr()))
}

/// The event name or hit type ("" when a URL hit was sent without one). Owned
/// by the hit. NULL for a NULL hit.
#[no_mangle]
pub unsafe extern "C" fn at_hit_type(hit: *const at_hit) -> *const c_char {
    export_value!(std::ptr::null(), hit.as_ref().map_or(std::ptr::null(), |h| h.hit_type.as_ptr()))
}

/// The hit's UUID v4, the collector's deduplication key. Owned by the hit.
#[no_mangle]
pub unsafe extern "C" fn at_hit_message_id(hit: *const at_hit) -> *const c_char {
    export_value!(std::ptr::null(), hit.as_ref().map_or(std::ptr::null(), |h| h.message_id.as_ptr()))
}

/// An event's JSON properties as given; NULL for URL hits. Owned by the hit.
#[no_mangle]
pub unsafe extern "C" fn at_hit_body(hit: *const at_hit) -> *const c_char {
    export_value!(
        std::ptr::null(),
        hit.as_ref().and_then(|h| h.body.as_ref()).map_or(std::ptr::null(), |b| b.as_ptr())
    )
}

/// Store order: ids only grow and are never reused. The cursor for
/// `at_offline_get_page`. 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn at_hit_id(hit: *const at_hit) -> u64 {
    export_value!(0, hit.as_ref().map_or(0, |h| h.id))
}

/// Creation time in Unix milliseconds. 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn at_hit_creation_date_ms(hit: *const at_hit) -> i64 {
    export_value!(0, hit.as_ref().map_or(0, |h| h.created_ms))
}

/// Failed send attempts that reached the server. 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn at_hit_retry_count(hit: *const at_hit) -> u32 {
    export_value!(0, hit.as_ref().map_or(0, |h| h.retry_count))
}

/// True when the hit was stored because it could not be sent: tracked in
/// `AT_OFFLINE_ALWAYS` mode or while the network was reported unreachable, or a
/// send found the network down. false for NULL.
#[no_mangle]
pub unsafe extern "C" fn at_hit_is_offline(hit: *const at_hit) -> bool {
    export_value!(false, hit.as_ref().is_some_and(|h| h.is_offline))
}
