//! `AT_CALLBACKS_POLLED`: callbacks wait for the host's `at_tracker_poll` and run
//! on the polling thread; they may call back in, even free the tracker.

mod common;

use std::ffi::{c_void, CString};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use attracker::ffi::*;
use attracker::{CallbackMode, Tracker};
use common::{config, TempDir};

#[test]
fn completions_and_logs_wait_for_poll_and_run_on_the_polling_thread() {
    let dir = TempDir::new("polled");
    let mut c = config(&dir.db());
    c.set_callback_mode(CallbackMode::Polled);
    let logs = common::Logs::default();
    logs.attach(&mut c);
    let t = Tracker::new(c).unwrap();
    let (tx, rx) = mpsc::channel();
    for i in 0..3 {
        let tx = tx.clone();
        t.track_event(
            "e",
            None,
            Some(Box::new(move |r| tx.send((i, r, std::thread::current().id())).unwrap())),
        )
        .unwrap();
    }
    t.set_offline_mode(attracker::OfflineMode::Required, None).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(rx.try_recv().is_err(), "nothing runs until the host polls");
    assert!(logs.0.lock().unwrap().is_empty());
    assert_eq!(t.poll(2), 2);
    let (i, r, thread) = rx.try_recv().unwrap();
    assert_eq!((i, r.is_ok(), thread), (0, true, std::thread::current().id()));
    assert!(t.poll(0) >= 2, "the third completion and the mode change's log line");
    assert_eq!(rx.try_recv().unwrap().0, 1);
    assert_eq!(rx.try_recv().unwrap().0, 2);
    assert!(!logs.0.lock().unwrap().is_empty());
    assert_eq!(t.poll(0), 0);
}

#[test]
fn thread_mode_has_nothing_to_poll() {
    let dir = TempDir::new("notpolled");
    let t = Tracker::new(config(&dir.db())).unwrap();
    let (tx, rx) = mpsc::channel();
    t.track_event("e", None, Some(Box::new(move |r| tx.send(r).unwrap()))).unwrap();
    rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(t.poll(0), 0);
}

#[test]
fn close_runs_what_was_never_polled_on_the_closing_thread() {
    let dir = TempDir::new("polledclose");
    let mut c = config(&dir.db());
    c.set_callback_mode(CallbackMode::Polled);
    let t = Tracker::new(c).unwrap();
    let (tx, rx) = mpsc::channel();
    t.track_event("e", None, Some(Box::new(move |r| tx.send((r, std::thread::current().id())).unwrap())))
        .unwrap();
    t.close(Duration::from_secs(1)).unwrap();
    let (r, thread) = rx.try_recv().expect("ran during close");
    assert!(r.is_ok());
    assert_eq!(thread, std::thread::current().id());
}

struct Host {
    tracker: *mut at_tracker,
    events: Mutex<Vec<String>>,
}

unsafe extern "C" fn track_again(status: at_status, user_data: *mut c_void) {
    let host = &*(user_data as *const Host);
    host.events.lock().unwrap().push(format!("done {status}"));
    // Calling back into the API from a polled callback.
    let st =
        at_track_event(host.tracker, c"from_callback".as_ptr(), std::ptr::null(), None, std::ptr::null_mut());
    host.events.lock().unwrap().push(format!("track {st}"));
}

unsafe extern "C" fn free_tracker(_status: at_status, user_data: *mut c_void) {
    let host = &*(user_data as *const Host);
    at_tracker_free(host.tracker);
    host.events.lock().unwrap().push("freed".into());
}

unsafe extern "C" fn record(status: at_status, user_data: *mut c_void) {
    let host = &*(user_data as *const Host);
    host.events.lock().unwrap().push(format!("later {status}"));
}

unsafe fn polled_tracker(dir: &TempDir) -> *mut at_tracker {
    let db = CString::new(dir.db().to_str().unwrap()).unwrap();
    let cfg = at_config_new();
    at_config_set_storage_path(cfg, db.as_ptr());
    at_config_set_endpoint(cfg, c"http://127.0.0.1:9".as_ptr());
    at_config_set_offline_mode(cfg, AT_OFFLINE_ALWAYS);
    assert_eq!(at_config_set_callback_mode(cfg, AT_CALLBACKS_POLLED), AT_OK);
    assert_eq!(at_config_set_callback_mode(cfg, 7), AT_ERR_INVALID_ARGUMENT);
    let mut t = std::ptr::null_mut();
    assert_eq!(at_tracker_new(cfg, &mut t), AT_OK);
    at_config_free(cfg);
    t
}

