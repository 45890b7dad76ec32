//! `at_tracker`: lifecycle, tracking and run-time settings.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use crate::config::OfflineMode;
use crate::config::DEFAULT_CLOSE_TIMEOUT_MS;
use crate::error::Result;
use crate::ffi::args::*;
use crate::ffi::c_enum::CEnumType;
use crate::ffi::config::at_config;
use crate::ffi::status::*;
use crate::ffi::types::*;
use crate::tracker::Tracker;

// header-section: at_tracker: lifecycle, tracking, sending and run-time settings

/// A tracker: one store, its threads and callbacks. Thread-safe: any function may
/// be called from any thread at the same time, except `at_tracker_free`, which
/// must be the last call on the handle.
pub struct at_tracker {
    pub(crate) inner: Tracker,
}

/// The tracker behind a required `at_tracker *` argument.
pub(crate) unsafe fn tracker_ref<'a>(tracker: *const at_tracker) -> Result<&'a Tracker> {
    Ok(&handle(tracker, "tracker")?.inner)
}

/// Opens (or creates) the store named by `config` and starts the tracker's
/// writer and callback threads. Hits left in flight by a crashed process become
/// pending again. A damaged store is moved aside as "<name>.corrupt-<unix_ms>"
/// (with its -wal/-shm) once a fresh store has taken its place, readable hits
/// are salvaged with every column, and a WARN with the counts goes to the log
/// callback; if the moved file cannot be read now, the WARN says so and the next
/// open salvages it. Damaged values (a visitor id, cached remote config or
/// queue total of the wrong type) are repaired with a WARN, never an error.
/// Several processes may create one store at the same moment. On success
/// `*out` owns the tracker: free it with `at_tracker_free`. `config` is copied
/// and may be freed afterwards.
/// Errors: `AT_ERR_NULL_ARGUMENT`; `AT_ERR_INVALID_ARGUMENT` naming a missing
/// storage path or endpoint; `AT_ERR_STORAGE` when the store cannot be created
/// or opened, or a damaged store cannot be replaced now (it is then left as it
/// is; never deleted or moved aside for a storage error).
#[no_mangle]
pub unsafe extern "C" fn at_tracker_new(config: *const at_config, out: *mut *mut at_tracker) -> at_status {
    export!({
        let config = handle(config, "config")?;
        let out = out_arg(out, "out")?;
        let tracker = Tracker::new(config.inner.clone())?;
        *out = Box::into_raw(Box::new(at_tracker { inner: tracker }));
        Ok(())
    })
}

/// Stops accepting work (later calls return `AT_ERR_CLOSED`), commits every hit
/// accepted before it (with a failing store it retries until `timeout_ms`, then
/// reports the rest as `AT_DROP_STORAGE_FAILED`), runs every pending callback
/// (work not done gets `AT_ERR_CANCELLED`) and joins the tracker's threads. The
/// handle stays valid until `at_tracker_free`. Called from a callback, it does not
/// wait for the callback thread (which finishes after the callback returns).
/// Errors: `AT_ERR_CLOSED` when already closed.
#[no_mangle]
pub unsafe extern "C" fn at_tracker_close(tracker: *mut at_tracker, timeout_ms: u32) -> at_status {
    export!(tracker_ref(tracker)?.close(Duration::from_millis(timeout_ms.into())))
}

