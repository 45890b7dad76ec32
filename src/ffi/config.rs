//! `at_config`: building a tracker configuration.

use std::ffi::c_char;

use crate::config::{AuthScheme, CallbackMode, Config, Durability, OfflineMode, OptOutPolicy, Synchronous};
use crate::error::Result;
use crate::ffi::args::*;
use crate::ffi::c_enum::CEnumType;
use crate::ffi::status::*;
use crate::ffi::types::*;

// header-section: at_config: building a tracker configuration

/// A tracker configuration. Create with `at_config_new`, free with
/// `at_config_free`. Not thread-safe: configure it from one thread, then pass it
/// to `at_tracker_new`, which copies what it needs.
pub struct at_config {
    pub(crate) inner: Config,
}

/// The configuration behind a required `at_config *` argument.
pub(crate) unsafe fn config_mut<'a>(config: *mut at_config) -> Result<&'a mut Config> {
    Ok(&mut handle_mut(config, "config")?.inner)
}

/// Creates a configuration with every default (see the README). Caller owns it;
/// free with `at_config_free`. Returns NULL only if memory is exhausted.
#[no_mangle]
pub extern "C" fn at_config_new() -> *mut at_config {
    export_value!(std::ptr::null_mut(), Box::into_raw(Box::new(at_config { inner: Config::new() })))
}

/// Frees a configuration. NULL is a no-op. Trackers made from it are unaffected.
#[no_mangle]
pub unsafe extern "C" fn at_config_free(config: *mut at_config) {
    export_value!(
        (),
        if !config.is_null() {
            drop(Box::from_raw(config))
        }
    )
}

/// Required. Path of the tracker's SQLite database file, e.g.
/// "<app-private dir>/attracker.db". Missing parent directories are created
/// (mode 0700); the file is created with mode 0600. One file per tracker.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (empty, not UTF-8,
/// or ending in '/'). On error the configuration is unchanged.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_storage_path(
    config: *mut at_config,
    path: *const c_char,
) -> at_status {
    export!(config_mut(config)?.set_storage_path(str_arg(path, "path")?))
}

/// Required. Base URL of the collector ("https://collect.example.com"); events
/// are posted to "{base_url}/v1/batch". http or https only, with a host, no
/// query or fragment. Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_endpoint(
    config: *mut at_config,
    base_url: *const c_char,
) -> at_status {
    export!(config_mut(config)?.set_endpoint(str_arg(base_url, "base_url")?))
}

/// Optional. Key sent as `Authorization: Bearer <key>`; never logged. An empty
/// string removes it. Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT`
/// for spaces or control characters.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_api_key(config: *mut at_config, key: *const c_char) -> at_status {
    export!(config_mut(config)?.set_api_key(str_arg(key, "key")?))
}

/// Initial offline mode. Default `AT_OFFLINE_REQUIRED`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (not an `at_offline_mode`).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_offline_mode(
    config: *mut at_config,
    mode: at_offline_mode,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_offline_mode(OfflineMode::from_c(mode)?);
        Ok(())
    })
}

/// Default `AT_DURABILITY_ON_RETURN`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (not an `at_durability`).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_durability(
    config: *mut at_config,
    durability: at_durability,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_durability(Durability::from_c(durability)?);
        Ok(())
    })
}

/// Default `AT_SYNCHRONOUS_NORMAL`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (not an `at_synchronous`).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_synchronous(
    config: *mut at_config,
    mode: at_synchronous,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_synchronous(Synchronous::from_c(mode)?);
        Ok(())
    })
}

/// Timer trigger (`AT_OFFLINE_REQUIRED`): stored hits wait at most this long, in
/// ms, from the first one waiting (default 30000; 0 disables the timer).
/// Errors: `AT_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_flush_interval_ms(config: *mut at_config, ms: u32) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_flush_interval_ms(ms);
        Ok(())
    })
}

/// Threshold trigger (`AT_OFFLINE_REQUIRED`): this many stored hits start a send
/// (default 20; 0 disables it).
/// Errors: `AT_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_flush_threshold(config: *mut at_config, hits: u32) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_flush_threshold(hits);
        Ok(())
    })
}

/// Most hits kept (default 1000, at least 1). Beyond it the oldest stored hits
/// are dropped and reported (`AT_DROP_OVERFLOW`, counter, log, drop callback).
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (0).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_max_queue_size(config: *mut at_config, hits: u32) -> at_status {
    export!(config_mut(config)?.set_max_queue_size(hits))
}

