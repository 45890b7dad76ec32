//! The tracker fuzzer: its model of the store, the checks after each call, and the
//! choice of the next call.

use std::ffi::{c_char, c_void, CStr};
use std::ptr::{null, null_mut};
use std::sync::atomic::Ordering::SeqCst;
use std::time::Instant;

use attracker::ffi::*;

use crate::arg::{show_bytes, text_oracle, Arg, Expect};
use crate::callbacks::{on_dispatch, on_done, Token};
use crate::checker::{Checker, STATUS_NAMES};
use crate::gen_json::valid_object;
use crate::gen_text::normal_text;
use crate::null_args::null_cases;
use crate::rng::Rng;
use crate::support::bytes_of;

pub struct TrackerFuzz {
    pub ck: Checker,
    pub rng: Rng,
    pub t: *mut at_tracker,
    /// Stored hits, as the model has it.
    pub count: u64,
    pub last_id: u64,
    pub visitor: Vec<u8>,
    /// Hits deleted through the API (each reported as AT_DROP_DELETED).
    pub deleted: u64,
    /// Completions registered, and whether their call returned AT_OK.
    pub tokens: Vec<(Box<Token>, bool, &'static str)>,
    pub huge_left: u32,
}

impl TrackerFuzz {
    pub fn t_or_null(&mut self) -> *mut at_tracker {
        if self.rng.one_in(64) {
            null_mut()
        } else {
            self.t
        }
    }

    /// A completion (or none) for a call; returns the callback and its user data.
    pub fn completion(&mut self) -> (at_completion_fn, *mut c_void, Option<usize>) {
        if self.rng.one_in(4) {
            let token = Box::<Token>::default();
            let ud = &*token as *const Token as *mut c_void;
            self.tokens.push((token, false, ""));
            (Some(on_done), ud, Some(self.tokens.len() - 1))
        } else {
            (None, if self.rng.one_in(2) { null_mut() } else { 0x1234 as *mut c_void }, None)
        }
    }

    pub fn settle_token(&mut self, idx: Option<usize>, status: at_status, what: &'static str) {
        if let Some(i) = idx {
            self.tokens[i].1 = status == AT_OK;
            self.tokens[i].2 = what;
        }
    }

    pub unsafe fn count_now(&mut self) -> u64 {
        let mut n = u64::MAX;
        let t = self.t;
        self.ck.ok("at_offline_count", &|| "at_offline_count(t, &n)".into(), || at_offline_count(t, &mut n));
        n
    }

    #[track_caller]
    pub unsafe fn check_count(&mut self, desc: &dyn Fn() -> String) {
        let n = self.count_now();
        let model = self.count;
        self.ck.check(
            n == model,
            || format!("at_offline_count is {n}, expected {model} (a rejected call stored something, or an accepted one did not store exactly one hit)"),
            desc,
        );
    }

    /// The newest stored hit must be the one just accepted, verbatim.
    pub unsafe fn check_latest(
        &mut self,
        ty: &[u8],
        body: Option<&[u8]>,
        url: &[u8],
        desc: &dyn Fn() -> String,
    ) {
        let mut hit: *mut at_hit = null_mut();
        let t = self.t;
        self.ck.ok("at_offline_latest", desc, || at_offline_latest(t, &mut hit));
        self.ck.check(!hit.is_null(), || "at_offline_latest gave NULL after an accepted hit".into(), desc);
        let got_type = bytes_of(at_hit_type(hit));
        let got_body = bytes_of(at_hit_body(hit));
        let got_url = bytes_of(at_hit_url(hit));
        let id = at_hit_id(hit);
        let mid = bytes_of(at_hit_message_id(hit)).unwrap_or_default();
        let (offline, retries, created) =
            (at_hit_is_offline(hit), at_hit_retry_count(hit), at_hit_creation_date_ms(hit));
        at_hit_free(hit);
        let last = self.last_id;
        self.ck.check(
            got_type.as_deref() == Some(ty),
            || format!("stored type {:?} is not the one given", got_type.as_deref().map(show_bytes)),
            desc,
        );
        self.ck.check(
            got_body.as_deref() == body,
            || {
                format!(
                    "stored properties {:?} are not the ones given ({:?})",
                    got_body.as_deref().map(show_bytes),
                    body.map(show_bytes)
                )
            },
            desc,
        );
        self.ck.check(
            got_url.as_deref() == Some(url),
            || format!("stored URL {:?}, expected {}", got_url.as_deref().map(show_bytes), show_bytes(url)),
            desc,
        );
        self.ck.check(id > last, || format!("hit id {id} does not grow (last {last})"), desc);
        self.ck.check(mid.len() == 36, || format!("message id {}", show_bytes(&mid)), desc);
        self.ck.check(offline && retries == 0, || "an ALWAYS hit is offline with 0 retries".into(), desc);
        self.ck.check(created > 1_500_000_000_000, || format!("creation date {created}"), desc);
        self.last_id = id;
    }

