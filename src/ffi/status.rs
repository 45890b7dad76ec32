//! Version, status codes and their names, and the thread-local last error.

use std::ffi::c_char;

use crate::error::Status;
use crate::ffi::args::last_error_ptr;

// header-section: Status codes, the last error and the version

/// Result of every fallible call. `AT_OK` is 0; values are never reused.
pub type at_status = u32;
c_enum! {
    STATUSES: at_status <=> Status {
        /// Success.
        AT_OK = 0,
        /// A required pointer argument was NULL.
        AT_ERR_NULL_ARGUMENT = 1 => NullArgument,
        /// An argument was malformed: invalid UTF-8, bad JSON, a bad URL, a value out of range.
        AT_ERR_INVALID_ARGUMENT = 2 => InvalidArgument,
        /// The event or hit is larger than `max_event_bytes`.
        AT_ERR_TOO_LARGE = 3 => TooLarge,
        /// Tracking is disabled (`at_set_tracking_enabled(false)`); nothing was kept.
        AT_ERR_SUPPRESSED = 4 => Suppressed,
        /// The store failed: disk full, I/O error, read-only, locked beyond the busy timeout.
        /// Nothing accepted earlier is lost; the tracker keeps working when the condition clears.
        AT_ERR_STORAGE = 5 => Storage,
        /// The network failed.
        AT_ERR_NETWORK = 6 => Network,
        /// The work was abandoned because the tracker closed (given to callbacks only).
        AT_ERR_CANCELLED = 7 => Cancelled,
        /// The tracker is closed (`at_tracker_close`); the call did nothing.
        AT_ERR_CLOSED = 8 => Closed,
        /// A bug in attracker (a caught panic). The message says where.
        AT_ERR_INTERNAL = 9 => Internal,
        /// The collector refused the api key (HTTP 401 or 403). The hits are kept and
        /// automatic sending is paused until `at_set_api_key` or the next start.
        AT_ERR_KEY_REJECTED = 10 => KeyRejected,
    }
}

/// Library version, equal to `at_version()` and the package version.
pub const AT_VERSION_MAJOR: u32 = 0;
pub const AT_VERSION_MINOR: u32 = 1;
pub const AT_VERSION_PATCH: u32 = 0;

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
        STATUSES.get(status).map_or(c"AT_UNKNOWN_STATUS", |v| v.name).as_ptr()
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