/// Closes the tracker if needed (as `at_tracker_close` with a 2000 ms timeout),
/// then frees it. Every hit accepted before the call is committed when it
/// returns. NULL is a no-op. No other call on this handle may be in progress or
/// start afterwards; a callback of this tracker may call it.
///
/// fork(): in a child process forked from the process that created the
/// tracker, `at_tracker_free` is the only call allowed on it. There it returns
/// at once and releases nothing: the tracker's threads do not exist in the
/// child, and its SQLite connections, file locks and sockets belong to the
/// parent, which keeps using them; the handle's memory is leaked deliberately
/// (a one-time cost per tracker in that child). Any other call in the child is
/// undefined. A child that wants to track creates its own tracker (on the same
/// store if it likes: processes share a store, one of them sending).
#[no_mangle]
pub unsafe extern "C" fn at_tracker_free(tracker: *mut at_tracker) {
    export_value!((), {
        if tracker.is_null() {
            return;
        }
        let boxed = Box::from_raw(tracker);
        if boxed.inner.created_in_another_process() {
            std::mem::forget(boxed);
            return;
        }
        if !boxed.inner.is_closed() {
            let _ = boxed.inner.close(Duration::from_millis(DEFAULT_CLOSE_TIMEOUT_MS.into()));
        }
        drop(boxed);
    })
}

/// With `AT_CALLBACKS_POLLED`: runs up to `max` pending callbacks (0 = all of
/// them) on the calling thread, in order, and returns how many ran. Call it
/// regularly (every frame, or on a timer) from the thread that should receive
/// callbacks. A callback run here may call any function, including
/// `at_tracker_free` on this tracker (polling then stops; the callbacks still
/// pending run inside that free). Returns 0 for NULL, in thread mode, and after
/// close (close runs what was pending).
#[no_mangle]
pub unsafe extern "C" fn at_tracker_poll(tracker: *mut at_tracker, max: u32) -> u32 {
    export_value!(
        0,
        match tracker.as_ref() {
            // The queue is cloned first: a callback may free the tracker under us.
            Some(t) => t.inner.callback_queue().poll(max as usize) as u32,
            None => 0,
        }
    )
}

/// Blocks until every hit accepted before the call is committed. With
/// `AT_DURABILITY_ON_RETURN` it returns at once. Errors: `AT_ERR_STORAGE` when
/// the store is failing (the hits stay in memory and are retried),
/// `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_tracker_sync(tracker: *mut at_tracker) -> at_status {
    export!(tracker_ref(tracker)?.sync())
}

/// Tracks an event: `type` (non-empty UTF-8, at most 256 bytes, no control
/// characters) and `properties_json`, a JSON object kept verbatim (NULL means
/// `{}`). Validated on the calling thread. In the storing modes, `AT_OK` with
/// `AT_DURABILITY_ON_RETURN` means committed to disk; with
/// `AT_DURABILITY_BATCHED`, accepted in memory and committed within the commit
/// window. In `AT_OFFLINE_NEVER` the hit is kept in memory only.
/// `done` (may be NULL) runs once the hit is committed, on the callback thread,
/// and only if this returns `AT_OK`. Strings are borrowed for the call only.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (bad UTF-8, bad
/// JSON, not an object, nesting deeper than 128), `AT_ERR_TOO_LARGE`,
/// `AT_ERR_SUPPRESSED`, `AT_ERR_STORAGE` (nothing stored; with
/// `AT_DURABILITY_BATCHED`: the in-memory queue stayed full for a whole commit
/// window, see `AT_DURABILITY_BATCHED`), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_track_event(
    tracker: *mut at_tracker,
    r#type: *const c_char,
    properties_json: *const c_char,
    done: at_completion_fn,
    user_data: *mut c_void,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let hit_type = str_arg(r#type, "type")?;
        let properties = opt_str_arg(properties_json, "properties_json")?;
        t.track_event(hit_type, properties, completion(done, user_data))
    })
}

/// Tracks a URL hit: `url` is an absolute http(s) URL built by the host, sent
/// as-is with one GET. `type` (may be NULL) labels it ("screen", "touch").
/// Durability, `done` and errors as `at_track_event`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (not an absolute http(s)
/// URL, http while https is required, bad UTF-8, a bad `type`), `AT_ERR_TOO_LARGE`,
/// `AT_ERR_SUPPRESSED`, `AT_ERR_STORAGE` (nothing stored), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_send_hit(
    tracker: *mut at_tracker,
    url: *const c_char,
    r#type: *const c_char,
    done: at_completion_fn,
    user_data: *mut c_void,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let url = str_arg(url, "url")?;
        let hit_type = opt_str_arg(r#type, "type")?.unwrap_or("");
        t.send_hit(url, hit_type, completion(done, user_data))
    })
}

