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

use std::collections::BTreeMap;
use std::ffi::{c_char, c_void, CStr};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use attracker::ffi::*;

// --- configuration of the run -----------------------------------------------

const DEFAULT_ITERATIONS: usize = 20_000;

/// The run's seed: `ATTRACKER_FUZZ_SEED`, else drawn from the clock (and
/// printed, so a failure can be replayed).
fn fuzz_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| match std::env::var("ATTRACKER_FUZZ_SEED") {
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse::<u64>(),
            };
            parsed.unwrap_or_else(|_| panic!("ATTRACKER_FUZZ_SEED={s:?} is not a u64"))
        }
        Err(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            Rng(nanos ^ (u64::from(std::process::id()) << 32)).next()
        }
    })
}

fn fuzz_iterations() -> usize {
    match std::env::var("ATTRACKER_FUZZ_ITERATIONS") {
        Ok(s) => {
            s.trim().parse().unwrap_or_else(|_| panic!("ATTRACKER_FUZZ_ITERATIONS={s:?} is not a count"))
        }
        Err(_) => DEFAULT_ITERATIONS,
    }
}

// --- deterministic generator --------------------------------------------------

/// splitmix64: tiny, fast, and every seed (0 included) gives a good stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Inclusive.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    fn weighted(&mut self, weights: &[usize]) -> usize {
        let mut r = self.below(weights.iter().sum());
        for (i, &w) in weights.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        unreachable!()
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// A u32 near the interesting points: the extremes and each bound ±1.
    fn u32_edge(&mut self, bounds: &[u32]) -> u32 {
        const FIXED: [u32; 8] = [0, 1, 2, 3, 4, u32::MAX, u32::MAX - 1, 1 << 31];
        match self.below(4) {
            0 => self.pick(&FIXED),
            1 if !bounds.is_empty() => {
                let b = self.pick(bounds);
                match self.below(3) {
                    0 => b.wrapping_sub(1),
                    1 => b,
                    _ => b.wrapping_add(1),
                }
            }
            2 => self.next() as u32 % 1_000_000,
            _ => self.next() as u32,
        }
    }
    fn u64_edge(&mut self, bounds: &[u64]) -> u64 {
        const FIXED: [u64; 8] = [0, 1, 2, u64::MAX, u64::MAX - 1, 1 << 63, i64::MAX as u64, u32::MAX as u64];
        match self.below(4) {
            0 => self.pick(&FIXED),
            1 if !bounds.is_empty() => {
                let b = self.pick(bounds);
                match self.below(3) {
                    0 => b.wrapping_sub(1),
                    1 => b,
                    _ => b.wrapping_add(1),
                }
            }
            2 => self.next() % 10_000_000,
            _ => self.next(),
        }
    }
}

// --- C string arguments ------------------------------------------------------

/// What the header says about an input: accepted, rejected, or not said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Ok,
    Invalid,
    Any,
}

/// One `const char *` argument: arbitrary bytes plus the terminating NUL (or a
/// NULL pointer), the kind of input it is, and what the header says of it.
struct Arg {
    c: Option<Vec<u8>>,
    kind: &'static str,
    expect: Expect,
}

impl Arg {
    fn new(kind: &'static str, mut bytes: Vec<u8>, expect: Expect) -> Arg {
        bytes.push(0);
        Arg { c: Some(bytes), kind, expect }
    }
    fn null(kind: &'static str, expect: Expect) -> Arg {
        Arg { c: None, kind, expect }
    }
    fn ptr(&self) -> *const c_char {
        self.c.as_ref().map_or(null(), |v| v.as_ptr().cast())
    }
    fn is_null(&self) -> bool {
        self.c.is_none()
    }
    /// What the library sees: the bytes up to the first NUL.
    fn eff(&self) -> &[u8] {
        match &self.c {
            Some(v) => &v[..v.iter().position(|&b| b == 0).unwrap()],
            None => b"",
        }
    }
    fn show(&self) -> String {
        match &self.c {
            None => "NULL".into(),
            Some(v) => show_bytes(&v[..v.len() - 1]),
        }
    }
}

fn show_bytes(b: &[u8]) -> String {
    const MAX: usize = 160;
    let shown: String = b[..b.len().min(MAX)].escape_ascii().to_string();
    if b.len() > MAX {
        format!("\"{shown}\"… ({} bytes)", b.len())
    } else {
        format!("\"{shown}\"")
    }
}

fn insert_at(rng: &mut Rng, mut base: Vec<u8>, what: &[u8]) -> Vec<u8> {
    let at = rng.range(0, base.len());
    base.splice(at..at, what.iter().copied());
    base
}

/// The documented rule for event types and visitor ids: UTF-8, 1..=`max`
/// bytes (0 allowed with `allow_empty`), no control characters.
fn text_oracle(eff: &[u8], max: usize, allow_empty: bool) -> Expect {
    match std::str::from_utf8(eff) {
        Err(_) => Expect::Invalid,
        Ok(s) if (s.is_empty() && !allow_empty) || s.len() > max || s.chars().any(char::is_control) => {
            Expect::Invalid
        }
        Ok(_) => Expect::Ok,
    }
}

const CONTROLS: &[&[u8]] =
    &[b"\t", b"\n", b"\r", b"\x01", b"\x1b", b"\x7f", "\u{85}".as_bytes(), "\u{9f}".as_bytes()];
const BAD_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xc0\x80",         // overlong NUL
    b"\xed\xa0\x80",     // a UTF-16 surrogate
    b"\xe2\x82",         // truncated sequence
    b"\x80",             // lone continuation byte
    b"\xf4\x90\x80\x80", // beyond U+10FFFF
    b"\xfe\xfe",
];
const NORMAL_TYPES: &[&str] = &[
    "screen_view",
    "Application Opened",
    "achat.confirmé",
    "事件",
    "🎉 launch",
    "a",
    "x-y_z.0",
    "Order Completed v2",
];

fn printable_ascii(rng: &mut Rng, lo: usize, hi: usize) -> Vec<u8> {
    let n = rng.range(lo, hi);
    (0..n).map(|_| b' ' + rng.below(95) as u8).collect()
}

fn normal_text(rng: &mut Rng) -> Vec<u8> {
    if rng.one_in(3) {
        printable_ascii(rng, 1, 40)
    } else {
        rng.pick(NORMAL_TYPES).as_bytes().to_vec()
    }
}

/// Exactly `n` bytes of valid UTF-8 mixing 1-, 2-, 3- and 4-byte characters.
fn utf8_of_len(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let c = rng.pick(&["a", "é", "字", "😀", "Z", "_"]);
        if out.len() + c.len() <= n {
            out.extend_from_slice(c.as_bytes());
        } else {
            out.push(b'a');
        }
    }
    out
}

