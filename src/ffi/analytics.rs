//! The analytics client: identify, alias, group, screen, reset, the context,
//! super properties, sessions and consent.

use std::ffi::{c_char, c_void};

use crate::analytics::consent::Consent;
use crate::analytics::Reset;
use crate::ffi::args::*;
use crate::ffi::c_enum::CEnumType;
use crate::ffi::identity::owned;
use crate::ffi::status::*;
use crate::ffi::tracker::{at_tracker, tracker_ref};
use crate::ffi::types::*;

// header-section: The analytics client: identify, alias, group, screen, reset

/// Identifies the user (a Segment `identify` call). `user_id` (UTF-8, 1 to 256
/// bytes, no control characters; NULL keeps the current one) becomes the
/// `userId` of every hit tracked from now on; `traits_json` (a JSON object or
/// NULL) is merged over the traits kept so far (top-level keys replace). Both
/// are stored before the call returns and kept across restarts; the queued
/// `identify` call carries the merged traits. Hits tracked before keep the
/// identity they were tracked with. `done` as for `at_track_event`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT`, `AT_ERR_TOO_LARGE`
/// (the merged traits), `AT_ERR_SUPPRESSED`, `AT_ERR_STORAGE` (unchanged),
/// `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_identify(
    tracker: *mut at_tracker,
    user_id: *const c_char,
    traits_json: *const c_char,
    done: at_completion_fn,
    user_data: *mut c_void,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let user_id = opt_str_arg(user_id, "user_id")?;
        let traits = opt_str_arg(traits_json, "traits_json")?;
        t.identify(user_id, traits, completion(done, user_data))
    })
}

/// The user id in force (`at_identify`, `at_alias`), or `*out = NULL` when none
/// is set. `*out` is owned by the caller: free it with `at_string_free`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_user_id(tracker: *mut at_tracker, out: *mut *mut c_char) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let out = out_arg(out, "out")?;
        *out = t.user_id()?.map_or(std::ptr::null_mut(), |u| owned(&u));
        Ok(())
    })
}

/// Links the current identity to `new_user_id` (a Segment `alias` call:
/// `previousId` is the current user id, or the anonymous id when none is set),
/// then makes `new_user_id` the user id (stored before the call returns).
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT`,
/// `AT_ERR_SUPPRESSED`, `AT_ERR_STORAGE` (unchanged), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_alias(
    tracker: *mut at_tracker,
    new_user_id: *const c_char,
    done: at_completion_fn,
    user_data: *mut c_void,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        t.alias(str_arg(new_user_id, "new_user_id")?, completion(done, user_data))
    })
}

/// Associates the user with a group (a Segment `group` call): `group_id`
/// (UTF-8, 1 to 256 bytes) and the group's `traits_json` (a JSON object or NULL).
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT`, `AT_ERR_TOO_LARGE`,
/// `AT_ERR_SUPPRESSED`, `AT_ERR_STORAGE`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_group(
    tracker: *mut at_tracker,
    group_id: *const c_char,
    traits_json: *const c_char,
    done: at_completion_fn,
    user_data: *mut c_void,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let group_id = str_arg(group_id, "group_id")?;
        t.group(group_id, opt_str_arg(traits_json, "traits_json")?, completion(done, user_data))
    })
}

/// Records that the user saw a screen (a Segment `screen` call): `name` (as an
/// event type) and `properties_json` (a JSON object or NULL), with the super
/// properties merged in. Otherwise as `at_track_event`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT`, `AT_ERR_TOO_LARGE`,
/// `AT_ERR_SUPPRESSED`, `AT_ERR_STORAGE`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_screen(
    tracker: *mut at_tracker,
    name: *const c_char,
    properties_json: *const c_char,
    done: at_completion_fn,
    user_data: *mut c_void,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let name = str_arg(name, "name")?;
        t.screen(name, opt_str_arg(properties_json, "properties_json")?, completion(done, user_data))
    })
}

