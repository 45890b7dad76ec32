//! Types and constants of the C API. Enumerations are fixed-width `uint32_t`
//! typedefs with named constants, so a value from C that is out of range is a
//! checked error (`AT_ERR_INVALID_ARGUMENT`), never undefined behaviour.

use std::ffi::{c_char, c_void};

use crate::config::{
    AuthScheme, CallbackMode, Consent, DropReason, Durability, LogLevel, OfflineMode, OptOutPolicy,
    Synchronous,
};
use crate::ffi::status::at_status;

// header-section: Enumerations: each typedef with its values

/// When hits are written to disk.
pub type at_offline_mode = u32;
c_enum! {
    OFFLINE_MODES: at_offline_mode <=> OfflineMode {
        /// Never written to disk: sent from memory, dropped (and reported) when unreachable.
        AT_OFFLINE_NEVER = 0 => Never,
        /// The default: committed to disk before any send, deleted once acknowledged.
        AT_OFFLINE_REQUIRED = 1 => Required,
        /// Stored and never sent automatically; only `at_offline_dispatch` sends them.
        AT_OFFLINE_ALWAYS = 2 => Always,
    }
}

/// When a track call returns relative to the commit of its hit.
pub type at_durability = u32;
c_enum! {
    DURABILITIES: at_durability <=> Durability {
        /// The default: on `AT_OK` the hit is committed (it survives `kill -9`).
        /// Concurrent callers share one commit.
        AT_DURABILITY_ON_RETURN = 0 => OnReturn,
        /// Returns after an in-memory enqueue; the commit follows within the commit
        /// window (default 10 ms). `at_tracker_sync` waits for it. The queue is
        /// bounded (about 5,000 hits, ~4 MiB of 300-byte events): once 512 hits
        /// wait, a caller faster than the store is paced, each call waiting its
        /// turn at the store's measured pace (a few microseconds, awake: a
        /// spinning wait on the calling thread, which a sleep would turn into a
        /// scheduler slice), and at the bound it waits for room while the store
        /// keeps taking hits; once the store took
        /// none for a whole commit window (at least 1 ms: a stalled disk, a lock
        /// held elsewhere, a long purge) the call returns `AT_ERR_STORAGE` ("not
        /// accepted": the hit was not taken; retry or drop it) and every hit
        /// accepted before is unaffected. `at_stats.longest_wait_us` reports the
        /// longest wait.
        AT_DURABILITY_BATCHED = 1 => Batched,
    }
}

/// SQLite's `synchronous` setting for the store.
pub type at_synchronous = u32;
c_enum! {
    SYNCHRONOUS_MODES: at_synchronous <=> Synchronous {
        /// The default: commits survive a process kill; the last ones may be lost on power loss.
        AT_SYNCHRONOUS_NORMAL = 0 => Normal,
        /// Every commit is fsynced: it also survives power loss, at a cost per commit.
        AT_SYNCHRONOUS_FULL = 1 => Full,
    }
}

/// Where host callbacks run.
pub type at_callback_mode = u32;
c_enum! {
    CALLBACK_MODES: at_callback_mode <=> CallbackMode {
        /// The default: on the tracker's own callback thread, one at a time.
        AT_CALLBACKS_THREAD = 0 => Thread,
        /// Queued until the host calls `at_tracker_poll` on its own thread (a game loop,
        /// Unity's main thread): completions, dispatch results, log lines, drop notices.
        AT_CALLBACKS_POLLED = 1 => Polled,
    }
}

/// What opting out (`at_set_tracking_enabled(false)`, `at_opt_out`) does with
/// hits already queued.
pub type at_opt_out_policy = u32;
c_enum! {
    OPT_OUT_POLICIES: at_opt_out_policy <=> OptOutPolicy {
        /// The default: queued hits stay and are sent as usual.
        AT_OPT_OUT_KEEP = 0 => Keep,
        /// Every queued hit (stored, being committed, or memory-only) is deleted and
        /// reported as `AT_DROP_DELETED`.
        AT_OPT_OUT_PURGE = 1 => Purge,
    }
}

