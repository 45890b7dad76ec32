//! `at_track_event` and `at_send_hit` with fuzzed type, properties and URL bytes
//! (NUL ends a C string, so embedded NULs test truncation too).
//!
//! Input: a flags byte, then type, properties and URL separated by 0x1F.
//! flags bit 0: URL hit (else event); bits 1-3: type, properties, URL NULL.
//!
//! What must hold, besides the oracle of every call (`checked`): an accepted hit
//! is stored once and reads back as given; a refused one changes nothing; an
//! accepted event's properties are one JSON object (serde_json's reading); a
//! well-formed event or URL is accepted.

#![no_main]

use std::ptr::null_mut;
use std::sync::OnceLock;

use attracker::ffi::*;
use attracker_fuzz::*;
use libfuzzer_sys::fuzz_target;

const MAX_EVENT_BYTES: u32 = 32 * 1024;

fn tracker() -> &'static Tracker {
    static T: OnceLock<Tracker> = OnceLock::new();
    T.get_or_init(|| {
        let dir = scratch("track");
        let c = Config::offline_store(&dir.join("hits.db"));
        unsafe {
            assert_eq!(at_config_set_max_queue_size(c.0, 1_000_000), AT_OK);
            assert_eq!(at_config_set_max_event_bytes(c.0, MAX_EVENT_BYTES), AT_OK);
        }
        Tracker::open(&c, &[AT_OK]).unwrap()
    })
}

/// The documented rule for a type: non-empty UTF-8, at most 256 bytes, no
/// control characters.
fn type_ok(t: &[u8]) -> bool {
    std::str::from_utf8(t).is_ok_and(|s| !s.is_empty() && s.len() <= 256 && !s.chars().any(char::is_control))
}

/// Nesting depth of a JSON value (iterative: values may be deep).
fn depth(v: &serde_json::Value) -> usize {
    let mut max = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            serde_json::Value::Array(a) => {
                max = max.max(d);
                stack.extend(a.iter().map(|x| (x, d + 1)));
            }
            serde_json::Value::Object(o) => {
                max = max.max(d);
                stack.extend(o.values().map(|x| (x, d + 1)));
            }
            _ => {}
        }
    }
    max
}

/// `Some(true)`: one JSON object, within the depth limit; `Some(false)`: not
/// (bad UTF-8, bad JSON, not an object, a number out of range, a lone
/// surrogate); `None`: too deep for serde_json to tell (128 levels or more).
fn properties_ok(p: &[u8]) -> Option<bool> {
    let Ok(s) = std::str::from_utf8(p) else { return Some(false) };
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(v) => Some(v.is_object() && depth(&v) <= AT_MAX_JSON_DEPTH as usize),
        Err(e) if e.to_string().contains("recursion limit") => None,
        Err(_) => Some(false),
    }
}

/// A plainly well-formed URL: http(s)://host[.host…][:port][/path] with a
/// lower-case host, a port 1..=65535 and a path of unreserved characters.
fn url_plainly_ok(u: &[u8]) -> bool {
    let Some(rest) = u.strip_prefix(b"http://").or_else(|| u.strip_prefix(b"https://")) else { return false };
    let (authority, path) = match rest.iter().position(|&b| b == b'/') {
        Some(i) => rest.split_at(i),
        None => (rest, &b""[..]),
    };
    let (host, port) = match authority.iter().position(|&b| b == b':') {
        Some(i) => (&authority[..i], Some(&authority[i + 1..])),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host.split(|&b| b == b'.').all(|l| {
            !l.is_empty() && l.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        });
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.iter().all(u8::is_ascii_digit)
            && std::str::from_utf8(p).unwrap().parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
    });
    let path_ok = path.iter().all(|b| b.is_ascii_alphanumeric() || b"/._~%-".contains(b));
    host_ok && port_ok && path_ok
}

