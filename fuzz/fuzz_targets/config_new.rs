//! Every config setter with fuzzed values, in any order and number, then
//! `at_tracker_new`, one hit, a flush, and close.
//!
//! Input: a sequence of (setter selector, arguments). The storage path is always
//! a name (fuzzed bytes without '/') inside this process's private scratch
//! directory, and the transport is always `answer_now` (set last), so the
//! fuzzer can neither write outside it nor reach the network.
//!
//! What must hold, besides the oracle of every call: setters answer `AT_OK` or
//! `AT_ERR_INVALID_ARGUMENT` (never NULL_ARGUMENT for a non-NULL config);
//! `at_tracker_new` answers `AT_OK`, `AT_ERR_INVALID_ARGUMENT` (bad combination,
//! missing path or endpoint) or `AT_ERR_STORAGE`; a started tracker tracks,
//! flushes and closes cleanly.

#![no_main]

use std::ffi::{c_char, c_void, CStr};
use std::path::PathBuf;
use std::ptr::null_mut;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use attracker::ffi::*;
use attracker_fuzz::*;
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| scratch("config"))
}

extern "C" fn on_log(level: at_log_level, message: *const c_char, _ud: *mut c_void) {
    assert!(level <= AT_LOG_DEBUG, "log level {level}");
    assert!(!message.is_null());
    let m = unsafe { CStr::from_ptr(message) };
    assert!(m.to_str().is_ok(), "a log line is not UTF-8");
}

extern "C" fn on_drop(reason: at_drop_reason, ids: *const *const c_char, count: usize, _ud: *mut c_void) {
    assert!(reason <= AT_DROP_EXPIRED, "drop reason {reason}");
    assert!(count > 0 && !ids.is_null());
    for i in 0..count {
        assert!(!unsafe { *ids.add(i) }.is_null());
    }
}

extern "C" fn on_remote(json: *const c_char, _ud: *mut c_void) {
    assert!(!json.is_null());
}

/// A file name from fuzzed bytes: no '/', not "." or ".." (bad UTF-8 stays, to
/// test its refusal).
fn store_name(bytes: &[u8]) -> Vec<u8> {
    let mut n: Vec<u8> = c_bytes(bytes).iter().copied().filter(|&b| b != b'/').take(40).collect();
    if n.is_empty() || n == b"." || n == b".." {
        n = b"hits.db".to_vec();
    }
    n
}

/// A string argument: NULL (selector bit) or fuzzed bytes.
fn text(input: &mut Input) -> Option<std::ffi::CString> {
    let null = input.u8() == 0xff;
    let f = input.field();
    (!null).then(|| c_string(f))
}