/// An event type (or, with `allow_empty`, a URL hit's optional type).
fn gen_type(rng: &mut Rng, allow_empty: bool) -> Arg {
    let (kind, bytes): (&'static str, Option<Vec<u8>>) =
        match rng.weighted(&[30, 4, 6, 4, 8, 10, 10, 8, 6, 3]) {
            0 => ("type: normal", Some(normal_text(rng))),
            1 => ("type: empty", Some(Vec::new())),
            2 => ("type: exactly 256 bytes", Some(utf8_of_len(rng, 256))),
            3 => ("type: 255 bytes", Some(utf8_of_len(rng, 255))),
            4 => {
                let n = if rng.one_in(20) { 300_000 } else { rng.range(257, 3000) };
                ("type: over 256 bytes", Some(utf8_of_len(rng, n)))
            }
            5 => {
                let c = rng.pick(CONTROLS);
                (
                    "type: control character",
                    Some({
                        let base = normal_text(rng);
                        insert_at(rng, base, c)
                    }),
                )
            }
            6 => {
                let b = rng.pick(BAD_UTF8);
                (
                    "type: invalid UTF-8",
                    Some({
                        let base = normal_text(rng);
                        insert_at(rng, base, b)
                    }),
                )
            }
            7 => {
                let mut v = {
                    let base = normal_text(rng);
                    insert_at(rng, base, b"\0")
                };
                let junk = rng.range(0, 20);
                v.extend(rng.bytes(junk));
                ("type: NUL inside", Some(v))
            }
            8 => {
                let n = rng.range(0, 300);
                ("type: random bytes", Some(rng.bytes(n)))
            }
            _ => ("type: NULL", None),
        };
    match bytes {
        None => Arg::null(kind, if allow_empty { Expect::Ok } else { Expect::Invalid }),
        Some(b) => {
            let mut a = Arg::new(kind, b, Expect::Any);
            a.expect = text_oracle(a.eff(), AT_MAX_TYPE_BYTES as usize, allow_empty);
            a
        }
    }
}

fn gen_visitor_id(rng: &mut Rng) -> Arg {
    let (kind, bytes): (&'static str, Option<Vec<u8>>) = match rng.weighted(&[30, 5, 6, 8, 8, 8, 6, 6, 4]) {
        0 => ("visitor id: normal", Some(normal_text(rng))),
        1 => ("visitor id: empty", Some(Vec::new())),
        2 => ("visitor id: exactly 128 bytes", Some(utf8_of_len(rng, 128))),
        3 => {
            let n = rng.range(129, 2000);
            ("visitor id: over 128 bytes", Some(utf8_of_len(rng, n)))
        }
        4 => {
            let c = rng.pick(CONTROLS);
            (
                "visitor id: control character",
                Some({
                    let base = normal_text(rng);
                    insert_at(rng, base, c)
                }),
            )
        }
        5 => {
            let b = rng.pick(BAD_UTF8);
            (
                "visitor id: invalid UTF-8",
                Some({
                    let base = normal_text(rng);
                    insert_at(rng, base, b)
                }),
            )
        }
        6 => (
            "visitor id: NUL inside",
            Some({
                let base = normal_text(rng);
                insert_at(rng, base, b"\0junk")
            }),
        ),
        7 => {
            let n = rng.range(0, 200);
            ("visitor id: random bytes", Some(rng.bytes(n)))
        }
        _ => ("visitor id: NULL", None),
    };
    match bytes {
        None => Arg::null(kind, Expect::Invalid),
        Some(b) => {
            let mut a = Arg::new(kind, b, Expect::Any);
            a.expect = text_oracle(a.eff(), 128, false);
            a
        }
    }
}

// --- JSON ---------------------------------------------------------------------

fn ws(rng: &mut Rng, out: &mut Vec<u8>) {
    if rng.one_in(4) {
        out.extend_from_slice(rng.pick(&[&b" "[..], b"\n", b"\t", b"\r\n", b"  "]));
    }
}

fn json_string(rng: &mut Rng, out: &mut Vec<u8>) {
    out.push(b'"');
    for _ in 0..rng.below(12) {
        match rng.below(10) {
            0 => out.extend_from_slice(rng.pick(&[
                &br#"\""#[..],
                br"\\",
                br"\/",
                br"\b",
                br"\f",
                br"\n",
                br"\r",
                br"\t",
                br"\u00e9",
                br"\u0000",
                br"\ud83d\ude00",
            ])),
            1 => out.extend_from_slice(rng.pick(&["é", "€", "😀", "字"]).as_bytes()),
            // Brackets inside strings do not count towards the nesting depth.
            2 => out.extend_from_slice(b"[{]}[["),
            _ => out.push(rng.pick(b"abcxyz019 _-.:,")),
        }
    }
    out.push(b'"');
}

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "42",
    "-17",
    "3.25",
    "1e10",
    "-2.5E-3",
    "123456789012345678901234567890",
    "-123456789012345678901234567890.5",
    "1e400",
    "-1e400",
    "1E+999999999",
    "1e-400",
    "0.0000000000000000000000000000000000001",
    "18446744073709551616",
    "-9223372036854775809",
];

fn json_value(rng: &mut Rng, depth: usize, out: &mut Vec<u8>) {
    match rng.below(if depth == 0 { 5 } else { 7 }) {
        0 => out.extend_from_slice(b"null"),
        1 => out.extend_from_slice(b"true"),
        2 => out.extend_from_slice(b"false"),
        3 => out.extend_from_slice(rng.pick(NUMBERS).as_bytes()),
        4 => json_string(rng, out),
        5 => {
            out.push(b'[');
            for i in 0..rng.below(4) {
                if i > 0 {
                    out.push(b',');
                }
                ws(rng, out);
                json_value(rng, depth - 1, out);
                ws(rng, out);
            }
            out.push(b']');
        }
        _ => json_object(rng, depth - 1, out),
    }
}

/// A valid JSON object, with no whitespace after its closing brace.
fn json_object(rng: &mut Rng, depth: usize, out: &mut Vec<u8>) {
    out.push(b'{');
    for i in 0..rng.below(5) {
        if i > 0 {
            out.push(b',');
        }
        ws(rng, out);
        json_string(rng, out);
        ws(rng, out);
        out.push(b':');
        ws(rng, out);
        json_value(rng, depth, out);
        ws(rng, out);
    }
    out.push(b'}');
}

fn valid_object(rng: &mut Rng) -> Vec<u8> {
    let mut v = Vec::new();
    let depth = rng.range(0, 4);
    json_object(rng, depth, &mut v);
    v
}

/// An object nested `depth` containers deep in all (the outer object included).
fn nested(rng: &mut Rng, depth: usize) -> Vec<u8> {
    let mut open = b"{\"d\":".to_vec();
    let mut close = vec![b'}'];
    let arrays_only = depth > 1000;
    for _ in 1..depth {
        if arrays_only || rng.one_in(2) {
            open.push(b'[');
            close.push(b']');
        } else {
            open.extend_from_slice(b"{\"k\":");
            close.push(b'}');
        }
    }
    if depth == 1 || rng.one_in(2) {
        open.extend_from_slice(b"\"[[{{ not counted ]]}}\"");
    } else {
        open.extend_from_slice(b"1");
    }
    close.reverse();
    open.extend_from_slice(&close);
    open
}