/// Forgets what `what` names (`AT_RESET_*` flags, combined with `|`), in one
/// store transaction: `AT_RESET_USER` the user id and traits,
/// `AT_RESET_ANONYMOUS_ID` the anonymous id (a new one is made),
/// `AT_RESET_SESSION` the session (a new one starts now),
/// `AT_RESET_SUPER_PROPERTIES` the super properties; `AT_RESET_ALL` all four
/// (a logout). Hits queued before keep the identity they were tracked with.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (no flag, or an
/// unknown one), `AT_ERR_STORAGE` (unchanged), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_reset(tracker: *mut at_tracker, what: u32) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        t.reset(Reset::from_bits(what)?)
    })
}

// header-section: The analytics client: context and super properties

/// Merges `context_json` (a JSON object, at most 8192 bytes) into the host's
/// part of the event context (see `at_config_set_context`): top-level keys
/// replace, a key set to `null` is removed. Hits tracked from now on carry the
/// new context; queued hits keep theirs. Not kept across restarts: set the
/// start context with `at_config_set_context`.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (unchanged),
/// `AT_ERR_STORAGE` (unchanged), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_set_context(tracker: *mut at_tracker, context_json: *const c_char) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        t.set_context(str_arg(context_json, "context_json")?)
    })
}

/// Merges `properties_json` (a JSON object) into the super properties: they
/// are merged into the properties of every later `at_track_event` and
/// `at_screen` call, at the call (explicit properties win). Kept in the store
/// across restarts; stored before the call returns.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (unchanged),
/// `AT_ERR_STORAGE` (unchanged), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_register_super_properties(
    tracker: *mut at_tracker,
    properties_json: *const c_char,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        t.register_super_properties(str_arg(properties_json, "properties_json")?)
    })
}

/// Removes the super property `key` (one that is not set is no error).
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (bad UTF-8),
/// `AT_ERR_STORAGE` (unchanged), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_unregister_super_property(
    tracker: *mut at_tracker,
    key: *const c_char,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        t.unregister_super_property(str_arg(key, "key")?)
    })
}

// header-section: The analytics client: sessions and consent

/// Starts a new session now (a game's match, a new visit). With
/// `at_config_set_track_session_events`, records "Session Ended" and
/// "Session Started".
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_STORAGE`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_session_start(tracker: *mut at_tracker) -> at_status {
    export!(tracker_ref(tracker)?.session_start().map(drop))
}

/// The session id (Unix ms of the session's start, sent as
/// `context.sessionId`) the next hit gets. The first call after start decides,
/// as a hit would, whether the session kept from the last run goes on.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_STORAGE`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_session_id(tracker: *mut at_tracker, out: *mut i64) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let out = out_arg(out, "out")?;
        *out = t.session_id()?;
        Ok(())
    })
}

/// Sets the user's consent, kept in the store (stored before the call returns).
/// `AT_CONSENT_PENDING`: calls are accepted and stored with their own
/// timestamps; nothing is sent and no remote configuration is fetched (no
/// network at all); `at_offline_dispatch` and `at_flush` complete with
/// `AT_ERR_SUPPRESSED`. `AT_CONSENT_GRANTED`: everything stored goes out.
/// `AT_CONSENT_DENIED`: every queued hit (stored, being committed, or
/// memory-only) is purged, reported as `AT_DROP_CONSENT_DENIED` to the drop
/// callback (never to the collector); `*purged` (may be NULL) gets how many;
/// later track, screen, identify, alias and group calls return
/// `AT_ERR_SUPPRESSED`. Race-free: a hit tracked at the same time is accepted
/// before the change (and purged with the rest) or after it.
/// Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_INVALID_ARGUMENT` (unknown value),
/// `AT_ERR_STORAGE` (nothing changed, or: consent is denied and the purge
/// failed), `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_set_consent(
    tracker: *mut at_tracker,
    consent: at_consent,
    purged: *mut u64,
) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let n = t.set_consent(Consent::from_c(consent)?)?;
        if let Some(purged) = purged.as_mut() {
            *purged = n;
        }
        Ok(())
    })
}

/// The consent in force. Errors: `AT_ERR_NULL_ARGUMENT`, `AT_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn at_get_consent(tracker: *mut at_tracker, out: *mut at_consent) -> at_status {
    export!({
        let t = tracker_ref(tracker)?;
        let out = out_arg(out, "out")?;
        *out = t.consent()?.to_c();
        Ok(())
    })
}
