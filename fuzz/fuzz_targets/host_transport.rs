//! The host-transport completion path: `at_config_set_transport` hands each
//! request to the host, which ends it with `at_transport_complete` (fuzzed
//! status, Retry-After, error text; also NULL, or the wrong ending call).
//!
//! A fresh tracker per input (polled callbacks, hits sent only when dispatched)
//! tracks a few events and URL hits, then runs dispatches whose requests are
//! answered from the input.
//!
//! What must hold, besides the oracle of every call: a completion with a valid
//! answer is `AT_OK`; an HTTP status outside 100..=599 without an error, or
//! error text that is not UTF-8, is `AT_ERR_INVALID_ARGUMENT` and leaves the
//! request to be completed; every dispatch ends; and every hit tracked is, at the
//! end, either still stored, acknowledged, or dropped and reported — exactly once.

#![no_main]

use std::ffi::{c_char, c_void, CStr};
use std::path::PathBuf;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use attracker::ffi::*;
use attracker_fuzz::*;
use libfuzzer_sys::fuzz_target;

static PENDING: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static DISPATCHES_DONE: AtomicU64 = AtomicU64::new(0);
static DROPPED_REPORTED: AtomicU64 = AtomicU64::new(0);

extern "C" fn collect(request: *mut at_request, _ud: *mut c_void) {
    PENDING.lock().unwrap().push(request as usize);
}

extern "C" fn on_dispatch(result: *const at_dispatch_result, _ud: *mut c_void) {
    let r = unsafe { &*result };
    assert!(
        [AT_OK, AT_ERR_NETWORK, AT_ERR_KEY_REJECTED, AT_ERR_STORAGE, AT_ERR_CANCELLED].contains(&r.status),
        "dispatch status {}",
        r.status
    );
    DISPATCHES_DONE.fetch_add(1, Ordering::SeqCst);
}

extern "C" fn on_drop(_reason: at_drop_reason, ids: *const *const c_char, count: usize, _ud: *mut c_void) {
    assert!(!ids.is_null());
    DROPPED_REPORTED.fetch_add(count as u64, Ordering::SeqCst);
}

fn dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| scratch("transport"))
}

/// Reads the request through every accessor.
unsafe fn inspect(r: *mut at_request) {
    let method = CStr::from_ptr(at_request_method(r)).to_bytes();
    assert!(method == b"GET" || method == b"POST");
    assert!(!at_request_url(r).is_null());
    let n = at_request_header_count(r);
    for i in 0..n {
        assert!(!at_request_header_name(r, i).is_null() && !at_request_header_value(r, i).is_null());
    }
    assert!(at_request_header_name(r, n).is_null() && at_request_header_value(r, usize::MAX).is_null());
    let mut len = usize::MAX;
    assert!(!at_request_body(r, &mut len).is_null());
    assert_eq!(len == 0, method == b"GET", "a POST has a body, a GET none");
}

/// Ends `r` as the input says; a refused ending is followed by a valid one.
unsafe fn answer(t: &Tracker, r: *mut at_request, input: &mut Input) {
    inspect(r);
    let complete = |status: i32, retry: i64, err: *const c_char, allowed: &[at_status]| {
        checked("at_transport_complete", allowed, || at_transport_complete(r, status, retry, err))
    };
    let done = match input.u8() % 8 {
        0 => complete(200, 0, null(), &[AT_OK]),
        1 => {
            let status = input.u32() as i32;
            let want = if (100..=599).contains(&status) { AT_OK } else { AT_ERR_INVALID_ARGUMENT };
            complete(status, input.i64(), null(), &[want])
        }
        2 => {
            let status = if input.bool() { 429 } else { 503 };
            complete(status, input.i64(), null(), &[AT_OK])
        }
        3 | 4 => {
            let status = match input.u8() % 3 {
                0 => AT_TRANSPORT_UNREACHABLE,
                1 => AT_TRANSPORT_FAILED,
                _ => input.u32() as i32,
            };
            let text = input.field();
            let err = c_string(text);
            let want =
                if std::str::from_utf8(c_bytes(text)).is_ok() { AT_OK } else { AT_ERR_INVALID_ARGUMENT };
            complete(status, input.i64(), err.as_ptr(), &[want])
        }
        5 => complete(if input.bool() { 400 } else { 413 }, 0, null(), &[AT_OK]),
        6 => complete(if input.bool() { 401 } else { 403 }, 0, null(), &[AT_OK]),
        _ => {
            checked("at_transport_complete", &[AT_ERR_NULL_ARGUMENT], || {
                at_transport_complete(null_mut(), 200, 0, null())
            });
            checked("at_offline_ack_batch", &[AT_ERR_INVALID_ARGUMENT], || {
                at_offline_ack_batch(t.0, r, true)
            });
            complete(500, 0, null(), &[AT_OK])
        }
    };
    if done != AT_OK {
        assert_eq!(
            complete(503, 0, null(), &[AT_OK]),
            AT_OK,
            "a refused completion leaves the request usable"
        );
    }
}