/// Sends what is due now, on the delivery thread: in `AT_OFFLINE_REQUIRED` the
/// stored hits whose backoff has passed, in `AT_OFFLINE_NEVER` the memory-only
/// hits (and stored ones left from another mode). Honours backoff and the
/// reachability report: while paused, `done` gets `AT_ERR_NETWORK` and nothing
/// is sent. In `AT_OFFLINE_ALWAYS` it sends nothing (`AT_OK`, zero counts).
/// `done` (may be NULL) runs once on the callback thread with the tally.
/// Returns at once. Errors: `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_flush(
    tracker: *mut at_tracker,
    done: at_dispatch_fn,
    user_data: *mut c_void,
) -> at_status {
    export!(tracker_ref(tracker)?.flush(dispatch_completion(done, user_data)))
}

/// Sends every hit stored before the call, now, in any offline mode, ignoring
/// backoff timers and a pause for a rejected key (it tries the current key
/// again); each batch is deleted once acknowledged. A failure that is not
/// about the payload (server error, unreachable, a rejected key) stops the
/// run; the rest stays stored. `done` (may be NULL) runs once on the callback thread with
/// `{status, sent, failed, dropped}`. Returns at once. Errors: `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_offline_dispatch(
    tracker: *mut at_tracker,
    done: at_dispatch_fn,
    user_data: *mut c_void,
) -> at_status {
    export!(tracker_ref(tracker)?.offline_dispatch(dispatch_completion(done, user_data)))
}

/// The app went to the background: call it from `applicationDidEnterBackground`
/// (inside `beginBackgroundTask`) or `OnApplicationPause(true)`, with the time
/// the platform grants, in ms. Records "Application Backgrounded" (see
/// `at_config_set_track_lifecycle_events`); with `flush_on_background` (default)
/// sends what it can and calls `done` (may be NULL) once, before the deadline,
/// with the tally: hits not sent by then stay stored (`AT_ERR_CANCELLED` when the
/// deadline cut the flush short). Without it, `done` gets `AT_OK` with zero
/// counts and hits wait for the foreground. Automatic sends pause until
/// `at_app_will_enter_foreground`. Repeated notifications record one event and
/// join the flush in progress: a batch is never uploaded twice.
///
/// File locks (iOS App Group containers, 0xdead10cc): from the moment `done`
/// is called until `at_app_will_enter_foreground`, the process holds no lock
/// on the store's files: the store's connections are closed before this call
/// returns (it waits for a commit in progress), the store's sender lock is
/// released after the flush (another process sharing the store may send
/// meanwhile). Tracking and reading in the background still work: each call
/// opens the store and closes it again. In polled callback mode the locks are
/// released whether or not the host polls; `done` runs at the next poll.
/// Returns without waiting for the flush.
/// Errors: `AT_ERR_CLOSED`, `AT_ERR_STORAGE` (the event could not be stored).
#[no_mangle]
pub unsafe extern "C" fn at_app_did_enter_background(
    tracker: *mut at_tracker,
    deadline_ms: u32,
    done: at_dispatch_fn,
    user_data: *mut c_void,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        t.app_did_enter_background(
            Duration::from_millis(deadline_ms.into()),
            dispatch_completion(done, user_data),
        )
    })
}

/// The app is in the foreground again (`applicationWillEnterForeground`,
/// `OnApplicationPause(false)`): opens the store again, takes the store's sender
/// lock when it is free (rows another sender left leased are sent again; the
/// collector deduplicates), records "Application Opened", resumes the flush
/// timers and sends what is due. Errors: `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_app_will_enter_foreground(tracker: *mut at_tracker) -> at_status {
    export!(tracker_ref(tracker)?.app_will_enter_foreground())
}

