//! `at_config`: the analytics client's settings (context, sessions, consent).

use std::ffi::c_char;

use crate::analytics::consent::Consent;
use crate::ffi::args::*;
use crate::ffi::c_enum::CEnumType;
use crate::ffi::config::{at_config, config_mut};
use crate::ffi::status::*;
use crate::ffi::types::*;

// header-section: at_config: the analytics client (context, sessions, consent)

/// The host's part of every event's `context` from the first event on: a JSON
/// object of top-level keys such as `app`, `device`, `screen`, `network`
/// (copied; at most 8192 bytes). The library adds what it knows itself:
/// `library`, `os` (`name`, `version`), `locale` and `timezone` from the
/// environment; a key the host sets replaces the library's (e.g. `os` on iOS).
/// `library`, `attracker` and `sessionId` are the library's and refused.
/// Replaces what an earlier call set. Default: none.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (bad UTF-8 or
/// JSON, not an object, a reserved key, too large; unchanged).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_context(
    config: *mut at_config,
    context_json: *const c_char,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_context(str_arg(context_json, "context_json")?)
    })
}

/// Session timeouts, in milliseconds: a hit tracked after more than
/// `foreground_ms` without activity, or after more than `background_ms` in the
/// background (between `at_app_did_enter_background` and the next hit), starts
/// a new session. Defaults 1800000 (30 min) and 300000 (5 min). Each between
/// 1000 and 604800000 (7 days).
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (out of range; unchanged).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_session_timeouts_ms(
    config: *mut at_config,
    foreground_ms: u32,
    background_ms: u32,
) -> at_status {
    export!(config_mut(config)?.set_session_timeouts_ms(foreground_ms, background_ms))
}

/// Record a "Session Started" event when a session starts and a "Session
/// Ended" event (timestamped at its last activity) when the next one starts.
/// Default false.
/// Errors: `AT_ERR_NULL_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn at_config_set_track_session_events(
    config: *mut at_config,
    enabled: bool,
) -> at_status {
    export!({
        config_mut(config)?.set_track_session_events(enabled);
        Ok(())
    })
}

/// The consent a store starts with until the user answers (`at_set_consent`,
/// kept in the store from then on): `AT_CONSENT_GRANTED` (the default),
/// `AT_CONSENT_PENDING` (store, send nothing) or `AT_CONSENT_DENIED`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (unknown value).
#[no_mangle]
pub unsafe extern "C" fn at_config_set_initial_consent(
    config: *mut at_config,
    consent: at_consent,
) -> at_status {
    export!({
        let c = config_mut(config)?;
        c.set_initial_consent(Consent::from_c(consent)?);
        Ok(())
    })
}
