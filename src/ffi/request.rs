//! `at_request`: an HTTP request handed to the host, either by its own transport
//! (`at_config_set_transport`, answered with `at_transport_complete`) or as an
//! exported batch (`at_offline_export_batch`, ended with `at_offline_ack_batch`).

use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::Arc;
use std::time::Duration;

use crate::delivery::host::{HostAnswer, HostRequest, HostSend};
use crate::delivery::transport::Method;
use crate::error::{Error, Result, Status};
use crate::ffi::args::*;
use crate::ffi::status::*;
use crate::ffi::tracker::{at_tracker, tracker_ref};
use crate::tracker::ExportedBatch;

// header-section: at_request: HTTP requests the host performs (its own transport, exported batches)

/// `at_transport_complete`'s `http_status` with an error: the server was not
/// reached (DNS, no connection, offline). No attempt is counted.
pub const AT_TRANSPORT_UNREACHABLE: i32 = 0;
/// `at_transport_complete`'s `http_status` with an error: the server was reached
/// and the exchange failed (timeout, reset). Counts as an attempt.
pub const AT_TRANSPORT_FAILED: i32 = -1;

enum Kind {
    Transport(HostRequest),
    Batch(ExportedBatch),
}

/// An HTTP request for the host to perform. Read it with the `at_request_*`
/// accessors (from any thread). The host owns it until it ends it exactly once:
/// `at_transport_complete` for a transport request, `at_offline_ack_batch` for an
/// exported batch; both free it. Its strings and body stay valid until then.
pub struct at_request {
    kind: Kind,
    method: &'static CStr,
    url: CString,
    headers: Vec<(CString, CString)>,
}

impl at_request {
    fn new(kind: Kind) -> Box<Self> {
        let (method, url, headers) = match &kind {
            Kind::Transport(r) => (r.method, r.url.as_str(), r.headers.as_slice()),
            Kind::Batch(b) => (Method::Post, b.url.as_str(), b.headers.as_slice()),
        };
        let method = match method {
            Method::Get => c"GET",
            Method::Post => c"POST",
        };
        let headers = headers.iter().map(|(n, v)| (to_cstring(n), to_cstring(v))).collect();
        Box::new(at_request { method, url: to_cstring(url), headers, kind })
    }

    fn body(&self) -> &[u8] {
        match &self.kind {
            Kind::Transport(r) => &r.body,
            Kind::Batch(b) => &b.body,
        }
    }
}

/// Wraps the host's C send function as the core's `HostSend`.
pub(crate) fn host_send(
    send: unsafe extern "C" fn(*mut at_request, *mut c_void),
    user_data: *mut c_void,
) -> HostSend {
    let ud = UserData::new(user_data);
    Arc::new(move |request: HostRequest| {
        let raw = Box::into_raw(at_request::new(Kind::Transport(request)));
        unsafe { send(raw, ud.get()) }
    })
}

/// "GET" or "POST". Owned by the request; NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn at_request_method(request: *const at_request) -> *const c_char {
    export_value!(std::ptr::null(), request.as_ref().map_or(std::ptr::null(), |r| r.method.as_ptr()))
}

/// The URL to send to. Owned by the request; NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn at_request_url(request: *const at_request) -> *const c_char {
    export_value!(std::ptr::null(), request.as_ref().map_or(std::ptr::null(), |r| r.url.as_ptr()))
}

/// Number of headers to send (0 for NULL): Content-Type, Content-Encoding and
/// Authorization for a batch; none for a URL hit.
#[no_mangle]
pub unsafe extern "C" fn at_request_header_count(request: *const at_request) -> usize {
    export_value!(0, request.as_ref().map_or(0, |r| r.headers.len()))
}

/// Name of header `index`; NULL when out of range. Owned by the request.
#[no_mangle]
pub unsafe extern "C" fn at_request_header_name(request: *const at_request, index: usize) -> *const c_char {
    export_value!(
        std::ptr::null(),
        request.as_ref().and_then(|r| r.headers.get(index)).map_or(std::ptr::null(), |h| h.0.as_ptr())
    )
}

/// Value of header `index`; NULL when out of range. Owned by the request.
#[no_mangle]
pub unsafe extern "C" fn at_request_header_value(request: *const at_request, index: usize) -> *const c_char {
    export_value!(
        std::ptr::null(),
        request.as_ref().and_then(|r| r.headers.get(index)).map_or(std::ptr::null(), |h| h.1.as_ptr())
    )
}

/// The body (empty for GET), its length in `*len` (may be NULL). Owned by the
/// request; NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn at_request_body(request: *const at_request, len: *mut usize) -> *const u8 {
    export_value!(std::ptr::null(), {
        let Some(r) = request.as_ref() else { return std::ptr::null() };
        if let Some(len) = len.as_mut() {
            *len = r.body().len();
        }
        r.body().as_ptr()
    })
}