/// The user's consent to collection (`at_set_consent`).
pub type at_consent = u32;
c_enum! {
    CONSENTS: at_consent <=> Consent {
        /// The default: collected and sent.
        AT_CONSENT_GRANTED = 0 => Granted,
        /// Not answered yet: collected and stored, nothing sent (no network at all).
        AT_CONSENT_PENDING = 1 => Pending,
        /// Refused: everything queued is purged, later calls return `AT_ERR_SUPPRESSED`.
        AT_CONSENT_DENIED = 2 => Denied,
    }
}

/// Flags of `at_reset`, combined with `|`: the user id and traits.
pub const AT_RESET_USER: u32 = 1;
/// `at_reset`: the anonymous id (a new one is made).
pub const AT_RESET_ANONYMOUS_ID: u32 = 2;
/// `at_reset`: the session (a new one starts now).
pub const AT_RESET_SESSION: u32 = 4;
/// `at_reset`: the super properties.
pub const AT_RESET_SUPER_PROPERTIES: u32 = 8;
/// `at_reset`: everything above (a logout).
pub const AT_RESET_ALL: u32 = 15;

/// Severity of a log line, most severe first.
pub type at_log_level = u32;
c_enum! {
    LOG_LEVELS: at_log_level <=> LogLevel {
        AT_LOG_ERROR = 0 => Error,
        AT_LOG_WARN = 1 => Warn,
        AT_LOG_INFO = 2 => Info,
        AT_LOG_DEBUG = 3 => Debug,
    }
}

/// Why hits left the store without being acknowledged by the collector.
pub type at_drop_reason = u32;
c_enum! {
    DROP_REASONS: at_drop_reason <=> DropReason {
        /// The queue reached `max_queue_size` or `max_store_bytes`; the oldest hits went.
        AT_DROP_OVERFLOW = 0 => Overflow,
        /// The stored row could not be decoded (a damaged store).
        AT_DROP_CORRUPT = 1 => Corrupt,
        /// The host deleted them (`at_offline_delete*`).
        AT_DROP_DELETED = 2 => Deleted,
        /// Accepted with batched durability but never committed: the store kept failing
        /// until the tracker closed.
        AT_DROP_STORAGE_FAILED = 3 => StorageFailed,
        /// Memory-only hits (`AT_OFFLINE_NEVER`) still unsent when the tracker closed.
        AT_DROP_UNSENT = 4 => Unsent,
        /// The collector refused them: 400 or 413 for a hit sent alone (a refused batch
        /// is bisected first, so only the offending hit goes), or 401 / 403.
        AT_DROP_REJECTED = 5 => Rejected,
        /// Their send attempts that reached the server ran out (`max_attempts`).
        AT_DROP_ATTEMPTS_EXHAUSTED = 6 => AttemptsExhausted,
        /// Memory-only hits (`AT_OFFLINE_NEVER`) that found the network unreachable.
        AT_DROP_UNREACHABLE = 7 => Unreachable,
        /// An event whose envelope alone exceeds `max_batch_bytes`.
        AT_DROP_TOO_LARGE = 8 => TooLarge,
        /// It failed to send and was older than `max_hit_age_ms` (default 30 days).
        AT_DROP_EXPIRED = 9 => Expired,
        /// Purged when the user denied consent (`at_set_consent(AT_CONSENT_DENIED)`).
        AT_DROP_CONSENT_DENIED = 10 => ConsentDenied,
    }
}

/// How the api key is presented to the collector.
pub type at_auth_scheme = u32;
c_enum! {
    AUTH_SCHEMES: at_auth_scheme <=> AuthScheme {
        /// The default: `Authorization: Bearer <key>`.
        AT_AUTH_BEARER = 0 => Bearer,
        /// HTTP Basic with the key as user name and an empty password (Segment-style).
        AT_AUTH_BASIC = 1 => Basic,
    }
}

// header-section: Limits

/// Deepest nesting of objects and arrays accepted in event properties.
pub const AT_MAX_JSON_DEPTH: u32 = 128;
/// Longest accepted event or hit type, in bytes.
pub const AT_MAX_TYPE_BYTES: u32 = 256;