fuzz_target!(|data: &[u8]| {
    let t = tracker();
    let mut input = Input::new(data);
    let flags = input.u8();
    let (ty, props, url) = (c_bytes(input.field()), c_bytes(input.field()), c_bytes(input.field()));
    let ty_c = (flags & 2 == 0).then(|| c_string(ty));
    let props_c = (flags & 4 == 0).then(|| c_string(props));
    let url_c = (flags & 8 == 0).then(|| c_string(url));

    let before = t.count().expect("count");
    if before > 2000 {
        let mut n = 0;
        checked("at_offline_delete", &[AT_OK], || unsafe { at_offline_delete(t.0, &mut n) });
    }
    let before = t.count().expect("count");
    let is_url = flags & 1 == 1;
    let status = if is_url {
        checked(
            "at_send_hit",
            &[AT_OK, AT_ERR_NULL_ARGUMENT, AT_ERR_INVALID_ARGUMENT, AT_ERR_TOO_LARGE],
            || unsafe { at_send_hit(t.0, ptr(&url_c), ptr(&ty_c), None, null_mut()) },
        )
    } else {
        checked(
            "at_track_event",
            &[AT_OK, AT_ERR_NULL_ARGUMENT, AT_ERR_INVALID_ARGUMENT, AT_ERR_TOO_LARGE],
            || unsafe { at_track_event(t.0, ptr(&ty_c), ptr(&props_c), None, null_mut()) },
        )
    };
    let after = t.count().expect("count");
    if status != AT_OK {
        assert_eq!(after, before, "a refused hit changed the store");
    } else {
        assert_eq!(after, before + 1, "an accepted hit is stored once");
    }

    let no_type: &[u8] = b"";
    let stored_type = ty_c.as_ref().map_or(no_type, |c| c.as_bytes());
    if is_url {
        let type_fine = ty_c.is_none() || ty.is_empty() || type_ok(ty);
        if status == AT_OK {
            let u = url_c.as_ref().expect("a NULL URL was accepted").as_bytes();
            let lower = u.to_ascii_lowercase();
            assert!(
                lower.starts_with(b"http://") || lower.starts_with(b"https://"),
                "accepted a URL that is not http(s)"
            );
            let s = std::str::from_utf8(u).expect("accepted a URL that is not UTF-8");
            assert!(
                !s.chars().any(|c| c.is_whitespace() || c.is_control()),
                "accepted a URL with whitespace"
            );
            assert!(type_fine, "accepted a URL hit with a bad type");
            let hit = t.latest().expect("the accepted hit is stored");
            assert_eq!(hit.url, u, "the URL reads back as given");
            assert_eq!(hit.hit_type, stored_type, "the type reads back as given");
            assert_eq!(hit.body, None, "a URL hit has no body");
        } else if let Some(u) = &url_c {
            let fits = u.as_bytes().len() + stored_type.len() <= MAX_EVENT_BYTES as usize;
            assert!(
                !(type_fine && fits && url_plainly_ok(u.as_bytes())),
                "refused a well-formed URL hit: {u:?} ({})",
                String::from_utf8_lossy(&last_error())
            );
        }
    } else {
        let props_text: &[u8] = props_c.as_ref().map_or(b"{}", |c| c.as_bytes());
        let verdict = properties_ok(props_text);
        let fits = stored_type.len() + props_text.len() <= MAX_EVENT_BYTES as usize;
        if status == AT_OK {
            assert!(ty_c.is_some() && type_ok(ty), "accepted an event with a bad type");
            assert_ne!(
                verdict,
                Some(false),
                "accepted properties that are not one JSON object: {:?}",
                String::from_utf8_lossy(props_text)
            );
            let hit = t.latest().expect("the accepted hit is stored");
            assert_eq!(hit.hit_type, stored_type, "the type reads back as given");
            assert_eq!(hit.body.as_deref(), Some(props_text), "the properties read back verbatim");
        } else if ty_c.is_some() && type_ok(ty) && fits {
            assert_ne!(
                verdict,
                Some(true),
                "refused a well-formed event: {:?} ({})",
                String::from_utf8_lossy(props_text),
                String::from_utf8_lossy(&last_error())
            );
        }
    }
});
