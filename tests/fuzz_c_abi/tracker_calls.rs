//! Tracker calls that take fuzzed arguments: track an event, send a hit, set the
//! visitor id, opt out, set the offline mode.

use std::ffi::c_char;
use std::ptr::{null, null_mut};

use attracker::ffi::*;

use crate::arg::{show_bytes, Arg, Expect};
use crate::checker::track_outcome;
use crate::gen_json::gen_props;
use crate::gen_text::{gen_type, gen_visitor_id};
use crate::gen_url::{base_url, gen_url};
use crate::support::{bytes_of, ENDPOINT, MAX_EVENT};
use crate::tracker_fuzz::{focus, hit_type_kind, plain_props, plain_type, tally_kinds, TrackerFuzz};

impl TrackerFuzz {
    pub unsafe fn op_track_event(&mut self) {
        let (fuzz_type, fuzz_props) = focus(&mut self.rng);
        let ty = if fuzz_type { gen_type(&mut self.rng, false) } else { plain_type(&mut self.rng) };
        let props = if fuzz_props {
            gen_props(&mut self.rng, &mut self.huge_left, MAX_EVENT as usize)
        } else {
            plain_props(&mut self.rng)
        };
        let t = self.t_or_null();
        let kinds = tally_kinds(t, &[(fuzz_type, ty.kind), (fuzz_props, props.kind)]);
        let (done, ud, token) = self.completion();
        let desc = || format!("at_track_event(t={:?}, type={}, props={})", t, ty.show(), props.show());
        let body: &[u8] = if props.is_null() { b"{}" } else { props.eff() };
        let allowed = if t.is_null() || ty.is_null() {
            vec![AT_ERR_NULL_ARGUMENT]
        } else {
            track_outcome(&[ty.expect, props.expect], ty.eff().len() + body.len(), MAX_EVENT as usize)
        };
        let st = self.ck.expect("at_track_event", &kinds, &allowed, &desc, || {
            at_track_event(t, ty.ptr(), props.ptr(), done, ud)
        });
        self.settle_token(token, st, "at_track_event");
        if st == AT_OK {
            self.count += 1;
            let batch_url = format!("{ENDPOINT}/v1/batch");
            self.check_latest(ty.eff(), Some(body), batch_url.as_bytes(), &desc);
        }
        self.check_count(&desc);
    }

    pub unsafe fn op_send_hit(&mut self) {
        let (fuzz_url, fuzz_type) = focus(&mut self.rng);
        let url = if fuzz_url {
            gen_url(&mut self.rng, false, &mut self.huge_left)
        } else {
            let (u, e) = base_url(&mut self.rng, false);
            Arg::new("url: plain", u, e)
        };
        let ty = if fuzz_type {
            gen_type(&mut self.rng, true)
        } else if self.rng.one_in(3) {
            Arg::null("type: NULL", Expect::Ok)
        } else {
            plain_type(&mut self.rng)
        };
        let t = self.t_or_null();
        let kinds = tally_kinds(t, &[(fuzz_url, url.kind), (fuzz_type, hit_type_kind(ty.kind))]);
        let (done, ud, token) = self.completion();
        let desc = || format!("at_send_hit(t={:?}, url={}, type={})", t, url.show(), ty.show());
        let allowed = if t.is_null() || url.is_null() {
            vec![AT_ERR_NULL_ARGUMENT]
        } else {
            track_outcome(&[url.expect, ty.expect], url.eff().len() + ty.eff().len(), MAX_EVENT as usize)
        };
        let st = self
            .ck
            .expect("at_send_hit", &kinds, &allowed, &desc, || at_send_hit(t, url.ptr(), ty.ptr(), done, ud));
        self.settle_token(token, st, "at_send_hit");
        if st == AT_OK {
            self.count += 1;
            let u = url.eff().to_vec();
            self.check_latest(ty.eff(), None, &u, &desc);
        }
        self.check_count(&desc);
    }

    pub unsafe fn visitor_now(&mut self) -> Vec<u8> {
        let mut p: *mut c_char = null_mut();
        let t = self.t;
        self.ck.ok("at_visitor_id", &|| "at_visitor_id(t, &p)".into(), || at_visitor_id(t, &mut p));
        let v = bytes_of(p).expect("at_visitor_id gave NULL");
        at_string_free(p);
        v
    }