#[test]
fn a_polled_callback_may_call_back_into_the_api() {
    let dir = TempDir::new("polledreenter");
    unsafe {
        let t = polled_tracker(&dir);
        let host = Box::new(Host { tracker: t, events: Mutex::new(Vec::new()) });
        let ud = &*host as *const Host as *mut c_void;
        assert_eq!(at_track_event(t, c"e".as_ptr(), std::ptr::null(), Some(track_again), ud), AT_OK);
        assert_eq!(at_tracker_poll(t, 0), 1);
        assert_eq!(*host.events.lock().unwrap(), vec!["done 0".to_string(), "track 0".to_string()]);
        let mut n = 0;
        assert_eq!(at_offline_count(t, &mut n), AT_OK);
        assert_eq!(n, 2);
        at_tracker_free(t);
    }
}

#[test]
fn a_polled_callback_may_free_its_tracker_and_the_rest_still_run_once() {
    let dir = TempDir::new("polledfree");
    unsafe {
        let t = polled_tracker(&dir);
        let host = Box::new(Host { tracker: t, events: Mutex::new(Vec::new()) });
        let ud = &*host as *const Host as *mut c_void;
        assert_eq!(at_track_event(t, c"a".as_ptr(), std::ptr::null(), Some(free_tracker), ud), AT_OK);
        assert_eq!(at_track_event(t, c"b".as_ptr(), std::ptr::null(), Some(record), ud), AT_OK);
        // Polling stops touching the tracker once a callback frees it; the
        // callback still pending runs inside that free, exactly once.
        assert_eq!(at_tracker_poll(t, 0), 1);
        assert_eq!(*host.events.lock().unwrap(), vec!["later 0".to_string(), "freed".to_string()]);
    }
    let t = Tracker::new(config(&dir.db())).unwrap();
    assert_eq!(t.offline_count().unwrap(), 2, "both hits were committed before the free");
}

static EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn log_line(_level: at_log_level, _message: *const std::ffi::c_char, _ud: *mut c_void) {
    EVENTS.lock().unwrap().push("log".into());
}

unsafe extern "C" fn free_on_thread(_status: at_status, user_data: *mut c_void) {
    at_tracker_free(user_data as *mut at_tracker);
    EVENTS.lock().unwrap().push("freed".into());
}

#[test]
fn a_callback_that_frees_its_tracker_sees_no_callback_after_the_free_returns() {
    let dir = TempDir::new("freeoncallback");
    let db = CString::new(dir.db().to_str().unwrap()).unwrap();
    unsafe {
        let cfg = at_config_new();
        at_config_set_storage_path(cfg, db.as_ptr());
        // Nothing listens there: the final flush inside the free logs a failure.
        at_config_set_endpoint(cfg, c"http://127.0.0.1:9".as_ptr());
        at_config_set_flush_threshold(cfg, 0);
        at_config_set_log_callback(cfg, Some(log_line), std::ptr::null_mut(), AT_LOG_DEBUG);
        let mut t = std::ptr::null_mut();
        assert_eq!(at_tracker_new(cfg, &mut t), AT_OK);
        at_config_free(cfg);
        at_track_event(t, c"e".as_ptr(), std::ptr::null(), None, std::ptr::null_mut());
        assert_eq!(at_track_event(t, c"e".as_ptr(), std::ptr::null(), Some(free_on_thread), t.cast()), AT_OK);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !EVENTS.lock().unwrap().contains(&"freed".to_string()) {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    let events = EVENTS.lock().unwrap().clone();
    assert!(events.contains(&"log".to_string()), "the free logged the failed final flush: {events:?}");
    assert_eq!(events.last().map(String::as_str), Some("freed"), "nothing after the free: {events:?}");
}
