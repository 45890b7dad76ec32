//! Property-based fuzzing of bad input at the C boundary.
//!
//! Every `attracker::ffi` export is called here exactly as C calls it: raw
//! pointers, NUL-terminated byte strings built from arbitrary bytes (so invalid
//! UTF-8 really reaches the library, and a NUL inside a string ends it early, as
//! it does in C), out-of-range enum values, integer extremes and NULL for every
//! pointer argument. For each call:
//!
//!  - the status is one of the `AT_*` values, never `AT_ERR_INTERNAL` (a caught
//!    panic) nor `AT_ERR_CANCELLED` (for callbacks only);
//!  - a non-OK status comes with a fresh, non-empty `at_last_error()` (a
//!    sentinel error is planted before each call, so a stale message does not
//!    count), and an OK call leaves it unchanged;
//!  - where the header fixes the outcome (a type of 257 bytes, nesting of 129,
//!    an `ftp://` URL, a value out of a documented range, a NULL handle) the
//!    status is the documented one; inputs whose outcome the header leaves open
//!    (duplicate keys, random bytes) may go either way, but are still checked
//!    for everything else;
//!  - a rejected track call changes nothing (`at_offline_count` unchanged) and
//!    an accepted one adds exactly one hit, read back verbatim (type, properties
//!    or URL, as C saw them: up to the first NUL); its completion runs exactly
//!    once, and never for a rejected call;
//!  - a rejected config setter leaves the config as it was: after a random run
//!    of setters a tracker is created from it and what can be observed (storage
//!    path, endpoint, offline mode, size limit, api key and auth scheme, gzip,
//!    opt-out policy, log level) matches the last accepted values.
//!
//! The generator is a seeded splitmix64: the seed is printed and can be set with
//! `ATTRACKER_FUZZ_SEED` (decimal or 0x-hex); `ATTRACKER_FUZZ_ITERATIONS` sets
//! the number of calls (default 20000, split between the tests). Run with
//! `--nocapture` to see how many inputs of each kind ran and were accepted.

mod arg;
mod callbacks;
mod checker;
mod config_check;
mod config_fuzz;
mod config_inputs;
mod gen_json;
mod gen_text;
mod gen_url;
mod null_args;
mod rng;
mod support;
mod tracker_calls;
mod tracker_fuzz;
mod tracker_store;

use std::ffi::c_void;
use std::ptr::{null, null_mut};
use std::sync::atomic::Ordering::SeqCst;

use attracker::ffi::*;

use crate::arg::show_bytes;
use crate::callbacks::{on_done, Sink, Token};
use crate::checker::Checker;
use crate::config_fuzz::{ConfigFuzz, ENUM_SETTERS, U32_SETTERS};
use crate::gen_json::gen_props;
use crate::gen_text::{gen_type, gen_visitor_id};
use crate::gen_url::gen_url;
use crate::null_args::null_cases;
use crate::rng::{config_budget, fuzz_seed, tracker_budget, Rng};
use crate::support::{open_main, TempDir, MAX_EVENT};
use crate::tracker_fuzz::TrackerFuzz;

