//! Argument checks, the thread-local last error and status translation shared
//! by every export (the panic guard is in `export.rs`).

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};

use crate::error::{Error, Result, Status};
use crate::ffi::c_enum::CEnumType;
use crate::ffi::status::*;
use crate::ffi::types::*;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn set_last_error(message: &str) {
    let c = to_cstring(message);
    LAST_ERROR.with(|e| {
        if let Ok(mut slot) = e.try_borrow_mut() {
            *slot = c;
        }
    });
}

pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// A C string from any Rust string: interior NULs become U+FFFD.
pub(crate) fn to_cstring(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default())
}

pub(crate) fn status_code(status: Status) -> at_status {
    status.to_c()
}

pub(crate) fn result_code(r: &Result<()>) -> at_status {
    match r {
        Ok(()) => AT_OK,
        Err(e) => status_code(e.status),
    }
}

fn null(name: &str) -> Error {
    Error::new(Status::NullArgument, format!("{name} is NULL"))
}

/// A required UTF-8 string argument.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(null(name));
    }
    CStr::from_ptr(p).to_str().map_err(|e| Error::invalid(format!("{name} is not valid UTF-8 ({e})")))
}

/// An optional UTF-8 string argument (NULL allowed).
pub(crate) unsafe fn opt_str_arg<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        str_arg(p, name).map(Some)
    }
}

/// A required handle argument.
pub(crate) unsafe fn handle<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    p.as_ref().ok_or_else(|| null(name))
}

pub(crate) unsafe fn handle_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    p.as_mut().ok_or_else(|| null(name))
}

/// A required out-parameter; written only on success by the caller of this.
pub(crate) unsafe fn out_arg<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    p.as_mut().ok_or_else(|| null(name))
}

/// The host's `user_data`, carried to the callback thread. The host promises it
/// stays valid until the callback ran (see the header).
#[derive(Clone, Copy)]
pub(crate) struct UserData(*mut c_void);

// SAFETY: the pointer is only handed back to the host's own callback; the host
// owns its thread-safety (documented on every callback typedef).
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

impl UserData {
    pub(crate) fn new(p: *mut c_void) -> Self {
        UserData(p)
    }
    pub(crate) fn get(self) -> *mut c_void {
        self.0
    }
}

/// Wraps a C dispatch callback as a core dispatch completion.
pub(crate) fn dispatch_completion(
    done: at_dispatch_fn,
    user_data: *mut c_void,
) -> Option<crate::tracker::DispatchCompletion> {
    let done = done?;
    let ud = UserData::new(user_data);
    Some(Box::new(move |r: crate::delivery::DispatchReport| {
        explain(&r.status);
        let result = at_dispatch_result {
            status: result_code(&r.status),
            sent: r.sent,
            failed: r.failed,
            dropped: r.dropped,
        };
        unsafe { done(&result, ud.get()) }
    }))
}

/// Wraps a C completion callback as a core `Completion`.
pub(crate) fn completion(
    done: at_completion_fn,
    user_data: *mut c_void,
) -> Option<crate::runtime::Completion> {
    let done = done?;
    let ud = UserData::new(user_data);
    Some(Box::new(move |r: Result<()>| {
        explain(&r);
        unsafe { done(result_code(&r), ud.get()) }
    }))
}

/// Before a callback receives a failure: its message becomes the calling
/// (callback) thread's `at_last_error()`, so the host can read why. Success
/// leaves it unchanged, as a successful call does.
fn explain(result: &Result<()>) {
    if let Err(e) = result {
        set_last_error(&e.message);
    }
}