fuzz_target!(|data: &[u8]| {
    let dir = dir();
    clear_dir(dir);
    let mut input = Input::new(data);
    let c = Config::new();
    let cfg = c.0;
    let ok = [AT_OK, AT_ERR_INVALID_ARGUMENT];
    let ok_or_null = [AT_OK, AT_ERR_INVALID_ARGUMENT, AT_ERR_NULL_ARGUMENT];
    let mut calls = 0;
    while !input.is_empty() && calls < 64 {
        calls += 1;
        let op = input.u8() % 31;
        unsafe {
            match op {
                0 => {
                    let mut p = dir.as_os_str().as_encoded_bytes().to_vec();
                    p.push(b'/');
                    p.extend(store_name(input.field()));
                    let p = c_string(&p);
                    checked("at_config_set_storage_path", &ok, || {
                        at_config_set_storage_path(cfg, p.as_ptr())
                    });
                }
                1 => {
                    let s = text(&mut input);
                    checked("at_config_set_endpoint", &ok_or_null, || at_config_set_endpoint(cfg, ptr(&s)));
                }
                2 => {
                    let s = text(&mut input);
                    checked("at_config_set_api_key", &ok_or_null, || at_config_set_api_key(cfg, ptr(&s)));
                }
                3 => {
                    let v = input.u32();
                    checked("at_config_set_offline_mode", &ok, || at_config_set_offline_mode(cfg, v));
                }
                4 => {
                    let v = input.u32();
                    checked("at_config_set_durability", &ok, || at_config_set_durability(cfg, v));
                }
                5 => {
                    let v = input.u32();
                    checked("at_config_set_synchronous", &ok, || at_config_set_synchronous(cfg, v));
                }
                6 => {
                    let v = input.u32();
                    checked("at_config_set_flush_interval_ms", &ok, || {
                        at_config_set_flush_interval_ms(cfg, v)
                    });
                }
                7 => {
                    let v = input.u32();
                    checked("at_config_set_flush_threshold", &ok, || at_config_set_flush_threshold(cfg, v));
                }
                8 => {
                    let v = input.u32();
                    checked("at_config_set_max_queue_size", &ok, || at_config_set_max_queue_size(cfg, v));
                }
                9 => {
                    let v = input.u64();
                    checked("at_config_set_max_store_bytes", &ok, || at_config_set_max_store_bytes(cfg, v));
                }
                10 => {
                    let v = input.u32();
                    checked("at_config_set_max_event_bytes", &ok, || at_config_set_max_event_bytes(cfg, v));
                }
                11 => {
                    let v = input.u32();
                    checked("at_config_set_max_attempts", &ok, || at_config_set_max_attempts(cfg, v));
                }
                12 => {
                    let v = input.u32();
                    checked("at_config_set_max_batch_events", &ok, || at_config_set_max_batch_events(cfg, v));
                }
                13 => {
                    let v = input.u32();
                    checked("at_config_set_max_batch_bytes", &ok, || at_config_set_max_batch_bytes(cfg, v));
                }
                14 => {
                    let v = input.bool();
                    checked("at_config_set_gzip", &ok, || at_config_set_gzip(cfg, v));
                }
                15 => {
                    let v = input.u32();
                    checked("at_config_set_auth_scheme", &ok, || at_config_set_auth_scheme(cfg, v));
                }
                16 => {
                    let (a, b) = (input.u32(), input.u32());
                    checked("at_config_set_timeouts_ms", &ok, || at_config_set_timeouts_ms(cfg, a, b));
                }
                17 => {
                    let v = input.u32();
                    checked("at_config_set_commit_window_ms", &ok, || at_config_set_commit_window_ms(cfg, v));
                }
                18 => {
                    // Bounded: a long busy timeout only waits, and nothing here contends.
                    let v = input.u32() % 10_000;
                    checked("at_config_set_busy_timeout_ms", &ok, || at_config_set_busy_timeout_ms(cfg, v));
                }
                19 => {
                    let v = input.u32();
                    checked("at_config_set_callback_mode", &ok, || at_config_set_callback_mode(cfg, v));
                }
                20 => {
                    let v = input.bool();
                    checked("at_config_set_track_lifecycle_events", &ok, || {
                        at_config_set_track_lifecycle_events(cfg, v)
                    });
                }
                21 => {
                    let v = input.bool();
                    checked("at_config_set_flush_on_background", &ok, || {
                        at_config_set_flush_on_background(cfg, v)
                    });
                }
                22 => {
                    let s = text(&mut input);
                    checked("at_config_set_remote_config_url", &ok, || {
                        at_config_set_remote_config_url(cfg, ptr(&s))
                    });
                }
                23 => {
                    let v = input.u32();
                    checked("at_config_set_remote_config_interval_ms", &ok, || {
                        at_config_set_remote_config_interval_ms(cfg, v)
                    });
                }
                24 => {
                    let s = text(&mut input);
                    checked("at_config_add_allowed_endpoint_host", &ok_or_null, || {
                        at_config_add_allowed_endpoint_host(cfg, ptr(&s))
                    });
                }
                25 => {
                    let v = input.u32();
                    checked("at_config_set_opt_out_policy", &ok, || at_config_set_opt_out_policy(cfg, v));
                }
                26 => {
                    let v = input.bool();
                    checked("at_config_set_require_https", &ok, || at_config_set_require_https(cfg, v));
                }
                27 => {
                    let v = input.bool();
                    checked("at_config_set_allow_world_writable_directory", &ok, || {
                        at_config_set_allow_world_writable_directory(cfg, v)
                    });
                }
                28 => {
                    let v = input.bool();
                    checked("at_config_set_insecure_tls_for_development", &ok, || {
                        at_config_set_insecure_tls_for_development(cfg, v)
                    });
                }
                29 => {
                    let (set, level) = (input.bool(), input.u32());
                    let f: at_log_fn = if set { Some(on_log) } else { None };
                    checked("at_config_set_log_callback", &ok, || {
                        at_config_set_log_callback(cfg, f, null_mut(), level)
                    });
                }
                _ => {
                    let (drop_cb, remote_cb) = (input.bool(), input.bool());
                    let f: at_drop_fn = if drop_cb { Some(on_drop) } else { None };
                    checked("at_config_set_drop_callback", &ok, || {
                        at_config_set_drop_callback(cfg, f, null_mut())
                    });
                    let f: at_remote_config_fn = if remote_cb { Some(on_remote) } else { None };
                    checked("at_config_set_remote_config_callback", &ok, || {
                        at_config_set_remote_config_callback(cfg, f, null_mut())
                    });
                }
            }
        }
    }
    // Never the network: every request is answered here, at once.
    ANSWER.store(503, Ordering::Relaxed);
    unsafe { assert_eq!(at_config_set_transport(cfg, Some(answer_now), null_mut()), AT_OK) };
    let Ok(t) = Tracker::open(&c, &[AT_OK, AT_ERR_INVALID_ARGUMENT, AT_ERR_STORAGE]) else { return };
    drop(c);
    checked("at_track_event", &[AT_OK, AT_ERR_TOO_LARGE, AT_ERR_STORAGE], || unsafe {
        at_track_event(t.0, c"fuzz".as_ptr(), c"{}".as_ptr(), None, null_mut())
    });
    checked("at_tracker_sync", &[AT_OK, AT_ERR_STORAGE], || unsafe { at_tracker_sync(t.0) });
    checked("at_flush", &[AT_OK], || unsafe { at_flush(t.0, None, null_mut()) });
    unsafe { at_tracker_poll(t.0, 0) };
    let mut stats = std::mem::MaybeUninit::<at_stats>::zeroed();
    checked("at_tracker_stats", &[AT_OK], || unsafe {
        at_tracker_stats(t.0, stats.as_mut_ptr(), std::mem::size_of::<at_stats>())
    });
    t.close();
    unsafe { at_tracker_poll(t.0, 0) };
});