#[test]
fn tracker_calls_reject_bad_input_and_change_nothing() {
    let seed = fuzz_seed();
    println!("ATTRACKER_FUZZ_SEED={seed:#x}");
    let dir = TempDir::new("tracker");
    let db = dir.path().join("hits.db");
    let sink = Box::<Sink>::default();
    unsafe {
        let t = open_main(&db, &sink);
        let mut f = TrackerFuzz {
            ck: Checker::new("tracker_calls_reject_bad_input_and_change_nothing", seed),
            rng: Rng(seed ^ 0x7472_6163_6b65_7273), // per test, so the two streams differ
            t,
            count: 0,
            last_id: 0,
            visitor: Vec::new(),
            deleted: 0,
            tokens: Vec::new(),
            huge_left: 4,
        };
        f.visitor = f.visitor_now();
        let budget = tracker_budget() as u64;
        while f.ck.calls < budget {
            f.ck.step += 1;
            f.step();
        }
        f.op_consistency();

        // Closed: every call is refused and changes nothing (checked after reopening).
        let before_close = f.count;
        f.ck.ok("at_tracker_close", &|| "at_tracker_close(t, 2000)".into(), || at_tracker_close(t, 2000));
        f.ck.expect(
            "at_tracker_close",
            &["closed: close again"],
            &[AT_ERR_CLOSED],
            &|| "close twice".into(),
            || at_tracker_close(t, 0),
        );
        for _ in 0..200 {
            f.ck.step += 1;
            let ty = gen_type(&mut f.rng, false);
            let props = gen_props(&mut f.rng, &mut 0, MAX_EVENT as usize);
            let url = gen_url(&mut f.rng, false, &mut 0);
            let vid = gen_visitor_id(&mut f.rng);
            let refused = [AT_ERR_CLOSED, AT_ERR_NULL_ARGUMENT, AT_ERR_INVALID_ARGUMENT, AT_ERR_TOO_LARGE];
            let desc = || {
                format!("on a closed tracker: type={} props={} url={}", ty.show(), props.show(), url.show())
            };
            let (token, ud) = {
                let token = Box::<Token>::default();
                let ud = &*token as *const Token as *mut c_void;
                (token, ud)
            };
            f.ck.expect("at_track_event", &["closed: track event"], &refused, &desc, || {
                at_track_event(t, ty.ptr(), props.ptr(), Some(on_done), ud)
            });
            f.ck.expect("at_send_hit", &["closed: send hit"], &refused, &desc, || {
                at_send_hit(t, url.ptr(), ty.ptr(), Some(on_done), ud)
            });
            f.tokens.push((token, false, "closed tracker"));
            f.ck.expect("at_set_visitor_id", &["closed: set visitor id"], &refused, &desc, || {
                at_set_visitor_id(t, vid.ptr())
            });
            let policy = f.rng.u32_edge(&[1]);
            f.ck.expect("at_opt_out", &["closed: opt out"], &refused, &desc, || {
                at_opt_out(t, policy, null_mut())
            });
            f.ck.expect("at_offline_delete", &["closed: delete"], &[AT_ERR_CLOSED], &desc, || {
                at_offline_delete(t, null_mut())
            });
            f.ck.expect("at_offline_count", &["closed: count"], &[AT_ERR_CLOSED], &desc, || {
                at_offline_count(t, &mut 0)
            });
        }
        at_tracker_free(t);

        // Every completion ran exactly once, with AT_OK, and only for accepted calls.
        let mut ran = 0;
        for (i, (token, accepted, what)) in f.tokens.iter().enumerate() {
            let (calls, status) = (token.calls.load(SeqCst), token.status.load(SeqCst));
            let expected = u32::from(*accepted);
            f.ck.check(
                calls == expected && (calls == 0 || status == AT_OK) && token.sent.load(SeqCst) == 0,
                || {
                    format!(
                        "completion #{i} of {what} ran {calls} times (status {status}); expected {expected}"
                    )
                },
                &|| "completions".into(),
            );
            ran += calls;
        }
        let drops: Vec<u64> = sink.drops.iter().map(|d| d.load(SeqCst)).collect();
        let deleted = f.deleted;
        f.ck.check(
            drops[AT_DROP_DELETED as usize] == deleted
                && drops.iter().sum::<u64>() == deleted
                && sink.bad_drop.load(SeqCst) == 0,
            || format!("drop notices {drops:?}; expected only {deleted} AT_DROP_DELETED"),
            &|| "drop callback".into(),
        );
        f.ck.check(sink.bad_log.load(SeqCst) == 0, || "bad log line".into(), &|| "log callback".into());

        // The store kept exactly what the model says: the hits, and the last
        // visitor id accepted (refused ones, and those after close, left no trace).
        let t = open_main(&db, &sink);
        f.t = t;
        let mut n = 0;
        assert_eq!(at_offline_count(t, &mut n), AT_OK);
        f.ck.check(
            n == before_close,
            || format!("reopened store holds {n} hits, expected {before_close}"),
            &|| "reopen".into(),
        );
        let (visitor, model) = (f.visitor_now(), f.visitor.clone());
        f.ck.check(
            visitor == model,
            || {
                format!(
                    "reopened store has visitor id {}, expected {}",
                    show_bytes(&visitor),
                    show_bytes(&model)
                )
            },
            &|| "reopen".into(),
        );
        at_tracker_free(t);
        f.ck.report();
        println!(
            "  completions run: {ran}; hits deleted through the API: {deleted}; stored at the end: {before_close}"
        );
    }
}
#[test]
fn config_setters_reject_bad_values_and_leave_the_config_usable() {
    let seed = fuzz_seed();
    println!("ATTRACKER_FUZZ_SEED={seed:#x}");
    let mut f = ConfigFuzz {
        ck: Checker::new("config_setters_reject_bad_values_and_leave_the_config_usable", seed),
        rng: Rng(seed ^ 0x636f_6e66_6967_7321),
        dir: TempDir::new("config"),
        configs: 0,
        huge_left: 2,
    };
    let sink = Box::<Sink>::default();
    let budget = config_budget() as u64;
    unsafe {
        while f.ck.calls < budget {
            f.one_config(&sink);
        }
    }
    f.ck.report();
    println!("  configs built and checked: {}", f.configs);
}

