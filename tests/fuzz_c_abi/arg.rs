//! `const char *` arguments: bytes as C passes them, and the documented verdict on them.

use std::ffi::c_char;
use std::ptr::null;

use crate::rng::Rng;

/// What the header says about an input: accepted, rejected, or not said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Ok,
    Invalid,
    Any,
}

/// One `const char *` argument: arbitrary bytes plus the terminating NUL (or a
/// NULL pointer), the kind of input it is, and what the header says of it.
pub struct Arg {
    c: Option<Vec<u8>>,
    pub kind: &'static str,
    pub expect: Expect,
}

impl Arg {
    pub fn new(kind: &'static str, mut bytes: Vec<u8>, expect: Expect) -> Arg {
        bytes.push(0);
        Arg { c: Some(bytes), kind, expect }
    }
    pub fn null(kind: &'static str, expect: Expect) -> Arg {
        Arg { c: None, kind, expect }
    }
    pub fn ptr(&self) -> *const c_char {
        self.c.as_ref().map_or(null(), |v| v.as_ptr().cast())
    }
    pub fn is_null(&self) -> bool {
        self.c.is_none()
    }
    /// What the library sees: the bytes up to the first NUL.
    pub fn eff(&self) -> &[u8] {
        match &self.c {
            Some(v) => &v[..v.iter().position(|&b| b == 0).unwrap()],
            None => b"",
        }
    }
    pub fn show(&self) -> String {
        match &self.c {
            None => "NULL".into(),
            Some(v) => show_bytes(&v[..v.len() - 1]),
        }
    }
}

pub fn show_bytes(b: &[u8]) -> String {
    const MAX: usize = 160;
    let shown: String = b[..b.len().min(MAX)].escape_ascii().to_string();
    if b.len() > MAX {
        format!("\"{shown}\"… ({} bytes)", b.len())
    } else {
        format!("\"{shown}\"")
    }
}

pub fn insert_at(rng: &mut Rng, mut base: Vec<u8>, what: &[u8]) -> Vec<u8> {
    let at = rng.range(0, base.len());
    base.splice(at..at, what.iter().copied());
    base
}

/// The documented rule for event types and visitor ids: UTF-8, 1..=`max`
/// bytes (0 allowed with `allow_empty`), no control characters.
pub fn text_oracle(eff: &[u8], max: usize, allow_empty: bool) -> Expect {
    match std::str::from_utf8(eff) {
        Err(_) => Expect::Invalid,
        Ok(s) if (s.is_empty() && !allow_empty) || s.len() > max || s.chars().any(char::is_control) => {
            Expect::Invalid
        }
        Ok(_) => Expect::Ok,
    }
}