fn stats(t: &Tracker) -> at_stats {
    let mut s = std::mem::MaybeUninit::<at_stats>::zeroed();
    checked("at_tracker_stats", &[AT_OK], || unsafe {
        at_tracker_stats(t.0, s.as_mut_ptr(), std::mem::size_of::<at_stats>())
    });
    unsafe { s.assume_init() }
}

fuzz_target!(|data: &[u8]| {
    let dir = dir();
    clear_dir(dir);
    PENDING.lock().unwrap().clear();
    DROPPED_REPORTED.store(0, Ordering::SeqCst);
    let mut input = Input::new(data);
    let c = Config::offline_store(&dir.join("hits.db"));
    unsafe {
        assert_eq!(at_config_set_transport(c.0, Some(collect), null_mut()), AT_OK);
        // The accounting below counts tracked hits: drop reports (events of
        // their own, tested in tests/accounting.rs) would add rows to it.
        assert_eq!(at_config_set_report_drops(c.0, false), AT_OK);
        assert_eq!(at_config_set_callback_mode(c.0, AT_CALLBACKS_POLLED), AT_OK);
        assert_eq!(at_config_set_timeouts_ms(c.0, 5000, 60_000), AT_OK);
        assert_eq!(at_config_set_drop_callback(c.0, Some(on_drop), null_mut()), AT_OK);
        assert_eq!(at_config_set_max_attempts(c.0, input.u32() % 4), AT_OK);
        assert_eq!(at_config_set_max_batch_events(c.0, input.u32() % 4 + 1), AT_OK);
    }
    let t = Tracker::open(&c, &[AT_OK]).unwrap();
    let (events, urls) = (input.u8() % 8 + 1, input.u8() % 3);
    for i in 0..events {
        let props = format!("{{\"i\":{i}}}\0");
        checked("at_track_event", &[AT_OK], || unsafe {
            at_track_event(t.0, c"e".as_ptr(), props.as_ptr().cast(), None, null_mut())
        });
    }
    for _ in 0..urls {
        checked("at_send_hit", &[AT_OK], || unsafe {
            at_send_hit(t.0, c"http://127.0.0.1:9/h?x=1".as_ptr(), null(), None, null_mut())
        });
    }
    let tracked = u64::from(events) + u64::from(urls);

    let rounds = input.u8() % 4 + 1;
    for _ in 0..rounds {
        let before = DISPATCHES_DONE.load(Ordering::SeqCst);
        checked("at_offline_dispatch", &[AT_OK], || unsafe {
            at_offline_dispatch(t.0, Some(on_dispatch), null_mut())
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while DISPATCHES_DONE.load(Ordering::SeqCst) == before {
            assert!(Instant::now() < deadline, "a dispatch did not end");
            unsafe { at_tracker_poll(t.0, 0) };
            let pending: Vec<usize> = std::mem::take(&mut *PENDING.lock().unwrap());
            if pending.is_empty() {
                std::thread::sleep(Duration::from_micros(200));
            }
            for r in pending {
                unsafe { answer(&t, r as *mut at_request, &mut input) };
            }
        }
    }

    let stored = t.count().expect("count");
    let s = stats(&t);
    let dropped =
        s.dropped_rejected + s.dropped_attempts + s.dropped_too_large + s.dropped_corrupt + s.dropped_expired;
    assert_eq!(
        stored + s.sent + dropped,
        tracked,
        "every hit is stored, acknowledged or dropped, once: {stored} stored, {} sent, {dropped} dropped, {tracked} tracked",
        s.sent
    );
    t.close();
    unsafe { at_tracker_poll(t.0, 0) };
    assert_eq!(DROPPED_REPORTED.load(Ordering::SeqCst), dropped, "every drop is reported");
    assert!(PENDING.lock().unwrap().is_empty(), "no request is handed out after close");
});
