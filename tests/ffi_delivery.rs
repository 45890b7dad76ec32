//! Flush and dispatch through the C ABI: the callbacks' `at_dispatch_result`.

mod common;

use std::ffi::{c_void, CString};
use std::sync::mpsc;
use std::time::Duration;

use attracker::ffi::*;
use common::collector::{Collector, Fault};
use common::{c_tracker, TempDir};

unsafe extern "C" fn on_result(result: *const at_dispatch_result, user_data: *mut c_void) {
    let tx = &*(user_data as *const mpsc::Sender<at_dispatch_result>);
    tx.send(*result).unwrap();
}

#[test]
fn dispatch_and_flush_report_through_the_c_callback() {
    let c = Collector::start();
    let dir = TempDir::new("ffi-dispatch");
    let db = CString::new(dir.db().to_str().unwrap()).unwrap();
    let endpoint = CString::new(c.url()).unwrap();
    unsafe {
        let t = c_tracker(&db, &endpoint);
        for _ in 0..4 {
            assert_eq!(
                at_track_event(t, c"e".as_ptr(), c"{\"k\":1}".as_ptr(), None, std::ptr::null_mut()),
                AT_OK
            );
        }
        let (tx, rx) = mpsc::channel::<at_dispatch_result>();
        let ud = &tx as *const _ as *mut c_void;
        assert_eq!(at_flush(t, Some(on_result), ud), AT_OK);
        let r = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!((r.status, r.sent), (AT_OK, 0), "ALWAYS mode: flush sends nothing");
        assert_eq!(at_offline_dispatch(t, Some(on_result), ud), AT_OK);
        let r = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!((r.status, r.sent, r.failed, r.dropped), (AT_OK, 4, 0, 0));
        let mut stats = at_stats::default();
        assert_eq!(at_tracker_stats(t, &mut stats, std::mem::size_of::<at_stats>()), AT_OK);
        assert_eq!((stats.sent, stats.requests, stats.queued), (4, 1, 0));
        assert_eq!(at_offline_dispatch(t, None, std::ptr::null_mut()), AT_OK, "done may be NULL");
        at_tracker_free(t);
    }
    assert_eq!(c.unique_message_ids().len(), 4);
}

#[test]
fn a_short_stats_struct_is_filled_only_as_far_as_its_size() {
    let dir = TempDir::new("ffi-stats");
    let db = CString::new(dir.db().to_str().unwrap()).unwrap();
    unsafe {
        let t = c_tracker(&db, c"http://127.0.0.1:9");
        at_track_event(t, c"e".as_ptr(), std::ptr::null(), None, std::ptr::null_mut());
        // An older caller's struct: just `queued` and `sent`, then a guard.
        let mut buf = [0xAAu8; 24];
        assert_eq!(at_tracker_stats(t, buf.as_mut_ptr().cast(), 16), AT_OK);
        assert_eq!(u64::from_ne_bytes(buf[..8].try_into().unwrap()), 1);
        assert_eq!(&buf[16..], &[0xAA; 8], "nothing written past out_size");
        at_tracker_free(t);
    }
}

#[test]
fn an_exported_batch_acked_after_close_is_freed_and_comes_back_next_time() {
    let dir = TempDir::new("ffi-export-close");
    let db = CString::new(dir.db().to_str().unwrap()).unwrap();
    unsafe {
        let t = c_tracker(&db, c"http://127.0.0.1:9");
        at_track_event(t, c"e".as_ptr(), std::ptr::null(), None, std::ptr::null_mut());
        let mut batch = std::ptr::null_mut();
        assert_eq!(at_offline_export_batch(t, &mut batch), AT_OK);
        assert!(!batch.is_null());
        assert_eq!(at_tracker_close(t, 500), AT_OK);
        assert_eq!(at_offline_ack_batch(t, batch, true), AT_ERR_CLOSED, "freed all the same");
        at_tracker_free(t);
        let t = c_tracker(&db, c"http://127.0.0.1:9");
        let mut n = 0;
        assert_eq!(at_offline_count(t, &mut n), AT_OK);
        assert_eq!(n, 1, "not acknowledged: still queued");
        at_tracker_free(t);
    }
}