// header-section: Callbacks and the results they receive

/// Outcome of `at_flush` / `at_offline_dispatch`. Counts are hits, not requests.
/// More fields may be added, only at the end.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct at_dispatch_result {
    /// `AT_OK` when nothing failed; `AT_ERR_NETWORK` when a failure stopped the
    /// run (the server failed, or the collector was not reached: no network,
    /// TLS, pinning, proxy, captive portal) or backoff / reachability kept it
    /// from starting; `AT_ERR_KEY_REJECTED` when the collector refused the api
    /// key (401/403: the hits are kept, sending is paused until
    /// `at_set_api_key`); `AT_ERR_CANCELLED` when the tracker closed first;
    /// `AT_ERR_STORAGE` when the store failed. `at_last_send_error` says why.
    pub status: at_status,
    /// Hits acknowledged by the collector (and deleted).
    pub sent: u64,
    /// Hits whose attempt reached the server and failed; they stay queued.
    pub failed: u64,
    /// Hits dropped by policy during the run (refused, out of attempts, expired,
    /// too large).
    pub dropped: u64,
}

/// Completion of one operation: `status` is `AT_OK`, an error, or
/// `AT_ERR_CANCELLED` when the tracker closed first. Called exactly once, on the
/// tracker's callback thread (with `AT_CALLBACKS_POLLED`: inside `at_tracker_poll`,
/// on the polling thread), never from inside the call that registered it; it is
/// called only when that call returned `AT_OK`. It may call any attracker
/// function, including `at_tracker_free` on its own tracker. When `status` is
/// not `AT_OK`, `at_last_error()` on the callback's thread says why, from the
/// moment the callback starts (e.g. "cancelled: the tracker closed before the
/// work was done"); it stays so until the next failing call on that thread.
pub type at_completion_fn = Option<unsafe extern "C" fn(status: at_status, user_data: *mut c_void)>;

/// Completion of a flush or dispatch, on the callback thread (or inside
/// `at_tracker_poll`), exactly once.
/// `result` is valid only during the call. When `result->status` is not
/// `AT_OK`, `at_last_error()` on the callback's thread says why, from the
/// moment the callback starts (e.g. the collector's HTTP status); it stays so
/// until the next failing call on that thread.
pub type at_dispatch_fn =
    Option<unsafe extern "C" fn(result: *const at_dispatch_result, user_data: *mut c_void)>;

/// The host's HTTP send function (see `at_config_set_transport`): called on the
/// callback thread (or from `at_tracker_poll`), it starts `request` and returns;
/// the host later ends it with `at_transport_complete`.
pub type at_transport_fn =
    Option<unsafe extern "C" fn(request: *mut crate::ffi::request::at_request, user_data: *mut c_void)>;

/// A newly applied remote configuration: the document as fetched (JSON, valid
/// only during the call), on the callback thread (or inside `at_tracker_poll`).
pub type at_remote_config_fn = Option<unsafe extern "C" fn(json: *const c_char, user_data: *mut c_void)>;

/// A log line, on the tracker's callback thread (or inside `at_tracker_poll`).
/// `message` is valid only during the call. API keys are never logged.
pub type at_log_fn =
    Option<unsafe extern "C" fn(level: at_log_level, message: *const c_char, user_data: *mut c_void)>;

/// Hits dropped without an acknowledgement, on the callback thread (or inside
/// `at_tracker_poll`): `count`
/// message ids (UUID strings), valid only during the call.
pub type at_drop_fn = Option<
    unsafe extern "C" fn(
        reason: at_drop_reason,
        message_ids: *const *const c_char,
        count: usize,
        user_data: *mut c_void,
    ),
>;

// header-section: Statistics (`at_tracker_stats`)

