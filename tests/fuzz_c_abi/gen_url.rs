//! Generators of URLs, for hits and for config endpoints.

use crate::arg::{insert_at, Arg, Expect};
use crate::gen_text::{BAD_UTF8, CONTROLS};
use crate::rng::Rng;

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

pub fn base_url(rng: &mut Rng, loopback_only: bool) -> (Vec<u8>, Expect) {
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
pub fn gen_url(rng: &mut Rng, loopback_only: bool, huge_left: &mut u32) -> Arg {
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
pub fn is_loopback_url(url: &[u8]) -> bool {
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
