//! The config fuzzer: random runs of setters on a config, with a model of what it
//! should hold.

use std::ffi::c_void;
use std::ptr::null_mut;

use attracker::ffi::*;

use crate::arg::{Arg, Expect};
use crate::callbacks::{on_drop, on_log, on_remote_config, Sink};
use crate::checker::Checker;
use crate::gen_url::gen_url;
use crate::rng::Rng;
use crate::support::{cstr, path_bytes, TempDir, ENDPOINT};

/// What the config should hold after the calls that succeeded.
pub struct CfgModel {
    pub path: Vec<u8>,
    pub endpoint: Vec<u8>,
    pub remote_url: Option<Vec<u8>>,
    pub api_key: Option<Vec<u8>>,
    pub auth: u32,
    pub gzip: bool,
    pub offline_mode: u32,
    pub durability: u32,
    pub max_event_bytes: u32,
    pub opt_out: u32,
    pub callbacks: u32,
    pub log: Option<u32>,
    pub consent: u32,
}

pub struct ConfigFuzz {
    pub ck: Checker,
    pub rng: Rng,
    pub dir: TempDir,
    pub configs: u64,
    pub huge_left: u32,
}

/// An enum setter: its name, the number of valid values, and the call.
type EnumSetter = (&'static str, u32, unsafe extern "C" fn(*mut at_config, u32) -> at_status);
/// A u32 setter: its name, the valid range, and the call.
type U32Setter =
    (&'static str, std::ops::RangeInclusive<u32>, unsafe extern "C" fn(*mut at_config, u32) -> at_status);

pub const ENUM_SETTERS: &[EnumSetter] = &[
    ("at_config_set_offline_mode", 3, at_config_set_offline_mode),
    ("at_config_set_durability", 2, at_config_set_durability),
    ("at_config_set_synchronous", 2, at_config_set_synchronous),
    ("at_config_set_auth_scheme", 2, at_config_set_auth_scheme),
    ("at_config_set_callback_mode", 2, at_config_set_callback_mode),
    ("at_config_set_opt_out_policy", 2, at_config_set_opt_out_policy),
    ("at_config_set_initial_consent", 3, at_config_set_initial_consent),
];

pub const U32_SETTERS: &[U32Setter] = &[
    ("at_config_set_flush_interval_ms", 0..=u32::MAX, at_config_set_flush_interval_ms),
    ("at_config_set_flush_threshold", 0..=u32::MAX, at_config_set_flush_threshold),
    ("at_config_set_max_queue_size", 1..=u32::MAX, at_config_set_max_queue_size),
    ("at_config_set_max_event_bytes", 256..=524_288, at_config_set_max_event_bytes),
    ("at_config_set_max_attempts", 0..=u32::MAX, at_config_set_max_attempts),
    ("at_config_set_max_batch_events", 1..=10_000, at_config_set_max_batch_events),
    ("at_config_set_max_batch_bytes", 1024..=16_777_216, at_config_set_max_batch_bytes),
    ("at_config_set_commit_window_ms", 0..=1000, at_config_set_commit_window_ms),
    ("at_config_set_busy_timeout_ms", 0..=60_000, at_config_set_busy_timeout_ms),
    ("at_config_set_remote_config_interval_ms", 100..=u32::MAX, at_config_set_remote_config_interval_ms),
];

impl ConfigFuzz {
    fn cfg_or_null(&mut self, cfg: *mut at_config) -> *mut at_config {
        if self.rng.one_in(25) {
            null_mut()
        } else {
            cfg
        }
    }

    fn allowed(cfg: *mut at_config, null_arg: bool, expect: Expect) -> Vec<at_status> {
        if cfg.is_null() || null_arg {
            return vec![AT_ERR_NULL_ARGUMENT];
        }
        match expect {
            Expect::Ok => vec![AT_OK],
            Expect::Invalid => vec![AT_ERR_INVALID_ARGUMENT],
            Expect::Any => vec![AT_OK, AT_ERR_INVALID_ARGUMENT],
        }
    }

    /// One random setter call on `cfg`, the model updated when it succeeds.
    unsafe fn fuzz_setter(&mut self, cfg0: *mut at_config, m: &mut CfgModel, sink: &Sink) {
        let cfg = self.cfg_or_null(cfg0);
        match self.rng.weighted(&[6, 10, 8, 6, 12, 16, 3, 3, 5, 3, 2]) {
            0 => {
                let p = self.gen_path();
                let desc = || format!("at_config_set_storage_path(cfg={cfg:?}, {})", p.show());
                let allowed = Self::allowed(cfg, p.is_null(), p.expect);
                let st = self.ck.expect("at_config_set_storage_path", &[p.kind], &allowed, &desc, || {
                    at_config_set_storage_path(cfg, p.ptr())
                });
                if st == AT_OK {
                    m.path = p.eff().to_vec();
                }
            }
            1 => {
                let mut u = if self.rng.one_in(20) {
                    Arg::null("endpoint: NULL", Expect::Invalid)
                } else {
                    gen_url(&mut self.rng, true, &mut self.huge_left)
                };
                if u.expect == Expect::Ok && u.eff().iter().any(|&b| b == b'?' || b == b'#') {
                    u.expect = Expect::Invalid; // a base URL: no query or fragment
                    u.kind = "endpoint: query or fragment";
                }
                let desc = || format!("at_config_set_endpoint(cfg={cfg:?}, {})", u.show());
                let allowed = Self::allowed(cfg, u.is_null(), u.expect);
                let kind = endpoint_kind(u.kind);
                let st = self.ck.expect("at_config_set_endpoint", &[kind], &allowed, &desc, || {
                    at_config_set_endpoint(cfg, u.ptr())
                });
                if st == AT_OK {
                    let mut e = u.eff().to_vec();
                    while e.last() == Some(&b'/') {
                        e.pop();
                    }
                    m.endpoint = e;
                }
            }
            2 => {
                let u = if self.rng.one_in(8) {
                    Arg::null("remote config url: NULL (off)", Expect::Ok)
                } else {
                    gen_url(&mut self.rng, true, &mut self.huge_left)
                };
                let desc = || format!("at_config_set_remote_config_url(cfg={cfg:?}, {})", u.show());
                // NULL is allowed here: it turns remote configuration off.
                let allowed = Self::allowed(cfg, false, u.expect);
                let kind = remote_kind(u.kind);
                let st = self.ck.expect("at_config_set_remote_config_url", &[kind], &allowed, &desc, || {
                    at_config_set_remote_config_url(cfg, u.ptr())
                });
                if st == AT_OK {
                    m.remote_url = (!u.is_null()).then(|| u.eff().to_vec());
                }
            }
            3 => {
                let k = self.gen_api_key();
                let desc = || format!("at_config_set_api_key(cfg={cfg:?}, {})", k.show());
                let allowed = Self::allowed(cfg, k.is_null(), k.expect);
                let st = self.ck.expect("at_config_set_api_key", &[k.kind], &allowed, &desc, || {
                    at_config_set_api_key(cfg, k.ptr())
                });
                if st == AT_OK {
                    m.api_key = (!k.eff().is_empty()).then(|| k.eff().to_vec());
                }
            }
            4 => {
                let (name, n, f) = self.rng.pick(ENUM_SETTERS);
                let v = self.rng.u32_edge(&[n]);
                let desc = || format!("{name}(cfg={cfg:?}, {v})");
                let e = if v < n { Expect::Ok } else { Expect::Invalid };
                let kind = if v < n { "enum setter: valid value" } else { "enum setter: out of range" };
                let st = self.ck.expect(name, &[kind], &Self::allowed(cfg, false, e), &desc, || f(cfg, v));
                if st == AT_OK {
                    match name {
                        "at_config_set_offline_mode" => m.offline_mode = v,
                        "at_config_set_durability" => m.durability = v,
                        "at_config_set_auth_scheme" => m.auth = v,
                        "at_config_set_opt_out_policy" => m.opt_out = v,
                        "at_config_set_callback_mode" => m.callbacks = v,
                        "at_config_set_initial_consent" => m.consent = v,
                        _ => {}
                    }
                }
            }
            5 => {
                let (name, range, f) = &U32_SETTERS[self.rng.below(U32_SETTERS.len())];
                let (name, f) = (*name, *f);
                let v = self.rng.u32_edge(&[*range.start(), *range.end()]);
                let desc = || format!("{name}(cfg={cfg:?}, {v})");
                let ok = range.contains(&v);
                let kind = if ok { "u32 setter: in range" } else { "u32 setter: out of range" };
                let e = if ok { Expect::Ok } else { Expect::Invalid };
                let st = self.ck.expect(name, &[kind], &Self::allowed(cfg, false, e), &desc, || f(cfg, v));
                if st == AT_OK && name == "at_config_set_max_event_bytes" {
                    m.max_event_bytes = v;
                }
            }
            6 => {
                let v = self.rng.u64_edge(&[65_536]);
                let desc = || format!("at_config_set_max_store_bytes(cfg={cfg:?}, {v})");
                let e = if v >= 65_536 { Expect::Ok } else { Expect::Invalid };
                let kind = if v >= 65_536 { "u64 setter: in range" } else { "u64 setter: out of range" };
                self.ck.expect(
                    "at_config_set_max_store_bytes",
                    &[kind],
                    &Self::allowed(cfg, false, e),
                    &desc,
                    || at_config_set_max_store_bytes(cfg, v),
                );
            }
            7 => {
                let (c, r) = (self.rng.u32_edge(&[1, 300_000]), self.rng.u32_edge(&[1, 300_000]));
                let ok = (1..=300_000).contains(&c) && (1..=300_000).contains(&r);
                let desc = || format!("at_config_set_timeouts_ms(cfg={cfg:?}, {c}, {r})");
                let kind = if ok { "timeouts: in range" } else { "timeouts: out of range" };
                let e = if ok { Expect::Ok } else { Expect::Invalid };
                self.ck.expect(
                    "at_config_set_timeouts_ms",
                    &[kind],
                    &Self::allowed(cfg, false, e),
                    &desc,
                    || at_config_set_timeouts_ms(cfg, c, r),
                );
            }
            8 => {
                let b = self.rng.one_in(2);
                let which = self.rng.below(3);
                let desc = || format!("bool setter #{which}(cfg={cfg:?}, {b})");
                let (name, f): (&str, unsafe extern "C" fn(*mut at_config, bool) -> at_status) = match which {
                    0 => ("at_config_set_gzip", at_config_set_gzip),
                    1 => ("at_config_set_track_lifecycle_events", at_config_set_track_lifecycle_events),
                    _ => ("at_config_set_flush_on_background", at_config_set_flush_on_background),
                };
                let st = self.ck.expect(
                    name,
                    &["bool setter"],
                    &Self::allowed(cfg, false, Expect::Ok),
                    &desc,
                    || f(cfg, b),
                );
                if st == AT_OK && which == 0 {
                    m.gzip = b;
                }
            }
            9 => {
                let h = self.gen_host();
                let desc = || format!("at_config_add_allowed_endpoint_host(cfg={cfg:?}, {})", h.show());
                let allowed = Self::allowed(cfg, h.is_null(), h.expect);
                self.ck.expect("at_config_add_allowed_endpoint_host", &[h.kind], &allowed, &desc, || {
                    at_config_add_allowed_endpoint_host(cfg, h.ptr())
                });
            }
            _ => {
                let ud = sink as *const Sink as *mut c_void;
                let some = !self.rng.one_in(4);
                match self.rng.below(4) {
                    0 => {
                        let min = self.rng.u32_edge(&[AT_LOG_DEBUG]);
                        let e = match (min <= AT_LOG_DEBUG, some) {
                            (true, _) => Expect::Ok,
                            (false, true) => Expect::Invalid,
                            (false, false) => Expect::Any, // removing it: the level does not matter
                        };
                        let desc =
                            || format!("at_config_set_log_callback(cfg={cfg:?}, fn={some}, min={min})");
                        let kind = if min <= AT_LOG_DEBUG {
                            "log callback: valid level"
                        } else {
                            "log callback: level out of range"
                        };
                        let st = self.ck.expect(
                            "at_config_set_log_callback",
                            &[kind],
                            &Self::allowed(cfg, false, e),
                            &desc,
                            || {
                                at_config_set_log_callback(
                                    cfg,
                                    if some { Some(on_log) } else { None },
                                    ud,
                                    min,
                                )
                            },
                        );
                        if st == AT_OK {
                            m.log = some.then_some(min);
                        }
                    }
                    1 => {
                        let desc = || format!("at_config_set_drop_callback(cfg={cfg:?}, fn={some})");
                        self.ck.expect(
                            "at_config_set_drop_callback",
                            &["callback setter"],
                            &Self::allowed(cfg, false, Expect::Ok),
                            &desc,
                            || at_config_set_drop_callback(cfg, if some { Some(on_drop) } else { None }, ud),
                        );
                    }
                    2 => {
                        let desc = || format!("at_config_set_remote_config_callback(cfg={cfg:?}, fn={some})");
                        self.ck.expect(
                            "at_config_set_remote_config_callback",
                            &["callback setter"],
                            &Self::allowed(cfg, false, Expect::Ok),
                            &desc,
                            || {
                                at_config_set_remote_config_callback(
                                    cfg,
                                    if some { Some(on_remote_config) } else { None },
                                    ud,
                                )
                            },
                        );
                    }
                    _ => {
                        // NULL restores libcurl (a host transport is not fuzzed here).
                        let desc = || format!("at_config_set_transport(cfg={cfg:?}, NULL)");
                        self.ck.expect(
                            "at_config_set_transport",
                            &["callback setter"],
                            &Self::allowed(cfg, false, Expect::Ok),
                            &desc,
                            || at_config_set_transport(cfg, None, ud),
                        );
                    }
                }
            }
        }
    }

    pub unsafe fn one_config(&mut self, sink: &Sink) {
        self.configs += 1;
        let cfg = at_config_new();
        assert!(!cfg.is_null(), "at_config_new");
        let path = [path_bytes(self.dir.path()), format!("/c{}.db", self.configs).into_bytes()].concat();
        let mut m = CfgModel {
            path: path.clone(),
            endpoint: ENDPOINT.as_bytes().to_vec(),
            remote_url: None,
            api_key: None,
            auth: AT_AUTH_BEARER,
            gzip: false,
            offline_mode: AT_OFFLINE_REQUIRED,
            durability: AT_DURABILITY_ON_RETURN,
            max_event_bytes: 32_768,
            opt_out: AT_OPT_OUT_KEEP,
            callbacks: AT_CALLBACKS_THREAD,
            log: None,
            consent: AT_CONSENT_GRANTED,
        };
        let (p, e) = ([path, vec![0]].concat(), cstr(ENDPOINT));
        self.ck.ok("at_config_set_storage_path", &|| "setup".into(), || {
            at_config_set_storage_path(cfg, p.as_ptr().cast())
        });
        self.ck.ok("at_config_set_endpoint", &|| "setup".into(), || {
            at_config_set_endpoint(cfg, e.as_ptr().cast())
        });
        let n = self.rng.range(1, 40);
        for _ in 0..n {
            self.ck.step += 1;
            self.fuzz_setter(cfg, &mut m, sink);
        }
        self.check_usable(cfg, &mut m, sink);
        at_config_free(cfg);
    }
}

/// Tally kinds of URLs by where they went.
fn endpoint_kind(kind: &'static str) -> &'static str {
    match kind {
        "url: valid" => "endpoint: valid",
        "url: very long" => "endpoint: very long",
        "url: 10 MB" => "endpoint: 10 MB",
        "url: other scheme or not absolute" => "endpoint: other scheme",
        "url: no host" => "endpoint: no host",
        "url: bad port" => "endpoint: bad port",
        "url: odd port" => "endpoint: odd port",
        "url: whitespace" => "endpoint: whitespace",
        "url: control character" => "endpoint: control character",
        "url: invalid UTF-8" => "endpoint: invalid UTF-8",
        "url: NUL inside" => "endpoint: NUL inside",
        "url: random bytes" | "url: scheme then random bytes" => "endpoint: random bytes",
        "url: odd authority" => "endpoint: odd authority",
        other => other,
    }
}

fn remote_kind(kind: &'static str) -> &'static str {
    match kind {
        "url: valid" => "remote config url: valid",
        "url: very long" => "remote config url: very long",
        "url: 10 MB" => "remote config url: 10 MB",
        "url: other scheme or not absolute" => "remote config url: other scheme",
        "url: no host" => "remote config url: no host",
        "url: bad port" => "remote config url: bad port",
        "url: odd port" => "remote config url: odd port",
        "url: whitespace" => "remote config url: whitespace",
        "url: control character" => "remote config url: control character",
        "url: invalid UTF-8" => "remote config url: invalid UTF-8",
        "url: NUL inside" => "remote config url: NUL inside",
        "url: random bytes" | "url: scheme then random bytes" => "remote config url: random bytes",
        "url: odd authority" => "remote config url: odd authority",
        other => other,
    }
}
