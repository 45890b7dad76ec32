//! Version, status names and the thread-local last error.

use std::ffi::c_char;

use crate::ffi::args::last_error_ptr;
use crate::ffi::types::*;

const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version as "MAJOR.MINOR.PATCH". Static storage; never NULL.
#[no_mangle]
pub extern "C" fn at_version() -> *const c_char {
    export_value!(VERSION.as_ptr().cast(), VERSION.as_ptr().cast())
}

/// The name of `status`, e.g. "AT_ERR_STORAGE"; "AT_UNKNOWN_STATUS" for a value
/// that is not a status. Static storage; never NULL.
#[no_mangle]
pub extern "C" fn at_status_str(status: at_status) -> *const c_char {
    export_value!(c"AT_UNKNOWN_STATUS".as_ptr(), {
        let name: &'static str = match status {
            AT_OK => "AT_OK\0",
            AT_ERR_NULL_ARGUMENT => "AT_ERR_NULL_ARGUMENT\0",
            AT_ERR_INVALID_ARGUMENT => "AT_ERR_INVALID_ARGUMENT\0",
            AT_ERR_TOO_LARGE => "AT_ERR_TOO_LARGE\0",
            AT_ERR_SUPPRESSED => "AT_ERR_SUPPRESSED\0",
            AT_ERR_STORAGE => "AT_ERR_STORAGE\0",
            AT_ERR_NETWORK => "AT_ERR_NETWORK\0",
            AT_ERR_CANCELLED => "AT_ERR_CANCELLED\0",
            AT_ERR_CLOSED => "AT_ERR_CLOSED\0",
            AT_ERR_INTERNAL => "AT_ERR_INTERNAL\0",
            AT_ERR_KEY_REJECTED => "AT_ERR_KEY_REJECTED\0",
            _ => "AT_UNKNOWN_STATUS\0",
        };
        name.as_ptr().cast()
    })
}

/// A message describing the last call on this thread that failed, e.g.
/// "at_track_event: properties are not valid JSON: ...". Empty ("") when no call
/// on this thread has failed. Successful calls leave it unchanged. Never NULL;
/// owned by the library and valid until the next failing call on this thread.
#[no_mangle]
pub extern "C" fn at_last_error() -> *const c_char {
    export_value!(c"".as_ptr(), last_error_ptr())
}
