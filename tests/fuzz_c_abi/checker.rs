//! The oracle every call goes through (status and `at_last_error()`), and the tallies.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::ptr::{null, null_mut};
use std::time::Instant;

use attracker::ffi::*;

use crate::arg::Expect;
use crate::rng::fuzz_iterations;

pub const STATUS_NAMES: [&str; 11] = [
    "OK",
    "NULL_ARGUMENT",
    "INVALID_ARGUMENT",
    "TOO_LARGE",
    "SUPPRESSED",
    "STORAGE",
    "NETWORK",
    "CANCELLED",
    "CLOSED",
    "INTERNAL",
    "KEY_REJECTED",
];

pub fn last_error() -> Vec<u8> {
    let p = at_last_error();
    assert!(!p.is_null(), "at_last_error() returned NULL");
    unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()
}

/// Runs calls, checks what every call must satisfy, and keeps the tally.
pub struct Checker {
    seed: u64,
    test: &'static str,
    pub step: usize,
    pub calls: u64,
    /// Per input kind: how many calls returned each status.
    tally: BTreeMap<&'static str, [u64; 10]>,
    started: Instant,
}

impl Checker {
    pub fn new(test: &'static str, seed: u64) -> Checker {
        Checker { seed, test, step: 0, calls: 0, tally: BTreeMap::new(), started: Instant::now() }
    }

    #[track_caller]
    fn fail(&self, what: &str, call: &str) -> ! {
        panic!(
            "{test}: {what}\n  call: {call}\n  seed {seed:#x}, step {step}; replay with \
             ATTRACKER_FUZZ_SEED={seed:#x} ATTRACKER_FUZZ_ITERATIONS={n} \
             cargo test --test fuzz_c_abi {test} -- --nocapture",
            test = self.test,
            seed = self.seed,
            step = self.step,
            n = fuzz_iterations(),
        )
    }

    /// Calls `f` (named `name`) with a sentinel error planted first, then checks
    /// the universal properties of its status and `at_last_error()`.
    #[track_caller]
    fn call(&mut self, name: &str, desc: &dyn Fn() -> String, f: impl FnOnce() -> at_status) -> at_status {
        // A failing call of another function: a stale message is then visible.
        let planted = unsafe {
            if name == "at_tracker_new" {
                at_tracker_sync(null_mut())
            } else {
                at_tracker_new(null(), null_mut())
            }
        };
        assert_eq!(planted, AT_ERR_NULL_ARGUMENT);
        let sentinel = last_error();
        let status = f();
        self.calls += 1;
        let err = last_error();
        let show_err = String::from_utf8_lossy(&err).into_owned();
        if status > AT_ERR_INTERNAL {
            self.fail(&format!("{name} returned {status}, which is not an at_status"), &desc());
        }
        if status == AT_ERR_INTERNAL {
            self.fail(&format!("{name} returned AT_ERR_INTERNAL (a panic?): {show_err}"), &desc());
        }
        if status == AT_ERR_CANCELLED {
            self.fail(&format!("{name} returned AT_ERR_CANCELLED, which is for callbacks only"), &desc());
        }
        if status == AT_OK && err != sentinel {
            self.fail(&format!("{name} succeeded but changed at_last_error() to {show_err:?}"), &desc());
        }
        if status != AT_OK && (err.is_empty() || err == sentinel) {
            self.fail(
                &format!(
                    "{name} failed with {} but left at_last_error() {}",
                    STATUS_NAMES[status as usize],
                    if err.is_empty() { "empty".to_string() } else { format!("stale ({show_err:?})") }
                ),
                &desc(),
            );
        }
        status
    }

    /// `call`, then the status must be one of `allowed`; tallied under `kinds`.
    #[track_caller]
    pub fn expect(
        &mut self,
        name: &str,
        kinds: &[&'static str],
        allowed: &[at_status],
        desc: &dyn Fn() -> String,
        f: impl FnOnce() -> at_status,
    ) -> at_status {
        let status = self.call(name, desc, f);
        if !allowed.contains(&status) {
            let allowed: Vec<&str> = allowed.iter().map(|&s| STATUS_NAMES[s as usize]).collect();
            let err = String::from_utf8_lossy(&last_error()).into_owned();
            self.fail(
                &format!(
                    "{name} returned {} (\"{err}\"); expected one of {allowed:?}",
                    STATUS_NAMES[status as usize]
                ),
                &desc(),
            );
        }
        for k in kinds {
            self.tally.entry(k).or_default()[status as usize] += 1;
        }
        status
    }

    #[track_caller]
    pub fn ok(&mut self, name: &str, desc: &dyn Fn() -> String, f: impl FnOnce() -> at_status) {
        self.expect(name, &[], &[AT_OK], desc, f);
    }

    #[track_caller]
    pub fn check(&self, cond: bool, what: impl FnOnce() -> String, desc: &dyn Fn() -> String) {
        if !cond {
            self.fail(&what(), &desc());
        }
    }

    pub fn report(&self) {
        println!(
            "{}: seed {:#x}, {} calls in {:.1?}",
            self.test,
            self.seed,
            self.calls,
            self.started.elapsed()
        );
        println!("  {:<44} {:>7} {:>8} {:>8}  rejections", "input kind", "ran", "accepted", "rejected");
        for (kind, counts) in &self.tally {
            let ran: u64 = counts.iter().sum();
            let why: Vec<String> = (1..10)
                .filter(|&s| counts[s] > 0)
                .map(|s| format!("{}={}", STATUS_NAMES[s], counts[s]))
                .collect();
            println!("  {:<44} {:>7} {:>8} {:>8}  {}", kind, ran, counts[0], ran - counts[0], why.join(" "));
        }
    }
}

/// The outcome of a track call from the verdicts on its parts and its size.
pub fn track_outcome(parts: &[Expect], size: usize, max: usize) -> Vec<at_status> {
    let bad = parts.contains(&Expect::Invalid);
    let maybe_bad = parts.contains(&Expect::Any);
    let mut allowed = Vec::new();
    if bad || maybe_bad {
        allowed.push(AT_ERR_INVALID_ARGUMENT);
    }
    if size > max {
        allowed.push(AT_ERR_TOO_LARGE);
    } else if !bad {
        allowed.push(AT_OK);
    }
    allowed
}
