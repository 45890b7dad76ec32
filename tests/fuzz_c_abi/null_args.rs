//! Every tracker function called with one required pointer argument NULL.

use std::ptr::{null, null_mut};
use std::sync::atomic::AtomicU64;

use attracker::ffi::*;

use crate::callbacks::{on_dispatch, on_done};

/// A call with a NULL pointer argument, by function name.
type NullCase = (&'static str, Box<dyn Fn() -> at_status>);

/// Every tracker function with one NULL pointer that the header requires.
pub fn null_cases(t: *mut at_tracker) -> Vec<NullCase> {
    let n: *mut at_tracker = null_mut();
    let e = c"e".as_ptr();
    let url = c"http://127.0.0.1:9/x".as_ptr();
    static SCRATCH: AtomicU64 = AtomicU64::new(0);
    let o64: *mut u64 = SCRATCH.as_ptr();
    unsafe {
        vec![
            ("at_tracker_new", Box::new(move || at_tracker_new(null(), null_mut()))),
            ("at_tracker_close", Box::new(move || at_tracker_close(n, 0))),
            ("at_tracker_sync", Box::new(move || at_tracker_sync(n))),
            ("at_track_event", Box::new(move || at_track_event(n, e, null(), Some(on_done), null_mut()))),
            (
                "at_track_event",
                Box::new(move || at_track_event(t, null(), null(), Some(on_done), null_mut())),
            ),
            ("at_track_event", Box::new(move || at_track_event(t, null(), c"{".as_ptr(), None, null_mut()))),
            ("at_send_hit", Box::new(move || at_send_hit(n, url, e, Some(on_done), null_mut()))),
            ("at_send_hit", Box::new(move || at_send_hit(t, null(), e, Some(on_done), null_mut()))),
            ("at_send_hit", Box::new(move || at_send_hit(t, null(), null(), None, null_mut()))),
            ("at_flush", Box::new(move || at_flush(n, Some(on_dispatch), null_mut()))),
            ("at_offline_dispatch", Box::new(move || at_offline_dispatch(n, Some(on_dispatch), null_mut()))),
            (
                "at_app_did_enter_background",
                Box::new(move || at_app_did_enter_background(n, 5, None, null_mut())),
            ),
            ("at_app_will_enter_foreground", Box::new(move || at_app_will_enter_foreground(n))),
            (
                "at_set_offline_mode",
                Box::new(move || at_set_offline_mode(n, AT_OFFLINE_ALWAYS, None, null_mut())),
            ),
            ("at_get_offline_mode", Box::new(move || at_get_offline_mode(n, &mut 0))),
            ("at_get_offline_mode", Box::new(move || at_get_offline_mode(t, null_mut()))),
            ("at_set_tracking_enabled", Box::new(move || at_set_tracking_enabled(n, true))),
            ("at_set_network_reachable", Box::new(move || at_set_network_reachable(n, true))),
            ("at_tracker_stats", Box::new(move || at_tracker_stats(n, &mut at_stats::default(), 8))),
            (
                "at_tracker_stats",
                Box::new(move || at_tracker_stats(t, null_mut(), std::mem::size_of::<at_stats>())),
            ),
            ("at_tracker_stats", Box::new(move || at_tracker_stats(t, null_mut(), 0))),
            ("at_visitor_id", Box::new(move || at_visitor_id(n, &mut null_mut()))),
            ("at_visitor_id", Box::new(move || at_visitor_id(t, null_mut()))),
            ("at_visitor_id_reset", Box::new(move || at_visitor_id_reset(n))),
            ("at_set_visitor_id", Box::new(move || at_set_visitor_id(n, e))),
            ("at_set_visitor_id", Box::new(move || at_set_visitor_id(t, null()))),
            ("at_opt_out", Box::new(move || at_opt_out(n, AT_OPT_OUT_PURGE, null_mut()))),
            ("at_remote_config_json", Box::new(move || at_remote_config_json(n, &mut null_mut()))),
            ("at_remote_config_json", Box::new(move || at_remote_config_json(t, null_mut()))),
            ("at_offline_get", Box::new(move || at_offline_get(n, &mut null_mut()))),
            ("at_offline_get", Box::new(move || at_offline_get(t, null_mut()))),
            ("at_offline_get_page", Box::new(move || at_offline_get_page(n, 0, 10, &mut null_mut()))),
            ("at_offline_get_page", Box::new(move || at_offline_get_page(t, 0, 10, null_mut()))),
            ("at_offline_oldest", Box::new(move || at_offline_oldest(n, &mut null_mut()))),
            ("at_offline_oldest", Box::new(move || at_offline_oldest(t, null_mut()))),
            ("at_offline_latest", Box::new(move || at_offline_latest(n, &mut null_mut()))),
            ("at_offline_latest", Box::new(move || at_offline_latest(t, null_mut()))),
            ("at_offline_count", Box::new(move || at_offline_count(n, o64))),
            ("at_offline_count", Box::new(move || at_offline_count(t, null_mut()))),
            ("at_offline_delete", Box::new(move || at_offline_delete(n, o64))),
            (
                "at_offline_delete_older_than_days",
                Box::new(move || at_offline_delete_older_than_days(n, 0, o64)),
            ),
            (
                "at_offline_delete_older_than",
                Box::new(move || at_offline_delete_older_than(n, i64::MAX, o64)),
            ),
            ("at_offline_export_batch", Box::new(move || at_offline_export_batch(n, &mut null_mut()))),
            ("at_offline_export_batch", Box::new(move || at_offline_export_batch(t, null_mut()))),
            ("at_offline_ack_batch", Box::new(move || at_offline_ack_batch(n, null_mut(), true))),
            ("at_offline_ack_batch", Box::new(move || at_offline_ack_batch(t, null_mut(), false))),
            ("at_transport_complete", Box::new(move || at_transport_complete(null_mut(), 200, 0, null()))),
            ("at_transport_complete", Box::new(move || at_transport_complete(null_mut(), 0, -1, e))),
            ("at_set_api_key", Box::new(move || at_set_api_key(n, e))),
            ("at_set_api_key", Box::new(move || at_set_api_key(t, null()))),
            ("at_last_send_error", Box::new(move || at_last_send_error(n, &mut null_mut()))),
            ("at_last_send_error", Box::new(move || at_last_send_error(t, null_mut()))),
            ("at_identify", Box::new(move || at_identify(n, e, null(), Some(on_done), null_mut()))),
            ("at_user_id", Box::new(move || at_user_id(n, &mut null_mut()))),
            ("at_user_id", Box::new(move || at_user_id(t, null_mut()))),
            ("at_alias", Box::new(move || at_alias(n, e, Some(on_done), null_mut()))),
            ("at_alias", Box::new(move || at_alias(t, null(), Some(on_done), null_mut()))),
            ("at_group", Box::new(move || at_group(n, e, null(), Some(on_done), null_mut()))),
            ("at_group", Box::new(move || at_group(t, null(), null(), Some(on_done), null_mut()))),
            ("at_screen", Box::new(move || at_screen(n, e, null(), Some(on_done), null_mut()))),
            ("at_screen", Box::new(move || at_screen(t, null(), null(), Some(on_done), null_mut()))),
            ("at_reset", Box::new(move || at_reset(n, AT_RESET_ALL))),
            ("at_set_context", Box::new(move || at_set_context(n, c"{}".as_ptr()))),
            ("at_set_context", Box::new(move || at_set_context(t, null()))),
            (
                "at_register_super_properties",
                Box::new(move || at_register_super_properties(n, c"{}".as_ptr())),
            ),
            ("at_register_super_properties", Box::new(move || at_register_super_properties(t, null()))),
            ("at_unregister_super_property", Box::new(move || at_unregister_super_property(n, e))),
            ("at_unregister_super_property", Box::new(move || at_unregister_super_property(t, null()))),
            ("at_session_start", Box::new(move || at_session_start(n))),
            ("at_session_id", Box::new(move || at_session_id(n, &mut 0))),
            ("at_session_id", Box::new(move || at_session_id(t, null_mut()))),
            ("at_set_consent", Box::new(move || at_set_consent(n, AT_CONSENT_GRANTED, null_mut()))),
            ("at_get_consent", Box::new(move || at_get_consent(n, &mut 0))),
            ("at_get_consent", Box::new(move || at_get_consent(t, null_mut()))),
            (
                "at_request_set_response_content_type",
                Box::new(move || at_request_set_response_content_type(null_mut(), c"text/html".as_ptr())),
            ),
        ]
    }
}
