//! The C callbacks the library is given: completions, drops, log lines, remote config.

use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::Mutex;

use attracker::ffi::*;

/// One completion: how often it ran and with which status.
#[derive(Default)]
pub struct Token {
    pub calls: AtomicU32,
    pub status: AtomicU32,
    pub sent: AtomicU64,
}

pub unsafe extern "C" fn on_done(status: at_status, user_data: *mut c_void) {
    let t = &*(user_data as *const Token);
    t.status.store(status, SeqCst);
    t.calls.fetch_add(1, SeqCst);
}

pub unsafe extern "C" fn on_dispatch(result: *const at_dispatch_result, user_data: *mut c_void) {
    let t = &*(user_data as *const Token);
    let r = *result;
    t.status.store(r.status, SeqCst);
    t.sent.store(r.sent, SeqCst);
    t.calls.fetch_add(1, SeqCst);
}

/// Drops and log lines of one tracker.
#[derive(Default)]
pub struct Sink {
    pub drops: [AtomicU64; 16],
    pub bad_drop: AtomicU64,
    pub log_min: AtomicU32,
    pub bad_log: AtomicU64,
    pub lines: Mutex<Vec<(u32, String)>>,
}

pub unsafe extern "C" fn on_drop(
    reason: at_drop_reason,
    ids: *const *const c_char,
    count: usize,
    user_data: *mut c_void,
) {
    let s = &*(user_data as *const Sink);
    if reason as usize >= 9 || (count > 0 && ids.is_null()) {
        s.bad_drop.fetch_add(1, SeqCst);
        return;
    }
    for i in 0..count {
        let id = *ids.add(i);
        if id.is_null() || CStr::from_ptr(id).to_bytes().len() != 36 {
            s.bad_drop.fetch_add(1, SeqCst);
        }
    }
    s.drops[reason as usize].fetch_add(count as u64, SeqCst);
}

pub unsafe extern "C" fn on_log(level: at_log_level, message: *const c_char, user_data: *mut c_void) {
    let s = &*(user_data as *const Sink);
    if level > s.log_min.load(SeqCst) || message.is_null() {
        s.bad_log.fetch_add(1, SeqCst);
        return;
    }
    let m = CStr::from_ptr(message).to_string_lossy().into_owned();
    s.lines.lock().unwrap().push((level, m));
}

pub unsafe extern "C" fn on_remote_config(_json: *const c_char, _user_data: *mut c_void) {}