/// What a dispatch callback saw: the result and `at_last_error()` on its thread.
type Seen = (at_dispatch_result, String);

unsafe extern "C" fn on_result_reading_last_error(result: *const at_dispatch_result, user_data: *mut c_void) {
    let tx = &*(user_data as *const mpsc::Sender<Seen>);
    let message = std::ffi::CStr::from_ptr(at_last_error()).to_string_lossy().into_owned();
    tx.send((*result, message)).unwrap();
}

#[test]
fn a_failing_dispatch_tells_its_callback_why_through_at_last_error() {
    let c = Collector::start();
    c.set_fault(Fault::Status(503));
    let dir = TempDir::new("ffi-dispatch-why");
    let db = CString::new(dir.db().to_str().unwrap()).unwrap();
    let endpoint = CString::new(c.url()).unwrap();
    unsafe {
        let cfg = at_config_new();
        assert_eq!(at_config_set_storage_path(cfg, db.as_ptr()), AT_OK);
        assert_eq!(at_config_set_endpoint(cfg, endpoint.as_ptr()), AT_OK);
        assert_eq!(at_config_set_offline_mode(cfg, AT_OFFLINE_ALWAYS), AT_OK);
        let mut t = std::ptr::null_mut();
        assert_eq!(at_tracker_new(cfg, &mut t), AT_OK);
        at_config_free(cfg);
        assert_eq!(at_track_event(t, c"e".as_ptr(), std::ptr::null(), None, std::ptr::null_mut()), AT_OK);
        let (tx, rx) = mpsc::channel::<Seen>();
        let ud = &tx as *const _ as *mut c_void;
        assert_eq!(at_offline_dispatch(t, Some(on_result_reading_last_error), ud), AT_OK);
        let (r, message) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!((r.status, r.sent, r.failed), (AT_ERR_NETWORK, 0, 1));
        assert!(message.contains("503"), "at_last_error() in the callback: {message:?}");

        // A success leaves the thread's message alone, as a successful call does.
        c.set_fault(Fault::None);
        assert_eq!(at_offline_dispatch(t, Some(on_result_reading_last_error), ud), AT_OK);
        let (r, after) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!((r.status, r.sent), (AT_OK, 1));
        assert_eq!(after, message, "unchanged by a success");
        at_tracker_free(t);
    }
}

/// The status a completion callback got and `at_last_error()` on its thread.
type Completed = (at_status, String);

unsafe extern "C" fn on_done_reading_last_error(status: at_status, user_data: *mut c_void) {
    let tx = &*(user_data as *const mpsc::Sender<Completed>);
    let message = std::ffi::CStr::from_ptr(at_last_error()).to_string_lossy().into_owned();
    tx.send((status, message)).unwrap();
}

#[test]
fn a_failing_completion_tells_its_callback_why_through_at_last_error() {
    let dir = TempDir::new("ffi-completion-why");
    let db = CString::new(dir.db().to_str().unwrap()).unwrap();
    unsafe {
        let cfg = at_config_new();
        assert_eq!(at_config_set_storage_path(cfg, db.as_ptr()), AT_OK);
        // Nothing listens there: a memory-only hit is dropped as unreachable,
        // and its completion fails.
        assert_eq!(at_config_set_endpoint(cfg, c"http://127.0.0.1:9".as_ptr()), AT_OK);
        assert_eq!(at_config_set_offline_mode(cfg, AT_OFFLINE_NEVER), AT_OK);
        let mut t = std::ptr::null_mut();
        assert_eq!(at_tracker_new(cfg, &mut t), AT_OK);
        at_config_free(cfg);
        let (tx, rx) = mpsc::channel::<Completed>();
        let ud = &tx as *const _ as *mut c_void;
        let st = at_track_event(t, c"e".as_ptr(), std::ptr::null(), Some(on_done_reading_last_error), ud);
        assert_eq!(st, AT_OK);
        let (status, message) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(status, AT_ERR_NETWORK);
        assert!(message.contains("dropped"), "at_last_error() in the callback: {message:?}");
        at_tracker_free(t);
    }
}