/// Most bytes of hits kept (default 16 MiB, at least 65536); each hit counts its
/// type, URL and properties plus 64 bytes. Overflow drops the oldest, reported.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (below 65536).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_max_store_bytes(config: *mut at_config, bytes: u64) -> at_status {
    export!(config_mut(config)?.set_max_store_bytes(bytes))
}

/// Largest accepted event (type + properties) or URL hit, in bytes (default
/// 32768, the per-event limit of Segment-style collectors; 256..524288).
/// Larger ones get `AT_ERR_TOO_LARGE`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (outside 256..524288).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_max_event_bytes(config: *mut at_config, bytes: u32) -> at_status {
    export!(config_mut(config)?.set_max_event_bytes(bytes))
}

/// Send attempts that reached the collector and failed before a hit is dropped
/// and reported (`AT_DROP_ATTEMPTS_EXHAUSTED`). Default 0: unlimited, a hit is
/// retried on the backoff schedule until delivered or older than
/// `max_hit_age_ms`. 3 gives the "first try and two more, then delete" rule of
/// older SDKs. Not counted: a collector that was not reached (no network, TLS,
/// pinning, proxy, captive portal) and a wait the collector asked for
/// (Retry-After). Errors: `AT_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_max_attempts(config: *mut at_config, attempts: u32) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_max_attempts(attempts);
        Ok(())
    })
}

/// Whether drops of stored hits are reported to the collector as events named
/// "Attracker Hits Dropped" (`properties.dropped` counts them by reason), so it
/// can prove that what arrived plus what was reported dropped is everything
/// the store accepted, per `context.attracker.store`. Default true.
/// Errors: `AT_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_report_drops(config: *mut at_config, enabled: bool) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_report_drops(enabled);
        Ok(())
    })
}

/// Age past which a hit that fails to send is dropped and reported
/// (`AT_DROP_EXPIRED`), in milliseconds. Default 2592000000 (30 days); 0 = no
/// limit. The age is measured on the device clock and, once the collector's
/// `Date` is known, on the collector's clock too: both must agree, so a device
/// clock set ahead expires nothing. A hit is never dropped for age while it is
/// not tried. Errors: `AT_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_max_hit_age_ms(config: *mut at_config, max_age_ms: u64) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_max_hit_age_ms(max_age_ms);
        Ok(())
    })
}

/// Most events per `/v1/batch` request (default 500, 1..10000).
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (outside 1..10000).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_max_batch_events(config: *mut at_config, events: u32) -> at_status {
    export!(config_mut(config)?.set_max_batch_events(events))
}

/// Most bytes of JSON per `/v1/batch` request before compression (default
/// 500000, 1024..16777216). A larger set is split; an event that alone exceeds
/// it is dropped and reported (`AT_DROP_TOO_LARGE`).
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (outside 1024..16777216).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_max_batch_bytes(config: *mut at_config, bytes: u32) -> at_status {
    export!(config_mut(config)?.set_max_batch_bytes(bytes))
}

/// Compress batch bodies with gzip (`Content-Encoding: gzip`). Default off.
/// Errors: `AT_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_gzip(config: *mut at_config, enabled: bool) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_gzip(enabled);
        Ok(())
    })
}

/// How the api key is sent: `AT_AUTH_BEARER` (default) or `AT_AUTH_BASIC`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (not an `at_auth_scheme`).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_auth_scheme(
    config: *mut at_config,
    scheme: at_auth_scheme,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_auth_scheme(AuthScheme::from_c(scheme)?);
        Ok(())
    })
}

/// Connect timeout and whole-request timeout, in ms (defaults 10000 and 30000;
/// each 1..300000). A request that times out after connecting counts as an
/// attempt; one that cannot connect does not.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (either outside 1..300000;
/// neither is changed).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_timeouts_ms(
    config: *mut at_config,
    connect_ms: u32,
    request_ms: u32,
) -> at_status {
    export!(config_mut(config)?.set_timeouts_ms(connect_ms, request_ms))
}

/// With `AT_DURABILITY_BATCHED`: how long the writer gathers hits before a
/// commit, in ms (default 10, at most 1000).
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (above 1000).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_commit_window_ms(config: *mut at_config, ms: u32) -> at_status {
    export!(config_mut(config)?.set_commit_window_ms(ms))
}

