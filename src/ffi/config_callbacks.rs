//! `at_config`: the host's callbacks (remote configuration, logs, drops) and
//! its own HTTP stack.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use crate::config::{DropFn, DropReason, LogFn, LogLevel, RemoteConfigFn};
use crate::ffi::args::*;
use crate::ffi::c_enum::CEnumType;
use crate::ffi::config::{at_config, config_mut};
use crate::ffi::status::*;
use crate::ffi::types::*;

// header-section: at_config: the host's callbacks and HTTP stack

/// `fn` (NULL removes it) is called with each newly applied remote configuration
/// document, on the callback thread. Not called for the cached document applied
/// at start, nor for 304 Not Modified. `user_data` must stay valid until the
/// tracker is freed.
/// Errors: `AT_ERR_NULL_ARGUMENT` (config).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_remote_config_callback(
    config: *mut at_config,
    remote_config_fn: at_remote_config_fn,
    user_data: *mut c_void,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_remote_config_callback(remote_config_fn.map(|f| {
            let ud = UserData::new(user_data);
            let sink: RemoteConfigFn = Arc::new(move |doc: &str| {
                let doc = to_cstring(doc);
                f(doc.as_ptr(), ud.get());
            });
            sink
        }));
        Ok(())
    })
}

/// Log lines at `min` or more severe go to `fn` (NULL removes the callback), on
/// the callback thread (or from `at_tracker_poll`), one at a time. `user_data` must stay valid
/// until the tracker is freed.
/// Errors: `AT_ERR_NULL_ARGUMENT` (config), `AT_ERR_INVALID_ARGUMENT` (`min` is not an
/// `at_log_level`).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_log_callback(
    config: *mut at_config,
    log_fn: at_log_fn,
    user_data: *mut c_void,
    min: at_log_level,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        let min = LogLevel::from_c(min)?;
        let sink = log_fn.map(|f| {
            let ud = UserData::new(user_data);
            let sink: LogFn = Arc::new(move |level: LogLevel, message: &str| {
                let message = to_cstring(message);
                f(level.to_c(), message.as_ptr(), ud.get());
            });
            sink
        });
        c.set_log_callback(sink, min);
        Ok(())
    })
}

/// Every hit dropped without an acknowledgement is reported to `fn` with its
/// message id and reason (NULL removes the callback), on the callback thread.
/// `user_data` must stay valid until the tracker is freed.
/// Errors: `AT_ERR_NULL_ARGUMENT` (config).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_drop_callback(
    config: *mut at_config,
    drop_fn: at_drop_fn,
    user_data: *mut c_void,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_drop_callback(drop_fn.map(|f| {
            let ud = UserData::new(user_data);
            let sink: DropFn = Arc::new(move |reason: DropReason, ids: &[String]| {
                let owned: Vec<CString> = ids.iter().map(|s| to_cstring(s)).collect();
                let ptrs: Vec<*const c_char> = owned.iter().map(|s| s.as_ptr()).collect();
                f(reason.to_c(), ptrs.as_ptr(), ptrs.len(), ud.get());
            });
            sink
        }));
        Ok(())
    })
}

/// Replaces libcurl with the host's HTTP stack (URLSession, UnityWebRequest,
/// FHttpModule). `send_fn` is called for each request on the callback thread
/// (from `at_tracker_poll` with `AT_CALLBACKS_POLLED`); it must start the
/// request and return without waiting for it, then report the result with
/// `at_transport_complete` from any thread, exactly once. Batching, retries,
/// backoff, leases and deduplication stay in the library. A request not
/// completed within the request timeout counts as failed. NULL restores libcurl.
/// `user_data` must stay valid until the tracker is freed.
/// Errors: `AT_ERR_NULL_ARGUMENT` (config).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_transport(
    config: *mut at_config,
    send_fn: at_transport_fn,
    user_data: *mut c_void,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_transport(send_fn.map(|f| crate::ffi::request::host_send(f, user_data)));
        Ok(())
    })
}