/// Every pointer argument the header requires gives AT_ERR_NULL_ARGUMENT when
/// NULL; the optional ones and the value-returning functions behave as documented.
#[test]
fn every_pointer_argument_may_be_null() {
    let dir = TempDir::new("null");
    let sink = Box::<Sink>::default();
    let mut ck = Checker::new("every_pointer_argument_may_be_null", fuzz_seed());
    unsafe {
        let t = open_main(&dir.path().join("hits.db"), &sink);
        for (name, f) in null_cases(t) {
            ck.expect(name, &[name], &[AT_ERR_NULL_ARGUMENT], &|| format!("{name} with NULL"), f);
        }
        // Config setters with a NULL config, and their string arguments NULL.
        let cfg = at_config_new();
        let s = c"x".as_ptr();
        type Case = (&'static str, Box<dyn Fn(*mut at_config) -> at_status>);
        let with_config: Vec<Case> = vec![
            ("at_config_set_storage_path", Box::new(move |c| at_config_set_storage_path(c, s))),
            ("at_config_set_endpoint", Box::new(move |c| at_config_set_endpoint(c, s))),
            ("at_config_set_api_key", Box::new(move |c| at_config_set_api_key(c, s))),
            (
                "at_config_set_remote_config_url",
                Box::new(move |c| at_config_set_remote_config_url(c, null())),
            ),
            (
                "at_config_add_allowed_endpoint_host",
                Box::new(move |c| at_config_add_allowed_endpoint_host(c, s)),
            ),
            ("at_config_set_max_store_bytes", Box::new(move |c| at_config_set_max_store_bytes(c, 1 << 20))),
            ("at_config_set_timeouts_ms", Box::new(move |c| at_config_set_timeouts_ms(c, 1, 1))),
            ("at_config_set_gzip", Box::new(move |c| at_config_set_gzip(c, true))),
            (
                "at_config_set_track_lifecycle_events",
                Box::new(move |c| at_config_set_track_lifecycle_events(c, true)),
            ),
            (
                "at_config_set_flush_on_background",
                Box::new(move |c| at_config_set_flush_on_background(c, true)),
            ),
            (
                "at_config_set_log_callback",
                Box::new(move |c| at_config_set_log_callback(c, None, null_mut(), 0)),
            ),
            (
                "at_config_set_drop_callback",
                Box::new(move |c| at_config_set_drop_callback(c, None, null_mut())),
            ),
            (
                "at_config_set_remote_config_callback",
                Box::new(move |c| at_config_set_remote_config_callback(c, None, null_mut())),
            ),
            ("at_config_set_transport", Box::new(move |c| at_config_set_transport(c, None, null_mut()))),
            ("at_config_set_max_hit_age_ms", Box::new(move |c| at_config_set_max_hit_age_ms(c, 86_400_000))),
            ("at_config_set_context", Box::new(move |c| at_config_set_context(c, c"{}".as_ptr()))),
            (
                "at_config_set_session_timeouts_ms",
                Box::new(move |c| at_config_set_session_timeouts_ms(c, 60_000, 60_000)),
            ),
            (
                "at_config_set_track_session_events",
                Box::new(move |c| at_config_set_track_session_events(c, false)),
            ),
        ];
        for (name, f) in &with_config {
            ck.expect(
                name,
                &["NULL config"],
                &[AT_ERR_NULL_ARGUMENT],
                &|| format!("{name}(NULL, ..)"),
                || f(null_mut()),
            );
            // The same call on a real config succeeds (NULL remote URL turns it off;
            // the NULL callbacks remove them).
            let _ = f(cfg);
        }
        for (name, _, f) in ENUM_SETTERS {
            ck.expect(
                name,
                &["NULL config"],
                &[AT_ERR_NULL_ARGUMENT],
                &|| format!("{name}(NULL, 0)"),
                || f(null_mut(), 0),
            );
        }
        for (name, range, f) in U32_SETTERS {
            let v = *range.start();
            ck.expect(
                name,
                &["NULL config"],
                &[AT_ERR_NULL_ARGUMENT],
                &|| format!("{name}(NULL, {v})"),
                || f(null_mut(), v),
            );
        }
        for (name, f) in [
            ("at_config_set_storage_path", at_config_set_storage_path as unsafe extern "C" fn(_, _) -> _),
            ("at_config_set_endpoint", at_config_set_endpoint),
            ("at_config_set_api_key", at_config_set_api_key),
            ("at_config_add_allowed_endpoint_host", at_config_add_allowed_endpoint_host),
        ] {
            ck.expect(
                name,
                &["NULL string"],
                &[AT_ERR_NULL_ARGUMENT],
                &|| format!("{name}(cfg, NULL)"),
                || f(cfg, null()),
            );
        }
        ck.expect(
            "at_config_set_remote_config_url",
            &["NULL remote url"],
            &[AT_OK],
            &|| "NULL url".into(),
            || at_config_set_remote_config_url(cfg, null()),
        );
        ck.expect(
            "at_tracker_new",
            &["NULL out"],
            &[AT_ERR_NULL_ARGUMENT],
            &|| "at_tracker_new(cfg, NULL)".into(),
            || at_tracker_new(cfg, null_mut()),
        );
        at_config_free(cfg);

        // Optional pointers: NULL is fine.
        let mut n = 0;
        ck.ok("at_track_event", &|| "NULL properties".into(), || {
            at_track_event(t, c"e".as_ptr(), null(), None, null_mut())
        });
        ck.ok("at_send_hit", &|| "NULL type".into(), || {
            at_send_hit(t, c"http://h.example/x".as_ptr(), null(), None, null_mut())
        });
        ck.ok("at_offline_count", &|| "count".into(), || at_offline_count(t, &mut n));
        assert_eq!(n, 2);
        ck.ok("at_offline_delete_older_than", &|| "NULL deleted".into(), || {
            at_offline_delete_older_than(t, 0, null_mut())
        });
        ck.ok("at_offline_delete_older_than_days", &|| "NULL deleted".into(), || {
            at_offline_delete_older_than_days(t, 9, null_mut())
        });
        ck.ok("at_offline_delete", &|| "NULL deleted".into(), || at_offline_delete(t, null_mut()));
        ck.ok("at_opt_out", &|| "NULL purged".into(), || at_opt_out(t, AT_OPT_OUT_PURGE, null_mut()));
        ck.ok("at_set_tracking_enabled", &|| "opt in".into(), || at_set_tracking_enabled(t, true));
        ck.ok("at_flush", &|| "NULL done".into(), || at_flush(t, None, null_mut()));
        ck.ok("at_tracker_stats", &|| "size 0".into(), || at_tracker_stats(t, &mut at_stats::default(), 0));

        // Value-returning functions and frees.
        assert!(!at_version().is_null() && !at_last_error().is_null());
        for s in [0, 9, 10, u32::MAX] {
            assert!(!at_status_str(s).is_null());
        }
        assert_eq!(at_tracker_poll(null_mut(), 0), 0);
        assert!(at_hit_message_id(null()).is_null() && at_hit_body(null()).is_null());
        at_config_free(null_mut());
        at_tracker_free(null_mut());
        at_hit_free(null_mut());
        at_hit_list_free(null_mut());
        at_string_free(null_mut());
        at_tracker_free(t);
    }
    ck.report();
}