/// How long the store waits for a lock held by another process before
/// `AT_ERR_STORAGE`, in ms (default 5000, at most 60000).
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (above 60000).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_busy_timeout_ms(config: *mut at_config, ms: u32) -> at_status {
    export!(config_mut(config)?.set_busy_timeout_ms(ms))
}

/// Where callbacks run: `AT_CALLBACKS_THREAD` (default, the tracker's callback
/// thread) or `AT_CALLBACKS_POLLED` (queued until `at_tracker_poll`, on the
/// host's thread). Applies to completions, dispatch results, logs and drops.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (not an `at_callback_mode`).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_callback_mode(
    config: *mut at_config,
    mode: at_callback_mode,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_callback_mode(CallbackMode::from_c(mode)?);
        Ok(())
    })
}

/// Record "Application Backgrounded" / "Application Opened" events when the host
/// reports lifecycle changes (default true).
/// Errors: `AT_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_track_lifecycle_events(
    config: *mut at_config,
    enabled: bool,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_track_lifecycle_events(enabled);
        Ok(())
    })
}

/// On `at_app_did_enter_background`: flush within the host's deadline (default
/// true), or leave hits stored for the next foreground (false).
/// Errors: `AT_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_flush_on_background(
    config: *mut at_config,
    enabled: bool,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_flush_on_background(enabled);
        Ok(())
    })
}

/// Fetch a remote configuration from `url` (http or https; NULL turns it off,
/// the default) at start and every `remote_config_interval_ms`, on the delivery
/// thread, with `If-None-Match`. The last good document is kept in the store and
/// applies from the next start even offline; without one, the configuration's
/// own values apply. A document is a JSON object with `"schema_version": 1` and
/// any of: `tracking_enabled` (false stops collection), `flush_interval_ms`,
/// `flush_threshold`, `max_batch_events`, `sample_rate` (0..1, per visitor) and
/// `endpoint` (https, on a host allowed with
/// `at_config_add_allowed_endpoint_host`); other keys are the host's (see
/// `at_remote_config_json`). A bad value is ignored alone, with a WARN; a
/// document that is not such an object is refused whole (WARN) and the one in
/// force stays. Needs the libcurl transport (a host transport returns no body).
/// Errors: `AT_ERR_NULL_ARGUMENT` (config), `AT_ERR_INVALID_ARGUMENT` (not an
/// http(s) URL, bad UTF-8).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_remote_config_url(
    config: *mut at_config,
    url: *const c_char,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_remote_config_url(opt_str_arg(url, "url")?)
    })
}

/// How often the remote configuration is fetched again while the tracker runs.
/// Default 3,600,000 (an hour); at least 100. A failed fetch is retried after
/// 30 s (or the interval, if shorter).
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (below 100).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_remote_config_interval_ms(
    config: *mut at_config,
    ms: u32,
) -> at_status {
    export!(config_mut(config)?.set_remote_config_interval_ms(ms))
}

/// Lets a remote configuration move the endpoint to `host` ("collect.example.com":
/// a host name, no scheme, port or path; compared without case). Only https
/// endpoints on allowed hosts are taken; none is allowed by default.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (empty, not UTF-8, or not a
/// bare host name).
#[no_mangle]
pub unsafe extern "C" fn at_config_add_allowed_endpoint_host(
    config: *mut at_config,
    host: *const c_char,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.add_allowed_endpoint_host(str_arg(host, "host")?)
    })
}

/// What `at_set_tracking_enabled(tracker, false)` does with hits already queued:
/// `AT_OPT_OUT_KEEP` (default) or `AT_OPT_OUT_PURGE`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (unknown policy).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_opt_out_policy(
    config: *mut at_config,
    policy: at_opt_out_policy,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_opt_out_policy(OptOutPolicy::from_c(policy)?);
        Ok(())
    })
}

/// When true, the endpoint, the remote config URL and every hit URL must be
/// https: `at_tracker_new` refuses a configuration with an http one
/// (`AT_ERR_INVALID_ARGUMENT` naming it) and `at_send_hit` an http URL. Default
/// false (http is allowed, e.g. for a collector on the LAN in development).
/// Errors: `AT_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_require_https(config: *mut at_config, required: bool) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_require_https(required);
        Ok(())
    })
}

