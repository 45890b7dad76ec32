//! Generators of JSON: valid objects, deep nesting, and event properties good and bad.

use crate::arg::{Arg, Expect};
use crate::gen_text::{BAD_UTF8, CONTROLS};
use crate::rng::Rng;

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

pub fn valid_object(rng: &mut Rng) -> Vec<u8> {
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
pub fn gen_props(rng: &mut Rng, huge_left: &mut u32, max_event: usize) -> Arg {
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
            // What strict parsers (and collectors) refuse: lone surrogates and
            // numbers outside a double. A BOM is left to the parser.
            let v = rng.pick(&[
                r#"{"a":"\ud800"}"#,
                r#"{"a":"\udc00x"}"#,
                "\u{feff}{}",
                r#"{"a":"\ud83d"}"#,
                r#"{"a":1e400}"#,
                r#"{"a":[-1e400]}"#,
                r#"{"a":1E+999999999}"#,
            ]);
            let expect = if v.starts_with('\u{feff}') { Any } else { Invalid };
            ("props: lone surrogate, number out of range, or BOM", v.as_bytes().to_vec(), expect)
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
