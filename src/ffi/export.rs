//! How every export is written: the panic guard, the failure message and the
//! export's own name for it.
//!
//! An export is a written-out `#[no_mangle] pub unsafe extern "C" fn` (cbindgen
//! reads the signature; it does not expand macros) whose whole body is one
//! `export!` or `export_value!`:
//!
//! ```ignore
//! #[no_mangle]
//! pub unsafe extern "C" fn at_tracker_sync(tracker: *mut at_tracker) -> at_status {
//!     export!(tracker_ref(tracker)?.sync())
//! }
//! ```
//!
//! `export!(body)` runs `body` (a `Result<()>`, `?` allowed) inside
//! `catch_unwind`; an error becomes its `at_status` with "<export name>:
//! <message>" in `at_last_error()`, a panic `AT_ERR_INTERNAL`.
//! `export_value!(fallback, body)` is the same for an export that returns a
//! value instead of a status: a panic returns `fallback` (and sets the message).
//! The name is the enclosing function's, found by the macro: nobody types it.
//! tests/ffi_exports.rs checks that every `extern "C" fn` in src/ffi is written
//! this way.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::Result;
use crate::ffi::args::{set_last_error, status_code};
use crate::ffi::status::*;

/// The body of an export returning `at_status`; see the module docs.
macro_rules! export {
    ($body:expr) => {{
        fn __export() {}
        $crate::ffi::export::guard(::std::any::type_name_of_val(&__export), || $body)
    }};
}

/// The body of an export returning a value; see the module docs.
macro_rules! export_value {
    ($fallback:expr, $body:expr) => {{
        fn __export() {}
        $crate::ffi::export::guard_value(::std::any::type_name_of_val(&__export), $fallback, || $body)
    }};
}

/// The export's name from the path of the marker function the macros declare
/// inside it ("attracker::ffi::tracker::at_tracker_sync::__export").
pub(crate) fn export_name(marker: &'static str) -> &'static str {
    let path = marker.strip_suffix("::__export").unwrap_or(marker);
    path.rsplit("::").find(|segment| !segment.starts_with('{')).unwrap_or(path)
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs one export (through `export!`): catches panics, records the error
/// message for `at_last_error`, and returns the status.
pub(crate) fn guard(marker: &'static str, f: impl FnOnce() -> Result<()>) -> at_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => AT_OK,
        Ok(Err(e)) => {
            set_last_error(&format!("{}: {}", export_name(marker), e.message));
            status_code(e.status)
        }
        Err(panic) => {
            set_last_error(&format!("{}: internal error: {}", export_name(marker), panic_message(&*panic)));
            AT_ERR_INTERNAL
        }
    }
}

/// Runs an export that returns a value rather than a status (through
/// `export_value!`); a panic gives `fallback` and sets `at_last_error`.
pub(crate) fn guard_value<T>(marker: &'static str, fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        set_last_error(&format!("{}: internal error: {}", export_name(marker), panic_message(&*panic)));
        fallback
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::ffi::CStr;

    fn last_error() -> String {
        unsafe { CStr::from_ptr(crate::ffi::at_last_error()) }.to_str().unwrap().to_owned()
    }

    unsafe extern "C" fn at_example_export(fail: bool) -> at_status {
        export!(if fail { Err(Error::invalid("it failed")) } else { Ok(()) })
    }

    unsafe extern "C" fn at_example_panic() -> u32 {
        export_value!(7, panic!("boom"))
    }

    #[test]
    fn the_name_in_the_message_is_the_enclosing_export_s() {
        assert_eq!(unsafe { at_example_export(true) }, AT_ERR_INVALID_ARGUMENT);
        assert_eq!(last_error(), "at_example_export: it failed");
    }

    #[test]
    fn success_leaves_the_last_error_alone() {
        set_last_error("earlier");
        assert_eq!(unsafe { at_example_export(false) }, AT_OK);
        assert_eq!(last_error(), "earlier");
    }

    #[test]
    fn a_panic_in_a_value_export_gives_the_fallback_and_a_message() {
        assert_eq!(unsafe { at_example_panic() }, 7);
        assert_eq!(last_error(), "at_example_panic: internal error: boom");
    }

    #[test]
    fn names_are_found_through_closures_too() {
        assert_eq!(export_name("a::b::at_x::{{closure}}::__export"), "at_x");
        assert_eq!(export_name("attracker::ffi::tracker::at_tracker_sync::__export"), "at_tracker_sync");
    }

    #[test]
    fn real_exports_name_themselves() {
        unsafe {
            assert_eq!(crate::ffi::at_config_set_gzip(std::ptr::null_mut(), true), AT_ERR_NULL_ARGUMENT);
            assert_eq!(last_error(), "at_config_set_gzip: config is NULL");
            assert_eq!(crate::ffi::at_tracker_sync(std::ptr::null_mut()), AT_ERR_NULL_ARGUMENT);
            assert_eq!(last_error(), "at_tracker_sync: tracker is NULL");
            let st = crate::ffi::at_transport_complete(std::ptr::null_mut(), 200, 0, std::ptr::null());
            assert_eq!(st, AT_ERR_NULL_ARGUMENT);
            assert_eq!(last_error(), "at_transport_complete: request is NULL");
        }
    }
}