/// Counters since the tracker started, plus the live queue. Filled by
/// `at_tracker_stats`. More fields may be added, only at the end.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct at_stats {
    /// Hits waiting: stored, accepted but not yet committed, and memory-only.
    pub queued: u64,
    /// Hits acknowledged by the collector.
    pub sent: u64,
    /// Send attempts that reached the server and failed (counted per hit).
    pub failed: u64,
    /// Dropped because the queue was full (`AT_DROP_OVERFLOW`).
    pub dropped_overflow: u64,
    /// Dropped because their stored row was damaged (`AT_DROP_CORRUPT`).
    pub dropped_corrupt: u64,
    /// Deleted by the host (`AT_DROP_DELETED`).
    pub deleted: u64,
    /// Lost because the store failed until close (`AT_DROP_STORAGE_FAILED`).
    pub dropped_storage: u64,
    /// Memory-only hits unsent at close (`AT_DROP_UNSENT`).
    pub dropped_unsent: u64,
    /// Hits committed to the store since start.
    pub committed: u64,
    /// Size of the database and its write-ahead log on disk, in bytes.
    pub bytes_on_disk: u64,
    /// Refused by the collector (`AT_DROP_REJECTED`).
    pub dropped_rejected: u64,
    /// Out of attempts (`AT_DROP_ATTEMPTS_EXHAUSTED`).
    pub dropped_attempts: u64,
    /// Memory-only hits that found the network unreachable (`AT_DROP_UNREACHABLE`).
    pub dropped_unreachable: u64,
    /// Larger than a batch may be (`AT_DROP_TOO_LARGE`).
    pub dropped_too_large: u64,
    /// HTTP requests made, including failed ones.
    pub requests: u64,
    /// Failed to send when older than `max_hit_age_ms` (`AT_DROP_EXPIRED`).
    pub dropped_expired: u64,
    /// 401 or 403 while automatic sending is paused because the collector
    /// refused the api key (resumes after `at_set_api_key`); 0 otherwise.
    pub key_rejected: u64,
    /// Requests that did not reach the collector: no network, a TLS or
    /// pinning failure, a proxy failure, a captive portal. None counts as an
    /// attempt.
    pub not_reached: u64,
    /// Purged because the user denied consent (`AT_DROP_CONSENT_DENIED`).
    pub dropped_consent: u64,
    /// The longest any tracking call was held back by the in-memory queue, in
    /// microseconds: paced while many hits wait (a caller faster than the
    /// store takes turns at its pace), or waiting for room at the queue's
    /// bound (batched durability; see `AT_DURABILITY_BATCHED`). 0 when no
    /// call ever waited.
    pub longest_wait_us: u64,
    /// The largest the store's write-ahead log (`<path>-wal`) grew since the
    /// tracker started, in bytes.
    pub wal_peak_bytes: u64,
}

/// Every counter of the snapshot, by name. The snapshot is destructured without
/// `..`, so a field added to `StatsSnapshot` does not compile until it is given
/// a place in `at_stats` (at the end, see above), and the reverse.
impl From<crate::runtime::StatsSnapshot> for at_stats {
    fn from(snapshot: crate::runtime::StatsSnapshot) -> Self {
        let crate::runtime::StatsSnapshot {
            queued,
            sent,
            failed,
            dropped_overflow,
            dropped_corrupt,
            deleted,
            dropped_storage,
            dropped_unsent,
            committed,
            bytes_on_disk,
            dropped_rejected,
            dropped_attempts,
            dropped_unreachable,
            dropped_too_large,
            requests,
            dropped_expired,
            key_rejected,
            not_reached,
            dropped_consent,
            longest_wait_us,
            wal_peak_bytes,
        } = snapshot;
        at_stats {
            queued,
            sent,
            failed,
            dropped_overflow,
            dropped_corrupt,
            deleted,
            dropped_storage,
            dropped_unsent,
            committed,
            bytes_on_disk,
            dropped_rejected,
            dropped_attempts,
            dropped_unreachable,
            dropped_too_large,
            requests,
            dropped_expired,
            key_rejected,
            not_reached,
            dropped_consent,
            longest_wait_us,
            wal_peak_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_published_limits_are_the_ones_enforced() {
        assert_eq!(super::AT_MAX_JSON_DEPTH as usize, crate::hit::MAX_JSON_DEPTH);
        assert_eq!(super::AT_MAX_TYPE_BYTES as usize, crate::hit::MAX_TYPE_BYTES);
    }
}