/// Changes the offline mode for hits tracked after this call returns. `done`
/// (may be NULL) runs on the callback thread once every hit accepted before the
/// change is committed. The mode is not persisted: the next tracker starts with
/// its config's mode. Errors: `AT_ERR_INVALID_ARGUMENT`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_set_offline_mode(
    tracker: *mut at_tracker,
    mode: at_offline_mode,
    done: at_completion_fn,
    user_data: *mut c_void,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        t.set_offline_mode(OfflineMode::from_c(mode)?, completion(done, user_data))
    })
}

/// Writes the current offline mode to `*out`. Errors: `AT_ERR_NULL_ARGUMENT`,
/// `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_get_offline_mode(
    tracker: *mut at_tracker,
    out: *mut at_offline_mode,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        *out_arg(out, "out")? = t.offline_mode()?.to_c();
        Ok(())
    })
}

/// The tracking gate (default enabled). While disabled, track calls return
/// `AT_ERR_SUPPRESSED` and nothing is buffered; stored hits stay.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_STORAGE` (disabling with `AT_OPT_OUT_PURGE`:
/// collection is off, the purge failed), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_set_tracking_enabled(tracker: *mut at_tracker, enabled: bool) -> at_status {
    export!(tracker_ref(tracker)?.set_tracking_enabled(enabled))
}

/// The host's reachability report (NWPathMonitor, ConnectivityManager). Default
/// reachable. Hits tracked while unreachable are stored with `is_offline` set.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_set_network_reachable(tracker: *mut at_tracker, reachable: bool) -> at_status {
    export!(tracker_ref(tracker)?.set_network_reachable(reachable))
}

/// Replaces the api key for every request from now on (an empty string removes
/// it); the configuration's key is used again at the next start. After the
/// collector refused the key (HTTP 401/403, `at_tracker_stats` `key_rejected`
/// set), automatic sending resumes with the new key at once; the hits kept
/// meanwhile are sent. Threading: any thread. Errors: `AT_ERR_NULL_ARGUMENT`,
/// `AT_ERR_INVALID_ARGUMENT` (spaces, control characters or bad UTF-8; the
/// key is unchanged), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_set_api_key(tracker: *mut at_tracker, key: *const c_char) -> at_status {
    export!(tracker_ref(tracker)?.set_api_key(str_arg(key, "key")?))
}

/// Why the last send failed, e.g. "the collector rejected the api key (HTTP
/// 401); sending is paused" or "the TLS handshake failed: ...". `*out` is NULL
/// when the last send succeeded or none has failed; otherwise owned by the
/// caller (free with `at_string_free`). Threading: any thread. Errors:
/// `AT_ERR_NULL_ARGUMENT`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_last_send_error(tracker: *mut at_tracker, out: *mut *mut c_char) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let out = out_arg(out, "out")?;
        *out = match t.last_send_error()? {
            Some(message) => crate::ffi::identity::owned(&message),
            None => std::ptr::null_mut(),
        };
        Ok(())
    })
}

/// Copies the tracker's counters into `*out`. Pass `sizeof(at_stats)` as
/// `out_size`: the library writes at most that many bytes, so a program built
/// against an older header stays safe.
/// Errors: `AT_ERR_NULL_ARGUMENT` (tracker or out), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_tracker_stats(
    tracker: *mut at_tracker,
    out: *mut at_stats,
    out_size: usize,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let out = out_arg(out, "out")?;
        let full = at_stats::from(t.stats()?);
        let n = out_size.min(std::mem::size_of::<at_stats>());
        std::ptr::copy_nonoverlapping(
            (&full as *const at_stats).cast::<u8>(),
            (out as *mut at_stats).cast::<u8>(),
            n,
        );
        Ok(())
    })
}