/// Reports the answer's `Content-Type` header, before `at_transport_complete`
/// (optional, recommended): a 2xx answer to a batch POST that is an HTML page
/// is a captive portal's login page, not the collector's acknowledgement, and
/// the hits are kept. The string is copied. Threading: the thread that will
/// complete the request. Errors: `AT_ERR_NULL_ARGUMENT`,
/// `AT_ERR_INVALID_ARGUMENT` (bad UTF-8, or an exported batch).
#[no_mangle]
pub unsafe extern "C" fn at_request_set_response_content_type(
    request: *mut at_request,
    content_type: *const c_char,
) -> at_status {
    export!({
        let r = handle_mut(request, "request")?;
        let value = str_arg(content_type, "content_type")?;
        match &mut r.kind {
            Kind::Transport(req) => {
                req.set_response_content_type(value);
                Ok(())
            }
            Kind::Batch(_) => Err(Error::invalid("this is an exported batch, not a transport request")),
        }
    })
}

/// Ends a transport request and frees it. `error` NULL: the server answered
/// `http_status` (`retry_after_ms` > 0 when it sent Retry-After, else 0).
/// `error` set (a message): the exchange failed — `http_status`
/// `AT_TRANSPORT_UNREACHABLE` (0) when the server was not reached (no attempt is
/// counted), `AT_TRANSPORT_FAILED` (-1) when it was reached (timeout, reset).
/// Callable from any thread, once. Errors: `AT_ERR_NULL_ARGUMENT`;
/// `AT_ERR_INVALID_ARGUMENT` for an exported batch, an invalid status (error
/// NULL and `http_status` not 100..599) or bad UTF-8. On error the request is
/// not freed.
#[no_mangle]
pub unsafe extern "C" fn at_transport_complete(
    request: *mut at_request,
    http_status: i32,
    retry_after_ms: i64,
    error: *const c_char,
) -> at_status {
    export!({
        let r = handle_mut(request, "request")?;
        if !matches!(r.kind, Kind::Transport(_)) {
            return Err(Error::invalid("this is an exported batch: end it with at_offline_ack_batch"));
        }
        let answer = answer(http_status, retry_after_ms, opt_str_arg(error, "error")?)?;
        let boxed = Box::from_raw(request);
        if let Kind::Transport(req) = boxed.kind {
            req.complete(answer);
        }
        Ok(())
    })
}

fn answer(status: i32, retry_after_ms: i64, error: Option<&str>) -> Result<HostAnswer> {
    match (error, status) {
        (None, 100..=599) => Ok(HostAnswer::Status {
            status: status as u16,
            retry_after: (retry_after_ms > 0).then(|| Duration::from_millis(retry_after_ms as u64)),
        }),
        (None, other) => {
            Err(Error::invalid(format!("{other} is not an HTTP status (pass an error message)")))
        }
        (Some(e), AT_TRANSPORT_UNREACHABLE) => Ok(HostAnswer::Unreachable(e.to_owned())),
        (Some(e), _) => Ok(HostAnswer::Failed(e.to_owned())),
    }
}

/// For hosts that upload batches themselves (an iOS background `URLSession`
/// that finishes after the app is suspended): leases the next batch of stored
/// events and returns it as a POST to perform (`*out` = NULL when none waits).
/// Its events are sent by nobody else meanwhile; after a crash they return to
/// the queue and are sent again (the collector deduplicates by messageId). End
/// it with `at_offline_ack_batch`. URL hits are never exported. Errors:
/// `AT_ERR_STORAGE` (also when another process is the store's sender),
/// `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_offline_export_batch(
    tracker: *mut at_tracker,
    out: *mut *mut at_request,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let out = out_arg(out, "out")?;
        *out = match t.offline_export_batch()? {
            Some(b) => Box::into_raw(at_request::new(Kind::Batch(b))),
            None => std::ptr::null_mut(),
        };
        Ok(())
    })
}

/// Ends an exported batch and frees it: `delivered` true deletes its events
/// (the upload succeeded); false returns them to the queue unchanged.
/// Errors: `AT_ERR_CLOSED` after close (the batch is freed; its events return to
/// the queue at the next open); `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT`
/// (a transport request), `AT_ERR_STORAGE`, which leave the batch to be acked
/// again.
#[no_mangle]
pub unsafe extern "C" fn at_offline_ack_batch(
    tracker: *mut at_tracker,
    batch: *mut at_request,
    delivered: bool,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let Kind::Batch(exported) = &handle(batch, "batch")?.kind else {
            return Err(Error::invalid("this is a transport request: end it with at_transport_complete"));
        };
        match t.offline_ack_batch(exported, delivered) {
            Err(e) if e.status != Status::Closed => Err(e),
            // Closed: the batch can no longer be ended; it is freed and its
            // events return to the queue at the next open.
            result => {
                drop(Box::from_raw(batch));
                result
            }
        }
    })
}
