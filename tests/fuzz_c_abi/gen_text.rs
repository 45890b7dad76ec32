//! Generators of text arguments: event types and visitor ids.

use attracker::ffi::*;

use crate::arg::{insert_at, text_oracle, Arg, Expect};
use crate::rng::Rng;

pub const CONTROLS: &[&[u8]] =
    &[b"\t", b"\n", b"\r", b"\x01", b"\x1b", b"\x7f", "\u{85}".as_bytes(), "\u{9f}".as_bytes()];
pub const BAD_UTF8: &[&[u8]] = &[
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

pub fn normal_text(rng: &mut Rng) -> Vec<u8> {
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
pub fn gen_type(rng: &mut Rng, allow_empty: bool) -> Arg {
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

pub fn gen_visitor_id(rng: &mut Rng) -> Arg {
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