/// Properties: `None` stands for a NULL pointer (which means `{}`).
fn gen_props(rng: &mut Rng, huge_left: &mut u32, max_event: usize) -> Arg {
    use Expect::*;
    let pick = rng.weighted(&[20, 8, 6, 3, 5, 4, 5, 5, 6, 3, 3, 4, 3, 6, 2, 6, 3, 3, 3]);
    let (kind, bytes, expect): (&'static str, Vec<u8>, Expect) = match pick {
        0 => ("props: valid object", valid_object(rng), Ok),
        1 => {
            let d = if rng.one_in(2) { rng.range(120, 128) } else { rng.range(1, 128) };
            ("props: nesting 1..=128", nested(rng, d), Ok)
        }
        2 => {
            let d = match rng.below(10) {
                0 => 10_000,
                1 if rng.one_in(4) => 300_000,
                _ => rng.range(129, 140),
            };
            ("props: nesting over 128", nested(rng, d), Invalid)
        }
        3 => {
            let n = rng.pick(NUMBERS);
            let v = format!("{{\"n\":{n},\"m\":[{n}, {n}],\"o\":{{\"x\":{n}}}}}");
            ("props: huge numbers", v.into_bytes(), Ok)
        }
        4 => {
            // Inside a string value, where only UTF-8 validation can catch it.
            let b = rng.pick(BAD_UTF8);
            let v = [&b"{\"bad\":\"x"[..], b, b"y\",\"o\":", &valid_object(rng), b"}"].concat();
            ("props: invalid UTF-8", v, Invalid)
        }
        5 => {
            let v = valid_object(rng);
            let at = rng.range(0, v.len() - 1);
            let mut w = v[..at].to_vec();
            w.push(0);
            w.extend_from_slice(&v[at..]);
            ("props: NUL inside", w, Invalid)
        }
        6 => {
            let v = valid_object(rng);
            let at = rng.range(0, v.len() - 1);
            ("props: truncated", v[..at].to_vec(), Invalid)
        }
        7 => {
            let v = rng.pick(&[
                "[]",
                "[1,2]",
                "42",
                "\"s\"",
                "null",
                "true",
                " [ {} ]",
                "",
                "   ",
                "-1e400",
                "[{\"a\":1}]",
            ]);
            ("props: not an object", v.as_bytes().to_vec(), Invalid)
        }
        8 => {
            let v = rng.pick(&[
                r#"{"a":1,"a":2}"#,
                r#"{"a":{"b":1,"b":[]},"a":null}"#,
                r#"{"":1,"":2,"":3}"#,
                r#"{"k":"v","K":"v","k":"w"}"#,
            ]);
            ("props: duplicate keys", v.as_bytes().to_vec(), Any)
        }
        9 => {
            let v = rng.pick(&[r#"{"a":1} x"#, r#"{"a":1}{}"#, r#"{"a":1},"#, "{}]", "{}}", "{} {}"]);
            ("props: trailing garbage", v.as_bytes().to_vec(), Invalid)
        }
        10 => {
            let v = rng.pick(&[
                "{\"a\":NaN}",
                "{\"a\":Infinity}",
                "{\"a\":1 /* c */}",
                "{'a':1}",
                "{\"a\":1,}",
                "{\"a\":01}",
                "{\"a\":1.}",
                "{\"a\":.5}",
                "{\"a\":-}",
                "{\"a\":+1}",
                "{a:1}",
                "{\"a\" 1}",
                "{\"a\":\"\\x41\"}",
                "{\"a\":\"\\u12\"}",
                "{\"a\":\"unterminated}",
                "{\"a\":tru}",
            ]);
            ("props: not JSON", v.as_bytes().to_vec(), Invalid)
        }
        11 => {
            let c = rng.pick(CONTROLS[..5].as_ref());
            let v = [&b"{\"a\":\"x"[..], c, b"y\"}"].concat();
            ("props: raw control char in string", v, Invalid)
        }
        12 => {
            let v = rng.pick(&[r#"{"a":"\ud800"}"#, r#"{"a":"\udc00x"}"#, "\u{feff}{}", r#"{"a":"\ud83d"}"#]);
            ("props: lone surrogate or BOM", v.as_bytes().to_vec(), Any)
        }
        13 => {
            let huge = *huge_left > 0 && rng.one_in(30);
            let n = if huge {
                *huge_left -= 1;
                rng.pick(&[1 << 20, 5 << 20, 10 << 20])
            } else {
                match rng.below(4) {
                    0 => rng.range(0, 5000),
                    1 => rng.range(60_000, 70_000),
                    // Around the configured limit, type included (up to a few bytes).
                    2 => (max_event - 8).saturating_sub(rng.range(0, 24)),
                    _ => rng.range(100_000, 600_000),
                }
            };
            let mut v = Vec::with_capacity(n + 8);
            v.extend_from_slice(b"{\"s\":\"");
            v.resize(6 + n, b'a');
            v.extend_from_slice(b"\"}");
            (if huge { "props: string of 1 to 10 MB" } else { "props: long string" }, v, Ok)
        }
        14 => {
            let mut v = b"  \n\t".to_vec();
            v.extend(valid_object(rng));
            v.extend_from_slice(b" \r\n\t ");
            ("props: whitespace around", v, Ok)
        }
        15 => {
            let n = rng.range(0, 64);
            let mut v = rng.bytes(n);
            if rng.one_in(2) {
                v.insert(0, b'{');
            }
            ("props: random bytes", v, Any)
        }
        16 => {
            // A valid object with random bytes sprinkled into its strings.
            let mut v = valid_object(rng);
            for _ in 0..rng.range(1, 4) {
                let at = rng.range(1, v.len() - 1);
                v.insert(at, rng.next() as u8);
            }
            ("props: mutated object", v, Any)
        }
        17 => ("props: empty object", b"{}".to_vec(), Ok),
        _ => return Arg::null("props: NULL", Ok),
    };
    Arg::new(kind, bytes, expect)
}

// --- URLs -----------------------------------------------------------------------

const LOOPBACK_HOSTS: &[&str] = &["127.0.0.1", "localhost", "[::1]"];
const OTHER_HOSTS: &[&str] = &[
    "example.com",
    "logs.example.invalid",
    "user:pw@h.example",
    "a-b.c_d.example",
    "bücher.example",
    "xn--bcher-kva.example",
    "10.0.0.1",
];
const SCHEMES: &[&str] = &["http://", "https://", "HTTP://", "HttpS://"];

fn base_url(rng: &mut Rng, loopback_only: bool) -> (Vec<u8>, Expect) {
    let scheme = rng.pick(SCHEMES);
    let host = if loopback_only || rng.one_in(2) { rng.pick(LOOPBACK_HOSTS) } else { rng.pick(OTHER_HOSTS) };
    let port = rng.pick(&["", "", "", ":9", ":1", ":65535", ":8080"]);
    let (path, expect) = match rng.below(12) {
        0..=3 => ("", Expect::Ok),
        4 => ("/", Expect::Ok),
        5 => ("/hit.xiti?s=1&p=home", Expect::Ok),
        6 => ("/a/b/c/", Expect::Ok),
        7 => ("/p%20q", Expect::Ok),
        8 => ("/x?y=1#z", Expect::Ok),
        9 => ("#frag", Expect::Ok),
        10 => ("//", Expect::Ok),
        // Raw non-ASCII in a path: an IRI rather than a URI; the header does not say.
        _ => ("/é", Expect::Any),
    };
    (format!("{scheme}{host}{port}{path}").into_bytes(), expect)
}

/// A URL for `at_send_hit` or a config URL. `loopback_only`: valid URLs only
/// point at this machine.
fn gen_url(rng: &mut Rng, loopback_only: bool, huge_left: &mut u32) -> Arg {
    use Expect::*;
    let (kind, bytes, expect): (&'static str, Vec<u8>, Expect) =
        match rng.weighted(&[25, 6, 8, 8, 8, 3, 7, 7, 7, 6, 5, 4, 3]) {
            0 => {
                let (u, e) = base_url(rng, loopback_only);
                ("url: valid", u, e)
            }
            1 => {
                let scheme = rng.pick(SCHEMES);
                let host = rng.pick(LOOPBACK_HOSTS);
                let huge = *huge_left > 0 && rng.one_in(40);
                let n = if huge {
                    *huge_left -= 1;
                    10 << 20
                } else {
                    rng.pick(&[300, 5000, 70_000, 524_250, 524_288, 600_000])
                };
                let mut u = format!("{scheme}{host}/").into_bytes();
                u.resize(u.len() + n, b'a');
                (if huge { "url: 10 MB" } else { "url: very long" }, u, Ok)
            }
            2 => {
                let u = rng.pick(&[
                    "ftp://h.example/x",
                    "file:///etc/passwd",
                    "javascript:alert(1)",
                    "mailto:a@b.example",
                    "ws://127.0.0.1/",
                    "httpx://h",
                    "http:/h",
                    "http:h",
                    "//h/x",
                    "h/x",
                    "",
                    "://h",
                    "http//h",
                    "data:text/plain,x",
                    "HTTP:\\\\h",
                    "https:",
                    "http",
                ]);
                ("url: other scheme or not absolute", u.as_bytes().to_vec(), Invalid)
            }
            3 => {
                let scheme = rng.pick(SCHEMES);
                let rest = rng.pick(&[
                    "", "/", "/x", ":80", ":80/x", "user@", "user@/x", "?q=1", "#f", "[]", "[]:80", "@",
                    "u:p@:8/",
                ]);
                ("url: no host", format!("{scheme}{rest}").into_bytes(), Invalid)
            }
            4 => {
                let scheme = rng.pick(SCHEMES);
                let host = if rng.one_in(2) { rng.pick(LOOPBACK_HOSTS) } else { rng.pick(OTHER_HOSTS) };
                let port = rng.pick(&[
                    ":99999",
                    ":65536",
                    ":-1",
                    ":abc",
                    ":",
                    ":8080:80",
                    ":1e3",
                    ":4294967296",
                    ":0x50",
                    ":８０",
                ]);
                let path = rng.pick(&["", "/", "/x?y"]);
                ("url: bad port", format!("{scheme}{host}{port}{path}").into_bytes(), Invalid)
            }
            5 => {
                let scheme = rng.pick(SCHEMES);
                let host = rng.pick(LOOPBACK_HOSTS);
                let port = rng.pick(&[":0", ":+80", ":00080"]);
                ("url: odd port", format!("{scheme}{host}{port}/").into_bytes(), Any)
            }
            6 => {
                let (u, _) = base_url(rng, loopback_only);
                let w = rng.pick(&[" ", "\u{a0}", "\u{3000}", "\u{2028}", "  "]);
                ("url: whitespace", insert_at(rng, u, w.as_bytes()), Invalid)
            }
            7 => {
                let (u, _) = base_url(rng, loopback_only);
                let c = rng.pick(CONTROLS);
                ("url: control character", insert_at(rng, u, c), Invalid)
            }
            8 => {
                let (u, _) = base_url(rng, loopback_only);
                let b = rng.pick(BAD_UTF8);
                ("url: invalid UTF-8", insert_at(rng, u, b), Invalid)
            }
            9 => {
                let (u, _) = base_url(rng, loopback_only);
                let mut v = insert_at(rng, u, b"\0");
                v.extend_from_slice(b"/after-the-nul");
                ("url: NUL inside", v, Any)
            }
            10 => {
                let n = rng.range(0, 80);
                ("url: random bytes", rng.bytes(n), Any)
            }
            11 => {
                let scheme = rng.pick(SCHEMES);
                let n = rng.range(0, 40);
                let mut v = scheme.as_bytes().to_vec();
                v.extend(rng.bytes(n));
                ("url: scheme then random bytes", v, Any)
            }
            _ => {
                let v = rng.pick(&["http://[::1/x", "http://[::1]x/", "http://a@b@c/", "http://h:80@x/"]);
                ("url: odd authority", v.as_bytes().to_vec(), Any)
            }
        };
    Arg::new(kind, bytes, expect)
}

/// `url` refers to this machine (so a tracker may fetch it during the test).
fn is_loopback_url(url: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(url) else { return false };
    let lower = s.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("http://").or_else(|| lower.strip_prefix("https://")) else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    LOOPBACK_HOSTS.iter().any(|h| {
        authority == *h || authority.strip_prefix(h).is_some_and(|p| p.starts_with(':') && p.len() > 1)
    })
}

// --- the per-call checks ---------------------------------------------------------

const STATUS_NAMES: [&str; 10] = [
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
];

fn last_error() -> Vec<u8> {
    let p = at_last_error();
    assert!(!p.is_null(), "at_last_error() returned NULL");
    unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()
}

/// Runs calls, checks what every call must satisfy, and keeps the tally.
struct Checker {
    seed: u64,
    test: &'static str,
    step: usize,
    calls: u64,
    /// Per input kind: how many calls returned each status.
    tally: BTreeMap<&'static str, [u64; 10]>,
    started: Instant,
}

impl Checker {
    fn new(test: &'static str, seed: u64) -> Checker {
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
    fn expect(
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
    fn ok(&mut self, name: &str, desc: &dyn Fn() -> String, f: impl FnOnce() -> at_status) {
        self.expect(name, &[], &[AT_OK], desc, f);
    }

    #[track_caller]
    fn check(&self, cond: bool, what: impl FnOnce() -> String, desc: &dyn Fn() -> String) {
        if !cond {
            self.fail(&what(), &desc());
        }
    }

    fn report(&self) {
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
fn track_outcome(parts: &[Expect], size: usize, max: usize) -> Vec<at_status> {
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

// --- callbacks --------------------------------------------------------------------

/// One completion: how often it ran and with which status.
#[derive(Default)]
struct Token {
    calls: AtomicU32,
    status: AtomicU32,
    sent: AtomicU64,
}

unsafe extern "C" fn on_done(status: at_status, user_data: *mut c_void) {
    let t = &*(user_data as *const Token);
    t.status.store(status, SeqCst);
    t.calls.fetch_add(1, SeqCst);
}

unsafe extern "C" fn on_dispatch(result: *const at_dispatch_result, user_data: *mut c_void) {
    let t = &*(user_data as *const Token);
    let r = *result;
    t.status.store(r.status, SeqCst);
    t.sent.store(r.sent, SeqCst);
    t.calls.fetch_add(1, SeqCst);
}

/// Drops and log lines of one tracker.
#[derive(Default)]
struct Sink {
    drops: [AtomicU64; 16],
    bad_drop: AtomicU64,
    log_min: AtomicU32,
    bad_log: AtomicU64,
    lines: Mutex<Vec<(u32, String)>>,
}

unsafe extern "C" fn on_drop(
    reason: at_drop_reason,
    ids: *const *const c_char,
    count: usize,
    user_data: *mut c_void,
) {
    let s = &*(user_data as *const Sink);
    if reason as usize >= 9 || (count > 0 && ids.is_null()) {
        s.bad_drop.fetch_add(1, SeqCst);
        return;
    }
    for i in 0..count {
        let id = *ids.add(i);
        if id.is_null() || CStr::from_ptr(id).to_bytes().len() != 36 {
            s.bad_drop.fetch_add(1, SeqCst);
        }
    }
    s.drops[reason as usize].fetch_add(count as u64, SeqCst);
}

unsafe extern "C" fn on_log(level: at_log_level, message: *const c_char, user_data: *mut c_void) {
    let s = &*(user_data as *const Sink);
    if level > s.log_min.load(SeqCst) || message.is_null() {
        s.bad_log.fetch_add(1, SeqCst);
        return;
    }
    let m = CStr::from_ptr(message).to_string_lossy().into_owned();
    s.lines.lock().unwrap().push((level, m));
}

unsafe extern "C" fn on_remote_config(_json: *const c_char, _user_data: *mut c_void) {}

// --- helpers ---------------------------------------------------------------------

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "attracker-fuzz-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

unsafe fn bytes_of(p: *const c_char) -> Option<Vec<u8>> {
    (!p.is_null()).then(|| CStr::from_ptr(p).to_bytes().to_vec())
}

fn path_bytes(p: &Path) -> Vec<u8> {
    p.to_str().expect("temp dir is UTF-8").as_bytes().to_vec()
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const ENDPOINT: &str = "http://127.0.0.1:9";
const MAX_EVENT: u32 = 524_288;

/// The main tracker: nothing is ever sent (ALWAYS, no triggers), every hit is
/// committed on return, nothing overflows.
unsafe fn open_main(db: &Path, sink: &Sink) -> *mut at_tracker {
    let cfg = at_config_new();
    assert!(!cfg.is_null());
    let db = cstr(db.to_str().unwrap());
    let endpoint = cstr(ENDPOINT);
    let ud = sink as *const Sink as *mut c_void;
    for st in [
        at_config_set_storage_path(cfg, db.as_ptr().cast()),
        at_config_set_endpoint(cfg, endpoint.as_ptr().cast()),
        at_config_set_offline_mode(cfg, AT_OFFLINE_ALWAYS),
        at_config_set_durability(cfg, AT_DURABILITY_ON_RETURN),
        at_config_set_flush_threshold(cfg, 0),
        at_config_set_flush_interval_ms(cfg, 0),
        at_config_set_max_queue_size(cfg, u32::MAX),
        at_config_set_max_store_bytes(cfg, u64::MAX),
        at_config_set_max_event_bytes(cfg, MAX_EVENT),
        at_config_set_max_batch_bytes(cfg, 16 * 1024 * 1024),
        at_config_set_max_batch_events(cfg, 10_000),
        at_config_set_track_lifecycle_events(cfg, false),
        at_config_set_drop_callback(cfg, Some(on_drop), ud),
        at_config_set_log_callback(cfg, Some(on_log), ud, AT_LOG_DEBUG),
    ] {
        assert_eq!(st, AT_OK, "{:?}", String::from_utf8_lossy(&last_error()));
    }
    sink.log_min.store(AT_LOG_DEBUG, SeqCst);
    let mut t = null_mut();
    assert_eq!(at_tracker_new(cfg, &mut t), AT_OK, "{:?}", String::from_utf8_lossy(&last_error()));
    assert!(!t.is_null());
    at_config_free(cfg);
    t
}

// --- the tracker fuzzer -------------------------------------------------------------

struct TrackerFuzz {
    ck: Checker,
    rng: Rng,
    t: *mut at_tracker,
    /// Stored hits, as the model has it.
    count: u64,
    last_id: u64,
    visitor: Vec<u8>,
    /// Hits deleted through the API (each reported as AT_DROP_DELETED).
    deleted: u64,
    /// Completions registered, and whether their call returned AT_OK.
    tokens: Vec<(Box<Token>, bool, &'static str)>,
    huge_left: u32,
}

impl TrackerFuzz {
    fn t_or_null(&mut self) -> *mut at_tracker {
        if self.rng.one_in(64) {
            null_mut()
        } else {
            self.t
        }
    }

    /// A completion (or none) for a call; returns the callback and its user data.
    fn completion(&mut self) -> (at_completion_fn, *mut c_void, Option<usize>) {
        if self.rng.one_in(4) {
            let token = Box::<Token>::default();
            let ud = &*token as *const Token as *mut c_void;
            self.tokens.push((token, false, ""));
            (Some(on_done), ud, Some(self.tokens.len() - 1))
        } else {
            (None, if self.rng.one_in(2) { null_mut() } else { 0x1234 as *mut c_void }, None)
        }
    }

    fn settle_token(&mut self, idx: Option<usize>, status: at_status, what: &'static str) {
        if let Some(i) = idx {
            self.tokens[i].1 = status == AT_OK;
            self.tokens[i].2 = what;
        }
    }

    unsafe fn count_now(&mut self) -> u64 {
        let mut n = u64::MAX;
        let t = self.t;
        self.ck.ok("at_offline_count", &|| "at_offline_count(t, &n)".into(), || at_offline_count(t, &mut n));
        n
    }

    #[track_caller]
    unsafe fn check_count(&mut self, desc: &dyn Fn() -> String) {
        let n = self.count_now();
        let model = self.count;
        self.ck.check(
            n == model,
            || format!("at_offline_count is {n}, expected {model} (a rejected call stored something, or an accepted one did not store exactly one hit)"),
            desc,
        );
    }

    /// The newest stored hit must be the one just accepted, verbatim.
    unsafe fn check_latest(&mut self, ty: &[u8], body: Option<&[u8]>, url: &[u8], desc: &dyn Fn() -> String) {
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

    unsafe fn op_track_event(&mut self) {
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

    unsafe fn op_send_hit(&mut self) {
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

    unsafe fn visitor_now(&mut self) -> Vec<u8> {
        let mut p: *mut c_char = null_mut();
        let t = self.t;
        self.ck.ok("at_visitor_id", &|| "at_visitor_id(t, &p)".into(), || at_visitor_id(t, &mut p));
        let v = bytes_of(p).expect("at_visitor_id gave NULL");
        at_string_free(p);
        v
    }

    unsafe fn op_set_visitor_id(&mut self) {
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

    unsafe fn op_opt_out(&mut self) {
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

    unsafe fn op_get_page(&mut self) {
        let last = self.last_id;
        let after = match self.rng.below(8) {
            0 => 0,
            1 => 1,
            2 => last,
            3 => last + 1,
            4 => i64::MAX as u64,
            5 => i64::MAX as u64 + 1,
            6 => u64::MAX,
            _ => self.rng.next() % (last + 2),
        };
        let limit = self.rng.u32_edge(&[1, 100]);
        let t = self.t_or_null();
        let out_null = self.rng.one_in(16);
        let mut list: *mut at_hit_list = null_mut();
        let out: *mut *mut at_hit_list = if out_null { null_mut() } else { &mut list };
        let desc = || format!("at_offline_get_page(t={t:?}, after_id={after}, limit={limit}, out={out:?})");
        let (kind, allowed) = if t.is_null() || out_null {
            (
                "page: NULL argument",
                if limit == 0 {
                    vec![AT_ERR_NULL_ARGUMENT, AT_ERR_INVALID_ARGUMENT]
                } else {
                    vec![AT_ERR_NULL_ARGUMENT]
                },
            )
        } else if limit == 0 {
            ("page: limit 0", vec![AT_ERR_INVALID_ARGUMENT])
        } else if after >= i64::MAX as u64 {
            ("page: cursor past every id", vec![AT_OK])
        } else {
            ("page: valid", vec![AT_OK])
        };
        let st = self.ck.expect("at_offline_get_page", &[kind], &allowed, &desc, || {
            at_offline_get_page(t, after, limit, out)
        });
        if st != AT_OK {
            return;
        }
        let n = at_hit_list_len(list);
        let mut prev = after;
        let mut ok = n <= limit as usize && (n as u64) <= self.count;
        for i in 0..n {
            let h = at_hit_list_get(list, i);
            ok &=
                !h.is_null() && at_hit_id(h) > prev && !at_hit_type(h).is_null() && !at_hit_url(h).is_null();
            prev = at_hit_id(h);
        }
        ok &= at_hit_list_get(list, n).is_null() && at_hit_list_get(list, usize::MAX).is_null();
        if after == 0 && u64::from(limit) >= self.count {
            ok &= n as u64 == self.count;
        }
        if after >= last {
            ok &= n == 0;
        }
        at_hit_list_free(list);
        let count = self.count;
        self.ck.check(
            ok,
            || format!("page of {n} hits is inconsistent (count {count}, last id {last})"),
            &desc,
        );
    }

    unsafe fn op_set_offline_mode(&mut self) {
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

    unsafe fn op_null_argument(&mut self) {
        let cases = null_cases(self.t);
        let i = self.rng.below(cases.len());
        let (name, f) = &cases[i];
        let desc = || format!("{name} with a NULL pointer argument");
        self.ck.expect(name, &["NULL pointer argument"], &[AT_ERR_NULL_ARGUMENT], &desc, f);
        self.check_count(&desc);
    }

    unsafe fn op_export(&mut self) {
        let t = self.t;
        let desc = || "at_offline_export_batch(t, &req)".to_string();
        // What is stored, by message id: (type, is an event).
        let mut list: *mut at_hit_list = null_mut();
        self.ck.ok("at_offline_get", &desc, || at_offline_get(t, &mut list));
        let stored: std::collections::HashMap<Vec<u8>, (Vec<u8>, bool)> = (0..at_hit_list_len(list))
            .map(|i| {
                let h = at_hit_list_get(list, i);
                let mid = bytes_of(at_hit_message_id(h)).unwrap_or_default();
                (mid, (bytes_of(at_hit_type(h)).unwrap_or_default(), !at_hit_body(h).is_null()))
            })
            .collect();
        at_hit_list_free(list);
        let events = stored.values().filter(|(_, event)| *event).count();
        let mut req: *mut at_request = null_mut();
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        loop {
            self.ck.expect("at_offline_export_batch", &["export batch"], &[AT_OK], &desc, || {
                at_offline_export_batch(t, &mut req)
            });
            // Stored events may be leased for a moment by a send the delivery
            // thread started while a step had switched the mode away from ALWAYS
            // (it fails at once: nothing listens at the endpoint). A lease that
            // outlives that is a failure.
            if !req.is_null() || events == 0 || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if req.is_null() {
            self.ck.check(events == 0, || format!("no batch exported, but {events} events stored"), &desc);
            return;
        }
        let method = bytes_of(at_request_method(req));
        let url = bytes_of(at_request_url(req));
        let mut len = 0usize;
        let body = at_request_body(req, &mut len);
        let body = std::slice::from_raw_parts(body, len).to_vec();
        #[derive(serde::Deserialize)]
        struct Envelope {
            event: String,
            #[serde(rename = "messageId")]
            message_id: String,
            #[serde(rename = "anonymousId")]
            _anonymous_id: String,
            #[serde(rename = "properties")]
            _properties: serde::de::IgnoredAny,
        }
        #[derive(serde::Deserialize)]
        struct Batch {
            batch: Vec<Envelope>,
        }
        let parsed = std::str::from_utf8(&body).ok().and_then(|s| serde_json::from_str::<Batch>(s).ok());
        self.ck.check(
            method.as_deref() == Some(b"POST")
                && url.as_deref() == Some(format!("{ENDPOINT}/v1/batch").as_bytes()),
            || format!("exported request {method:?} {url:?}"),
            &desc,
        );
        self.ck.check(
            parsed.as_ref().is_some_and(|b| !b.batch.is_empty()),
            || format!("the exported body is not a JSON batch: {}", show_bytes(&body)),
            &desc,
        );
        // Each envelope names a stored event, its type escaped and read back intact.
        for e in &parsed.as_ref().unwrap().batch {
            let found = stored.get(e.message_id.as_bytes());
            self.ck.check(
                found.is_some_and(|(ty, event)| *event && ty == e.event.as_bytes()),
                || {
                    format!(
                        "exported event {:?} ({}) is not a stored event of that type ({:?})",
                        e.event,
                        e.message_id,
                        found.map(|(ty, event)| (show_bytes(ty), *event))
                    )
                },
                &desc,
            );
        }
        let events = parsed.map_or(0, |b| b.batch.len()) as u64;
        // An exported batch is not a transport request.
        self.ck.expect(
            "at_transport_complete",
            &["export: completed as transport"],
            &[AT_ERR_INVALID_ARGUMENT],
            &desc,
            || at_transport_complete(req, 200, 0, null()),
        );
        self.ck.expect(
            "at_offline_ack_batch",
            &["export: ack NULL batch"],
            &[AT_ERR_NULL_ARGUMENT],
            &desc,
            || at_offline_ack_batch(t, null_mut(), true),
        );
        let delivered = self.rng.one_in(3);
        self.ck.ok("at_offline_ack_batch", &desc, || at_offline_ack_batch(t, req, delivered));
        if delivered {
            self.count -= events;
        }
        self.check_count(&desc);
    }

    unsafe fn op_delete(&mut self) {
        let t = self.t;
        let mut deleted = u64::MAX;
        let out: *mut u64 = if self.rng.one_in(3) { null_mut() } else { &mut deleted };
        let before = self.count;
        let (desc, st, exact): (String, at_status, Option<u64>) = match self.rng.below(3) {
            0 => {
                let desc = format!("at_offline_delete(t, {out:?})");
                let st =
                    self.ck.expect("at_offline_delete", &["delete: all"], &[AT_OK], &|| desc.clone(), || {
                        at_offline_delete(t, out)
                    });
                (desc, st, Some(before))
            }
            1 => {
                let ms = self.rng.pick(&[i64::MIN, -1, 0, 1, 1_000_000_000_000, i64::MAX]);
                let desc = format!("at_offline_delete_older_than(t, {ms}, {out:?})");
                let st = self.ck.expect(
                    "at_offline_delete_older_than",
                    &["delete: older than (ms)"],
                    &[AT_OK],
                    &|| desc.clone(),
                    || at_offline_delete_older_than(t, ms, out),
                );
                (desc, st, Some(if ms == i64::MAX { before } else { 0 }))
            }
            _ => {
                let days = self.rng.u32_edge(&[1, 365]);
                let desc = format!("at_offline_delete_older_than_days(t, {days}, {out:?})");
                let st = self.ck.expect(
                    "at_offline_delete_older_than_days",
                    &["delete: older than (days)"],
                    &[AT_OK],
                    &|| desc.clone(),
                    || at_offline_delete_older_than_days(t, days, out),
                );
                // 0 days: every hit created before now (those of this very ms may stay).
                (desc, st, (days > 0).then_some(0))
            }
        };
        assert_eq!(st, AT_OK);
        let now = self.count_now();
        let gone = before - now.min(before);
        let desc = || desc.clone();
        self.ck.check(now <= before, || format!("a delete made the count grow to {now}"), &desc);
        if let Some(exact) = exact {
            self.ck.check(gone == exact, || format!("deleted {gone} hits, expected {exact}"), &desc);
        }
        if !out.is_null() {
            self.ck.check(
                deleted == gone,
                || format!("*deleted = {deleted}, the count fell by {gone}"),
                &desc,
            );
        }
        self.count = now;
        self.deleted += gone;
    }

    /// Count, full listing, paging and oldest/latest agree.
    unsafe fn op_consistency(&mut self) {
        let t = self.t;
        let desc = || "consistency of count, at_offline_get, pages, oldest and latest".to_string();
        let mut list: *mut at_hit_list = null_mut();
        self.ck.ok("at_offline_get", &desc, || at_offline_get(t, &mut list));
        let ids: Vec<u64> = (0..at_hit_list_len(list)).map(|i| at_hit_id(at_hit_list_get(list, i))).collect();
        at_hit_list_free(list);
        let limit = self.rng.range(1, 50) as u32;
        let mut paged = Vec::new();
        let mut after = 0;
        loop {
            let mut page: *mut at_hit_list = null_mut();
            self.ck.ok("at_offline_get_page", &desc, || at_offline_get_page(t, after, limit, &mut page));
            let n = at_hit_list_len(page);
            for i in 0..n {
                paged.push(at_hit_id(at_hit_list_get(page, i)));
            }
            at_hit_list_free(page);
            if n == 0 {
                break;
            }
            after = *paged.last().unwrap();
        }
        let (mut oldest, mut latest): (*mut at_hit, *mut at_hit) = (null_mut(), null_mut());
        self.ck.ok("at_offline_oldest", &desc, || at_offline_oldest(t, &mut oldest));
        self.ck.ok("at_offline_latest", &desc, || at_offline_latest(t, &mut latest));
        let (o, l) = (at_hit_id(oldest), at_hit_id(latest));
        at_hit_free(oldest);
        at_hit_free(latest);
        let count = self.count;
        let sorted = ids.windows(2).all(|w| w[0] < w[1]);
        self.ck.check(
            ids.len() as u64 == count
                && ids == paged
                && sorted
                && o == ids.first().copied().unwrap_or(0)
                && l == ids.last().copied().unwrap_or(0),
            || format!("count {count}, listed {}, paged {}, oldest {o}, latest {l}", ids.len(), paged.len()),
            &desc,
        );
        self.check_count(&desc);
    }

    unsafe fn op_stats(&mut self) {
        let t = self.t;
        let size = std::mem::size_of::<at_stats>();
        let out_size = self.rng.pick(&[0, 1, 7, 8, size - 1, size, size + 8, 256, usize::MAX]);
        let mut buf = [0xA5A5_A5A5_A5A5_A5A5u64; 40];
        let desc = || format!("at_tracker_stats(t, buf, {out_size})");
        self.ck.expect("at_tracker_stats", &["stats: out_size"], &[AT_OK], &desc, || {
            at_tracker_stats(t, buf.as_mut_ptr().cast(), out_size)
        });
        let written = out_size.min(size);
        let bytes: &[u8] = std::slice::from_raw_parts(buf.as_ptr().cast(), 320);
        let untouched = bytes[written..].iter().all(|&b| b == 0xA5);
        self.ck.check(untouched, || format!("at_tracker_stats wrote past {written} bytes"), &desc);
        if written == size {
            let s = *(buf.as_ptr() as *const at_stats);
            let count = self.count;
            self.ck.check(
                s.queued == count,
                || format!("stats.queued {} but {count} stored", s.queued),
                &desc,
            );
        }
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
                    1..=AT_ERR_INTERNAL => format!("AT_ERR_{}", STATUS_NAMES[s as usize]),
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

    unsafe fn step(&mut self) {
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
fn focus(rng: &mut Rng) -> (bool, bool) {
    match rng.below(5) {
        0 | 1 => (true, false),
        2 | 3 => (false, true),
        _ => (true, true),
    }
}

fn plain_type(rng: &mut Rng) -> Arg {
    let mut a = Arg::new("type: plain", normal_text(rng), Expect::Ok);
    a.expect = text_oracle(a.eff(), AT_MAX_TYPE_BYTES as usize, false);
    a
}

fn plain_props(rng: &mut Rng) -> Arg {
    if rng.one_in(4) {
        Arg::null("props: NULL", Expect::Ok)
    } else {
        Arg::new("props: plain", valid_object(rng), Expect::Ok)
    }
}

/// The kinds a call is tallied under: its fuzzed arguments (or its NULL tracker).
fn tally_kinds(t: *mut at_tracker, args: &[(bool, &'static str)]) -> Vec<&'static str> {
    if t.is_null() {
        return vec!["tracker: NULL"];
    }
    args.iter().filter(|(fuzzed, _)| *fuzzed).map(|(_, k)| *k).collect()
}

/// A URL hit's type is tallied apart from an event's: it may be empty or NULL.
fn hit_type_kind(kind: &'static str) -> &'static str {
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

/// A call with a NULL pointer argument, by function name.
type NullCase = (&'static str, Box<dyn Fn() -> at_status>);

/// Every tracker function with one NULL pointer that the header requires.
fn null_cases(t: *mut at_tracker) -> Vec<NullCase> {
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
        ]
    }
}

fn tracker_budget() -> usize {
    fuzz_iterations() * 7 / 10
}

fn config_budget() -> usize {
    fuzz_iterations() - tracker_budget()
}

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

// --- the config fuzzer ---------------------------------------------------------

/// What the config should hold after the calls that succeeded.
struct CfgModel {
    path: Vec<u8>,
    endpoint: Vec<u8>,
    remote_url: Option<Vec<u8>>,
    api_key: Option<Vec<u8>>,
    auth: u32,
    gzip: bool,
    offline_mode: u32,
    durability: u32,
    max_event_bytes: u32,
    opt_out: u32,
    callbacks: u32,
    log: Option<u32>,
}

struct ConfigFuzz {
    ck: Checker,
    rng: Rng,
    dir: TempDir,
    configs: u64,
    huge_left: u32,
}

/// An enum setter: its name, the number of valid values, and the call.
type EnumSetter = (&'static str, u32, unsafe extern "C" fn(*mut at_config, u32) -> at_status);
/// A u32 setter: its name, the valid range, and the call.
type U32Setter =
    (&'static str, std::ops::RangeInclusive<u32>, unsafe extern "C" fn(*mut at_config, u32) -> at_status);

const ENUM_SETTERS: &[EnumSetter] = &[
    ("at_config_set_offline_mode", 3, at_config_set_offline_mode),
    ("at_config_set_durability", 2, at_config_set_durability),
    ("at_config_set_synchronous", 2, at_config_set_synchronous),
    ("at_config_set_auth_scheme", 2, at_config_set_auth_scheme),
    ("at_config_set_callback_mode", 2, at_config_set_callback_mode),
    ("at_config_set_opt_out_policy", 2, at_config_set_opt_out_policy),
];

const U32_SETTERS: &[U32Setter] = &[
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

    fn gen_path(&mut self) -> Arg {
        let dir = path_bytes(self.dir.path());
        let name = |rng: &mut Rng, n: u64| -> Vec<u8> {
            let stem = rng.pick(&["hits", "a b", "é字", "tab\tname", "x", "-", ".hidden"]);
            format!("c{n}-{stem}-{}.db", rng.next() % 1000).into_bytes()
        };
        let n = self.configs;
        let with = |name: Vec<u8>| [dir.clone(), b"/".to_vec(), name].concat();
        match self.rng.below(8) {
            0 | 1 => Arg::new("path: valid", with(name(&mut self.rng, n)), Expect::Ok),
            7 => {
                // Missing parent directories are created by at_tracker_new.
                let v = [format!("new-{n}/a b/é/").into_bytes(), name(&mut self.rng, n)].concat();
                Arg::new("path: in missing directories", with(v), Expect::Ok)
            }
            2 => Arg::new("path: empty", Vec::new(), Expect::Invalid),
            3 => Arg::new("path: ends in '/'", with(b"sub/".to_vec()), Expect::Invalid),
            4 => {
                let bad = self.rng.pick(BAD_UTF8);
                let nm = name(&mut self.rng, n);
                let v = insert_at(&mut self.rng, nm, bad);
                Arg::new("path: invalid UTF-8", with(v), Expect::Invalid)
            }
            5 => {
                // The NUL ends the name early: the file is the part before it.
                let mut v = name(&mut self.rng, n);
                v.extend_from_slice(b"\0/more/../junk/");
                Arg::new("path: NUL inside", with(v), Expect::Ok)
            }
            _ => Arg::null("path: NULL", Expect::Invalid),
        }
    }

    fn gen_api_key(&mut self) -> Arg {
        let key = format!("sk_fuzz_{:016x}", self.rng.next()).into_bytes();
        match self.rng.below(8) {
            0 | 1 => Arg::new("api key: valid", key, Expect::Ok),
            2 => Arg::new("api key: empty (removes it)", Vec::new(), Expect::Ok),
            3 => Arg::new("api key: space", insert_at(&mut self.rng, key, b" "), Expect::Invalid),
            4 => {
                let c = self.rng.pick(CONTROLS);
                Arg::new("api key: control character", insert_at(&mut self.rng, key, c), Expect::Invalid)
            }
            5 => {
                let b = self.rng.pick(BAD_UTF8);
                Arg::new("api key: invalid UTF-8", insert_at(&mut self.rng, key, b), Expect::Invalid)
            }
            6 => {
                let mut v = key;
                v.extend_from_slice(b"\0 with junk\x01");
                Arg::new("api key: NUL inside", v, Expect::Ok)
            }
            _ => Arg::null("api key: NULL", Expect::Invalid),
        }
    }

    fn gen_host(&mut self) -> Arg {
        use Expect::*;
        let (kind, v, e): (&'static str, &[u8], Expect) = match self.rng.below(10) {
            0 => (
                "allowed host: valid",
                rng_pick_bytes(
                    &mut self.rng,
                    &[b"collect.example.com", b"127.0.0.1", b"[::1]", b"A-B_c.Example"],
                ),
                Ok,
            ),
            1 => ("allowed host: empty", b"", Invalid),
            2 => (
                "allowed host: with scheme or path",
                rng_pick_bytes(&mut self.rng, &[b"https://h.example", b"h.example/x", b"h.example?q"]),
                Invalid,
            ),
            3 => ("allowed host: with port", b"h.example:443", Any),
            4 => (
                "allowed host: space or control",
                rng_pick_bytes(&mut self.rng, &[b"h example", b"h\texample", b"h\x7f"]),
                Invalid,
            ),
            5 => ("allowed host: invalid UTF-8", b"h\xffexample", Invalid),
            6 => ("allowed host: non-ASCII", "bücher.example".as_bytes(), Any),
            7 => {
                let long = vec![b'a'; 254];
                return Arg::new("allowed host: over 253 bytes", long, Invalid);
            }
            8 => {
                let n = self.rng.range(0, 40);
                return Arg::new("allowed host: random bytes", self.rng.bytes(n), Any);
            }
            _ => return Arg::null("allowed host: NULL", Invalid),
        };
        Arg::new(kind, v.to_vec(), e)
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

    /// A tracker made from the config shows the values the model holds.
    /// A storage path the setter accepts but no store can be made at: the
    /// tracker is refused with AT_ERR_STORAGE, `*out` stays NULL, nothing at
    /// the path is moved or deleted, and the config still works afterwards.
    unsafe fn unusable_store(&mut self, cfg: *mut at_config, m: &CfgModel) {
        let dir = self.dir.path().to_path_buf();
        let n = self.configs;
        let (kind, path): (&'static str, PathBuf) = match self.rng.below(4) {
            0 => {
                let d = dir.join(format!("a-directory-{n}"));
                std::fs::create_dir_all(d.join("inside")).unwrap();
                ("store path: an existing directory", d)
            }
            1 => {
                let f = dir.join(format!("a-file-{n}"));
                std::fs::write(&f, b"not a directory").unwrap();
                ("store path: parent is a file", f.join("hits.db"))
            }
            2 => ("store path: component over 255 bytes", dir.join("n".repeat(300))),
            _ => {
                let deep: PathBuf = (0..30).map(|_| "d".repeat(200)).collect();
                ("store path: over PATH_MAX", dir.join(deep).join("hits.db"))
            }
        };
        let before: Option<Vec<PathBuf>> = path.is_dir().then(|| {
            let mut v: Vec<PathBuf> = std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()).collect();
            v.sort();
            v
        });
        let c = cstr(path.to_str().unwrap());
        let desc = || format!("at_tracker_new with the store at {}", path.display());
        self.ck.expect("at_config_set_storage_path", &[], &[AT_OK], &desc, || {
            at_config_set_storage_path(cfg, c.as_ptr().cast())
        });
        let mut t: *mut at_tracker = null_mut();
        self.ck.expect("at_tracker_new", &[kind], &[AT_ERR_STORAGE], &desc, || at_tracker_new(cfg, &mut t));
        self.ck.check(t.is_null(), || "a failed at_tracker_new wrote *out".into(), &desc);
        if let Some(before) = before {
            let mut after: Vec<PathBuf> =
                std::fs::read_dir(&path).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
            after.sort();
            let moved: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|f| f.contains(".corrupt-"))
                .collect();
            self.ck.check(
                after == before && moved.is_empty(),
                || format!("the directory changed: {before:?} -> {after:?}, moved aside: {moved:?}"),
                &desc,
            );
        }
        let p = [m.path.clone(), vec![0]].concat();
        self.ck
            .ok("at_config_set_storage_path", &desc, || at_config_set_storage_path(cfg, p.as_ptr().cast()));
    }

    unsafe fn check_usable(&mut self, cfg: *mut at_config, m: &mut CfgModel, sink: &Sink) {
        // Nothing leaves this machine: a remote config URL elsewhere is turned off.
        if m.remote_url.as_deref().is_some_and(|u| !is_loopback_url(u)) {
            self.ck.ok("at_config_set_remote_config_url", &|| "turn off".into(), || {
                at_config_set_remote_config_url(cfg, null())
            });
            m.remote_url = None;
        }
        sink.log_min.store(m.log.unwrap_or(AT_LOG_DEBUG), SeqCst);
        let desc = || {
            format!(
                "tracker from a fuzzed config: path {} endpoint {} mode {} durability {} max_event {} key {:?} auth {} gzip {} opt-out {} callbacks {}",
                show_bytes(&m.path),
                show_bytes(&m.endpoint),
                m.offline_mode,
                m.durability,
                m.max_event_bytes,
                m.api_key.as_deref().map(show_bytes),
                m.auth,
                m.gzip,
                m.opt_out,
                m.callbacks
            )
        };
        if self.rng.one_in(3) {
            self.unusable_store(cfg, m);
        }
        let mut t: *mut at_tracker = null_mut();
        self.ck.expect("at_tracker_new", &["config: tracker from fuzzed config"], &[AT_OK], &desc, || {
            at_tracker_new(cfg, &mut t)
        });
        let path = PathBuf::from(std::str::from_utf8(&m.path).unwrap());
        self.ck.check(path.exists(), || format!("no store at {}", path.display()), &desc);
        let mut mode = u32::MAX;
        self.ck.ok("at_get_offline_mode", &desc, || at_get_offline_mode(t, &mut mode));
        self.ck.check(mode == m.offline_mode, || format!("offline mode {mode}"), &desc);
        self.ck
            .ok("at_set_offline_mode", &desc, || at_set_offline_mode(t, AT_OFFLINE_ALWAYS, None, null_mut()));

        // A small event is stored under the endpoint's batch URL.
        self.ck
            .ok("at_track_event", &desc, || at_track_event(t, c"probe".as_ptr(), null(), None, null_mut()));
        self.ck.ok("at_tracker_sync", &desc, || at_tracker_sync(t));
        let mut hit: *mut at_hit = null_mut();
        self.ck.ok("at_offline_latest", &desc, || at_offline_latest(t, &mut hit));
        let url = bytes_of(at_hit_url(hit));
        let ty = bytes_of(at_hit_type(hit));
        at_hit_free(hit);
        let expected_url = [m.endpoint.as_slice(), b"/v1/batch"].concat();
        self.ck.check(
            ty.as_deref() == Some(b"probe") && url.as_deref() == Some(&expected_url[..]),
            || {
                format!(
                    "probe stored as {:?} at {:?}",
                    ty.as_deref().map(show_bytes),
                    url.as_deref().map(show_bytes)
                )
            },
            &desc,
        );

        // max_event_bytes, exactly at the limit and one byte over.
        let max = m.max_event_bytes as usize;
        let props = |n: usize| {
            let mut v = b"{\"s\":\"".to_vec();
            v.resize(n - 2, b'a');
            v.extend_from_slice(b"\"}\0");
            v
        };
        let (fits, over) = (props(max - 1), props(max));
        self.ck.expect("at_track_event", &["config: event of max_event_bytes"], &[AT_OK], &desc, || {
            at_track_event(t, c"p".as_ptr(), fits.as_ptr().cast(), None, null_mut())
        });
        self.ck.expect(
            "at_track_event",
            &["config: event over max_event_bytes"],
            &[AT_ERR_TOO_LARGE],
            &desc,
            || at_track_event(t, c"p".as_ptr(), over.as_ptr().cast(), None, null_mut()),
        );
        self.ck.ok("at_tracker_sync", &desc, || at_tracker_sync(t));

        // The api key, auth scheme and gzip show in an exported batch's headers.
        let mut req: *mut at_request = null_mut();
        self.ck.ok("at_offline_export_batch", &desc, || at_offline_export_batch(t, &mut req));
        if !req.is_null() {
            let headers: Vec<(Vec<u8>, Vec<u8>)> = (0..at_request_header_count(req))
                .map(|i| {
                    let n = bytes_of(at_request_header_name(req, i)).unwrap_or_default();
                    let v = bytes_of(at_request_header_value(req, i)).unwrap_or_default();
                    (n, v)
                })
                .collect();
            let header = |name: &[u8]| {
                headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
            };
            let auth = header(b"Authorization");
            let expected_auth = m.api_key.as_ref().map(|k| {
                if m.auth == AT_AUTH_BASIC {
                    format!("Basic {}", base64(&[k.as_slice(), b":"].concat())).into_bytes()
                } else {
                    [b"Bearer ".as_slice(), k].concat()
                }
            });
            let gzip = header(b"Content-Encoding").is_some_and(|v| v == b"gzip");
            self.ck.check(
                auth == expected_auth && gzip == m.gzip,
                || {
                    format!(
                        "exported batch headers {:?}",
                        headers.iter().map(|(n, v)| (show_bytes(n), show_bytes(v))).collect::<Vec<_>>()
                    )
                },
                &desc,
            );
            self.ck.ok("at_offline_ack_batch", &desc, || at_offline_ack_batch(t, req, false));
        }

        // The opt-out policy decides what turning tracking off does.
        let mut before = 0;
        self.ck.ok("at_offline_count", &desc, || at_offline_count(t, &mut before));
        self.ck.ok("at_set_tracking_enabled", &desc, || at_set_tracking_enabled(t, false));
        let mut after = u64::MAX;
        self.ck.ok("at_offline_count", &desc, || at_offline_count(t, &mut after));
        let expected = if m.opt_out == AT_OPT_OUT_PURGE { 0 } else { before };
        self.ck.check(after == expected, || format!("{before} hits became {after} on opting out"), &desc);
        self.ck.expect(
            "at_track_event",
            &["config: track while opted out"],
            &[AT_ERR_SUPPRESSED],
            &desc,
            || at_track_event(t, c"probe".as_ptr(), null(), None, null_mut()),
        );
        at_tracker_free(t);

        // Log lines respect the level, and the api key is never in them.
        self.ck.check(
            sink.bad_log.load(SeqCst) == 0,
            || "a log line above the configured level".into(),
            &desc,
        );
        let lines = std::mem::take(&mut *sink.lines.lock().unwrap());
        if let Some(key) = &m.api_key {
            let key = String::from_utf8_lossy(key).into_owned();
            let leaked = lines.iter().find(|(_, l)| key.len() >= 8 && l.contains(&key));
            self.ck.check(leaked.is_none(), || format!("the api key was logged: {leaked:?}"), &desc);
        }
    }

    unsafe fn one_config(&mut self, sink: &Sink) {
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
            max_event_bytes: 65_536,
            opt_out: AT_OPT_OUT_KEEP,
            callbacks: AT_CALLBACKS_THREAD,
            log: None,
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

fn rng_pick_bytes(rng: &mut Rng, xs: &[&'static [u8]]) -> &'static [u8] {
    rng.pick(xs)
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