    pub unsafe fn op_set_visitor_id(&mut self) {
        if self.rng.one_in(10) {
            let t = self.t;
            self.ck.expect(
                "at_visitor_id_reset",
                &["visitor id: reset"],
                &[AT_OK],
                &|| "reset".into(),
                || at_visitor_id_reset(t),
            );
            let v = self.visitor_now();
            let is_uuid = v.len() == 36 && v[14] == b'4';
            self.ck.check(is_uuid, || format!("reset gave {}", show_bytes(&v)), &|| "reset".into());
            self.visitor = v;
            return;
        }
        let id = gen_visitor_id(&mut self.rng);
        let t = self.t_or_null();
        let desc = || format!("at_set_visitor_id(t={:?}, {})", t, id.show());
        let allowed = match (t.is_null() || id.is_null(), id.expect) {
            (true, _) => vec![AT_ERR_NULL_ARGUMENT],
            (_, Expect::Ok) => vec![AT_OK],
            (_, Expect::Invalid) => vec![AT_ERR_INVALID_ARGUMENT],
            (_, Expect::Any) => vec![AT_OK, AT_ERR_INVALID_ARGUMENT],
        };
        let st = self
            .ck
            .expect("at_set_visitor_id", &[id.kind], &allowed, &desc, || at_set_visitor_id(t, id.ptr()));
        if st == AT_OK {
            self.visitor = id.eff().to_vec();
        }
        let now = self.visitor_now();
        let model = self.visitor.clone();
        self.ck.check(
            now == model,
            || format!("visitor id is {}, expected {}", show_bytes(&now), show_bytes(&model)),
            &desc,
        );
    }

    pub unsafe fn op_opt_out(&mut self) {
        let policy = self.rng.u32_edge(&[AT_OPT_OUT_PURGE]);
        let t = self.t_or_null();
        let mut purged = u64::MAX;
        let purged_ptr: *mut u64 = if self.rng.one_in(3) { null_mut() } else { &mut purged };
        let desc = || format!("at_opt_out(t={t:?}, policy={policy}, purged={purged_ptr:?})");
        let (kind, allowed) = match (t.is_null(), policy) {
            (true, _) => ("opt-out: NULL tracker", vec![AT_ERR_NULL_ARGUMENT]),
            (_, AT_OPT_OUT_KEEP | AT_OPT_OUT_PURGE) => ("opt-out: valid policy", vec![AT_OK]),
            _ => ("opt-out: policy out of range", vec![AT_ERR_INVALID_ARGUMENT]),
        };
        let st = self.ck.expect("at_opt_out", &[kind], &allowed, &desc, || at_opt_out(t, policy, purged_ptr));
        if st != AT_OK {
            self.check_count(&desc);
            return;
        }
        if policy == AT_OPT_OUT_PURGE {
            let before = self.count;
            if !purged_ptr.is_null() {
                self.ck.check(purged == before, || format!("purged {purged}, expected {before}"), &desc);
            }
            self.deleted += before;
            self.count = 0;
        } else if !purged_ptr.is_null() {
            self.ck.check(purged == 0, || format!("KEEP purged {purged}"), &desc);
        }
        self.check_count(&desc);
        // Collection is off: a valid event is refused and nothing is kept.
        let tt = self.t;
        self.ck.expect(
            "at_track_event",
            &["opt-out: track while opted out"],
            &[AT_ERR_SUPPRESSED],
            &desc,
            || at_track_event(tt, c"after opt-out".as_ptr(), null(), None, null_mut()),
        );
        self.check_count(&desc);
        self.ck.ok("at_set_tracking_enabled", &desc, || at_set_tracking_enabled(tt, true));
    }

    pub unsafe fn op_set_offline_mode(&mut self) {
        let mode = self.rng.u32_edge(&[AT_OFFLINE_ALWAYS]);
        let t = self.t_or_null();
        let (done, ud, token) = self.completion();
        let desc = || format!("at_set_offline_mode(t={t:?}, mode={mode})");
        let (kind, allowed) = match (t.is_null(), mode) {
            (true, _) => ("offline mode: NULL tracker", vec![AT_ERR_NULL_ARGUMENT]),
            (_, 0..=2) => ("offline mode: valid", vec![AT_OK]),
            _ => ("offline mode: out of range", vec![AT_ERR_INVALID_ARGUMENT]),
        };
        let st = self.ck.expect("at_set_offline_mode", &[kind], &allowed, &desc, || {
            at_set_offline_mode(t, mode, done, ud)
        });
        self.settle_token(token, st, "at_set_offline_mode");
        let tt = self.t;
        let mut now = u32::MAX;
        self.ck.ok("at_get_offline_mode", &desc, || at_get_offline_mode(tt, &mut now));
        let expected = if st == AT_OK { mode } else { AT_OFFLINE_ALWAYS };
        self.ck.check(now == expected, || format!("offline mode is {now}, expected {expected}"), &desc);
        if now != AT_OFFLINE_ALWAYS {
            self.ck.ok("at_set_offline_mode", &desc, || {
                at_set_offline_mode(tt, AT_OFFLINE_ALWAYS, None, null_mut())
            });
        }
    }
}