    unsafe fn op_null_argument(&mut self) {
        let cases = null_cases(self.t);
        let i = self.rng.below(cases.len());
        let (name, f) = &cases[i];
        let desc = || format!("{name} with a NULL pointer argument");
        self.ck.expect(name, &["NULL pointer argument"], &[AT_ERR_NULL_ARGUMENT], &desc, f);
        self.check_count(&desc);
    }

    unsafe fn op_misc(&mut self) {
        let t = self.t;
        match self.rng.below(8) {
            0 => {
                let reachable = self.rng.one_in(2);
                let desc = || format!("at_set_network_reachable(t, {reachable})");
                self.ck.expect("at_set_network_reachable", &["misc: reachability"], &[AT_OK], &desc, || {
                    at_set_network_reachable(t, reachable)
                });
            }
            1 => {
                let token = Box::<Token>::default();
                let ud = &*token as *const Token as *mut c_void;
                let desc = || "at_flush(t, on_dispatch)".to_string();
                self.ck.expect("at_flush", &["misc: flush in ALWAYS"], &[AT_OK], &desc, || {
                    at_flush(t, Some(on_dispatch), ud)
                });
                // Waited for: the flush reads the mode when it runs, and a later
                // step may switch the mode for a moment.
                let deadline = Instant::now() + std::time::Duration::from_secs(20);
                while token.calls.load(SeqCst) == 0 && Instant::now() < deadline {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                let (calls, status) = (token.calls.load(SeqCst), token.status.load(SeqCst));
                self.ck.check(
                    calls == 1 && status == AT_OK && token.sent.load(SeqCst) == 0,
                    || format!("a flush in ALWAYS mode completed {calls} times with status {status}"),
                    &desc,
                );
                self.tokens.push((token, true, "at_flush"));
            }
            2 => {
                let s = self.rng.next() as u32 % 20;
                let s = if self.rng.one_in(2) { s } else { self.rng.next() as u32 };
                let name = CStr::from_ptr(at_status_str(s)).to_str().unwrap().to_owned();
                let expected = match s {
                    AT_OK => "AT_OK".to_string(),
                    1..=AT_ERR_KEY_REJECTED => format!("AT_ERR_{}", STATUS_NAMES[s as usize]),
                    _ => "AT_UNKNOWN_STATUS".into(),
                };
                self.ck.check(name == expected, || format!("at_status_str({s}) = {name}"), &|| {
                    "at_status_str".into()
                });
            }
            3 => {
                let max = self.rng.u32_edge(&[]);
                let ran = at_tracker_poll(t, max);
                self.ck.check(ran == 0, || format!("at_tracker_poll ran {ran} in thread mode"), &|| {
                    "poll".into()
                });
                self.ck.check(at_tracker_poll(null_mut(), max) == 0, || "poll(NULL) != 0".into(), &|| {
                    "poll".into()
                });
            }
            4 => {
                let deadline = self.rng.u32_edge(&[]);
                let desc = || format!("at_app_did_enter_background(t, {deadline}) then foreground");
                self.ck.expect("at_app_did_enter_background", &["misc: background"], &[AT_OK], &desc, || {
                    at_app_did_enter_background(t, deadline, None, null_mut())
                });
                self.ck.ok("at_app_will_enter_foreground", &desc, || at_app_will_enter_foreground(t));
                self.check_count(&desc);
            }
            5 => {
                let mut p: *mut c_char = std::ptr::dangling_mut();
                let desc = || "at_remote_config_json(t, &p)".to_string();
                self.ck.ok("at_remote_config_json", &desc, || at_remote_config_json(t, &mut p));
                self.ck.check(p.is_null(), || "a remote config document without a URL".into(), &desc);
            }
            6 => {
                let desc = || "at_tracker_sync(t)".to_string();
                self.ck.ok("at_tracker_sync", &desc, || at_tracker_sync(t));
            }
            _ => {
                // The value-returning accessors on NULL and out-of-range input.
                let ok = at_hit_list_len(null()) == 0
                    && at_hit_list_get(null(), 0).is_null()
                    && at_hit_url(null()).is_null()
                    && at_hit_type(null()).is_null()
                    && at_hit_id(null()) == 0
                    && at_hit_creation_date_ms(null()) == 0
                    && at_hit_retry_count(null()) == 0
                    && !at_hit_is_offline(null())
                    && at_request_method(null()).is_null()
                    && at_request_url(null()).is_null()
                    && at_request_header_count(null()) == 0
                    && at_request_header_name(null(), 0).is_null()
                    && at_request_header_value(null(), usize::MAX).is_null()
                    && at_request_body(null(), null_mut()).is_null();
                self.ck.check(ok, || "an accessor misbehaved on NULL".into(), &|| "accessors(NULL)".into());
            }
        }
    }

    pub unsafe fn step(&mut self) {
        match self.rng.weighted(&[40, 18, 8, 3, 5, 3, 6, 2, 1, 1, 2, 5]) {
            0 => self.op_track_event(),
            1 => self.op_send_hit(),
            2 => self.op_set_visitor_id(),
            3 => self.op_opt_out(),
            4 => self.op_get_page(),
            5 => self.op_set_offline_mode(),
            6 => self.op_null_argument(),
            7 => self.op_export(),
            8 => self.op_delete(),
            9 => self.op_consistency(),
            10 => self.op_stats(),
            _ => self.op_misc(),
        }
        // Keep the store small: big hits make every later read slower.
        if self.count > 1500 {
            self.op_delete();
        }
    }
}

/// Which of a call's two string arguments are fuzzed: mostly one of them, the
/// other plain (a bad first argument hides what is wrong with the second).
pub fn focus(rng: &mut Rng) -> (bool, bool) {
    match rng.below(5) {
        0 | 1 => (true, false),
        2 | 3 => (false, true),
        _ => (true, true),
    }
}

pub fn plain_type(rng: &mut Rng) -> Arg {
    let mut a = Arg::new("type: plain", normal_text(rng), Expect::Ok);
    a.expect = text_oracle(a.eff(), AT_MAX_TYPE_BYTES as usize, false);
    a
}

pub fn plain_props(rng: &mut Rng) -> Arg {
    if rng.one_in(4) {
        Arg::null("props: NULL", Expect::Ok)
    } else {
        Arg::new("props: plain", valid_object(rng), Expect::Ok)
    }
}

/// The kinds a call is tallied under: its fuzzed arguments (or its NULL tracker).
pub fn tally_kinds(t: *mut at_tracker, args: &[(bool, &'static str)]) -> Vec<&'static str> {
    if t.is_null() {
        return vec!["tracker: NULL"];
    }
    args.iter().filter(|(fuzzed, _)| *fuzzed).map(|(_, k)| *k).collect()
}

/// A URL hit's type is tallied apart from an event's: it may be empty or NULL.
pub fn hit_type_kind(kind: &'static str) -> &'static str {
    match kind {
        "type: normal" => "hit type: normal",
        "type: empty" => "hit type: empty",
        "type: exactly 256 bytes" => "hit type: exactly 256 bytes",
        "type: 255 bytes" => "hit type: 255 bytes",
        "type: over 256 bytes" => "hit type: over 256 bytes",
        "type: control character" => "hit type: control character",
        "type: invalid UTF-8" => "hit type: invalid UTF-8",
        "type: NUL inside" => "hit type: NUL inside",
        "type: random bytes" => "hit type: random bytes",
        "type: NULL" => "hit type: NULL",
        other => other,
    }
}