/// The store's directory may be writable by every user (e.g. /tmp). Default
/// false: `at_tracker_new` refuses such a directory with `AT_ERR_INVALID_ARGUMENT`,
/// because another user could read the store or plant one there; pass the app's
/// private directory instead.
/// Errors: `AT_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_allow_world_writable_directory(
    config: *mut at_config,
    allowed: bool,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_allow_world_writable_directory(allowed);
        Ok(())
    })
}

/// DEVELOPMENT ONLY: when true, TLS certificates and host names are not
/// verified (a self-signed collector on a test machine). Every `at_tracker_new`
/// with it logs a WARN saying so. Default false; TLS verification cannot be
/// turned off any other way.
/// Errors: `AT_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_insecure_tls_for_development(
    config: *mut at_config,
    insecure: bool,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_insecure_tls_for_development(insecure);
        Ok(())
    })
}

/// Trusts a private CA: the collector's certificate must chain to a certificate
/// in the PEM file at `path`, and only to those: the system's CAs are no longer
/// consulted. For self-hosted collectors with their own CA. The file is checked
/// now (readable, at most 4 MiB, at least one PEM certificate) and read again by
/// libcurl at each TLS handshake, so a replaced file is picked up; if it later
/// becomes unreadable, sends fail as "not reached" (hits kept, nothing counted).
/// Replaces a bundle given with `at_config_set_ca_bundle_pem`. NULL removes the
/// bundle (the default: the system's CAs). libcurl transport only:
/// `at_tracker_new` refuses it with a host transport (`at_config_set_transport`).
/// The configuration copies `path`. Not thread-safe (as every `at_config` call).
/// Errors: `AT_ERR_NULL_ARGUMENT` (config), `AT_ERR_INVALID_ARGUMENT` (empty,
/// not UTF-8, unreadable, a directory, too large, no certificate); on error the
/// configuration is unchanged and `at_last_error()` says why.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_ca_bundle_path(
    config: *mut at_config,
    path: *const c_char,
) -> at_status {
    export!(config_mut(config)?.set_ca_bundle_path(opt_str_arg(path, "path")?))
}

/// Trusts a private CA given as PEM text (one or more
/// `-----BEGIN CERTIFICATE-----` blocks, at most 4 MiB), e.g. compiled into the
/// app: as `at_config_set_ca_bundle_path`, the collector's certificate must
/// chain to one of them and the system's CAs are no longer consulted. Replaces
/// a bundle given with `at_config_set_ca_bundle_path`. NULL removes the bundle
/// (the default). libcurl transport only, 7.77 or later with a TLS backend that
/// takes a CA blob (OpenSSL does); a libcurl that cannot take it fails every
/// send as "not reached" with an ERROR log, keeping the hits. The configuration
/// copies `pem`. Errors: `AT_ERR_NULL_ARGUMENT` (config),
/// `AT_ERR_INVALID_ARGUMENT` (not UTF-8, too large, no well-formed
/// certificate); on error the configuration is unchanged.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_ca_bundle_pem(
    config: *mut at_config,
    pem: *const c_char,
) -> at_status {
    export!(config_mut(config)?.set_ca_bundle_pem(opt_str_arg(pem, "pem")?))
}

/// Pins the collector's public key, as mobile apps do: `pins` is
/// `"sha256//<base64>"`, or several joined by `;` (the current key and its
/// successor, so a key can be rotated), where `<base64>` is the padded base64
/// of the SHA-256 of the key's DER SubjectPublicKeyInfo:
/// `openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der
/// | openssl dgst -sha256 -binary | openssl base64`. Spaces around an entry are
/// ignored; at most 64 entries. Checked at every TLS handshake, on top of the
/// certificate's verification: when the collector's key matches none, nothing
/// is sent, the hits are kept and retried with backoff without counting an
/// attempt, and an ERROR log names the pin mismatch (once, until a send
/// succeeds). NULL removes the pins (the default: none). libcurl transport only
/// (`at_tracker_new` refuses pins with a host transport). The configuration
/// copies `pins`. Errors: `AT_ERR_NULL_ARGUMENT` (config),
/// `AT_ERR_INVALID_ARGUMENT` (an entry not of that form, or not 32 bytes);
/// on error the configuration is unchanged.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_pinned_public_key(
    config: *mut at_config,
    pins: *const c_char,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_pinned_public_key(opt_str_arg(pins, "pins")?)
    })
}
