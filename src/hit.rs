//! Hits: what the host tracks, validated on the calling thread before anything is
//! queued, and what the store gives back.

use std::sync::Arc;

use crate::error::{Error, Result, Status};

mod call;
pub use call::Call;

/// Longest accepted event or hit type name, in bytes.
pub(crate) const MAX_TYPE_BYTES: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HitKind {
    /// A type plus JSON properties, delivered in `/v1/batch` POSTs.
    Event,
    /// A complete URL built by the host, delivered by one GET.
    Url,
}

impl HitKind {
    pub(crate) fn code(self) -> i64 {
        match self {
            HitKind::Event => 0,
            HitKind::Url => 1,
        }
    }
    pub(crate) fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(HitKind::Event),
            1 => Some(HitKind::Url),
            _ => None,
        }
    }
}

/// Who tracked a hit, when, and as what call, beyond the wall clock: the
/// visitor id and user id current when it was tracked, the session (Unix ms of
/// its start, schema 4; a UUID per tracker start in rows of schema 3) and the
/// milliseconds since that session began on a monotonic clock, so hits can be
/// ordered and timed even when the device's wall clock jumps; the Segment call
/// (schema 4), the context snapshot it was tracked under, and the sample rate
/// of the remote rule that kept it. `None` in rows stored by older schemas.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stamp {
    pub visitor_id: Option<Arc<str>>,
    pub session_id: Option<Arc<str>>,
    pub session_ms: Option<i64>,
    pub call: Call,
    pub user_id: Option<Arc<str>>,
    /// The event context's JSON object text (the full context, `library`
    /// included). Stored once per distinct context (`contexts` table); the
    /// writer finds or adds its row.
    pub context: Option<Arc<str>>,
    pub sample_rate: Option<f64>,
}

/// A validated hit on its way into the queue.
#[derive(Clone, Debug, PartialEq)]
pub struct NewHit {
    pub message_id: String,
    pub kind: HitKind,
    pub hit_type: String,
    /// The URL of a URL hit; `None` for events.
    pub url: Option<String>,
    /// The JSON properties of an event, as given; `None` for URL hits.
    pub body: Option<String>,
    pub created_ms: i64,
    pub is_offline: bool,
    pub stamp: Stamp,
}

impl NewHit {
    /// Builds a `track` event after checking its type and properties.
    /// `properties` of `None` means an empty object.
    pub fn event(hit_type: &str, properties: Option<&str>, created_ms: i64, max_bytes: u32) -> Result<Self> {
        Self::segment(Call::Track, hit_type, properties, created_ms, max_bytes)
    }

    /// Builds an event sent as `call`, after checking its subject (the event
    /// or screen name, group id or previous id; empty for identify) and body
    /// (properties or traits; `None` means an empty object).
    pub fn segment(
        call: Call,
        subject: &str,
        body: Option<&str>,
        created_ms: i64,
        max_bytes: u32,
    ) -> Result<Self> {
        if call != Call::Identify || !subject.is_empty() {
            validate_type(subject)?;
        }
        let body = body.unwrap_or("{}");
        let size = subject.len() + body.len();
        if size > max_bytes as usize {
            let what = match call {
                Call::Identify => "identify call".to_owned(),
                _ => format!("{} '{}'", call.wire_type(), shorten(subject)),
            };
            return Err(Error::new(
                Status::TooLarge,
                format!("{what} is {size} bytes; the limit is {max_bytes} (max_event_bytes)"),
            ));
        }
        validate_json_object(body)?;
        Ok(NewHit {
            message_id: new_message_id(),
            kind: HitKind::Event,
            hit_type: subject.to_owned(),
            url: None,
            body: Some(body.to_owned()),
            created_ms,
            is_offline: false,
            stamp: Stamp { call, ..Stamp::default() },
        })
    }

    /// Builds a URL hit after checking the URL. `hit_type` may be empty.
    pub fn url(url: &str, hit_type: &str, created_ms: i64, max_bytes: u32) -> Result<Self> {
        if !hit_type.is_empty() {
            validate_type(hit_type)?;
        }
        let size = url.len() + hit_type.len();
        if size > max_bytes as usize {
            return Err(Error::new(
                Status::TooLarge,
                format!("hit URL is {size} bytes; the limit is {max_bytes} (max_event_bytes)"),
            ));
        }
        validate_http_url(url, "hit URL")?;
        Ok(NewHit {
            message_id: new_message_id(),
            kind: HitKind::Url,
            hit_type: hit_type.to_owned(),
            url: Some(url.to_owned()),
            body: None,
            created_ms,
            is_offline: false,
            stamp: Stamp::default(),
        })
    }

    /// Bytes this hit counts against `max_store_bytes`.
    pub fn size(&self) -> u64 {
        stored_size(&self.hit_type, self.url.as_deref(), self.body.as_deref())
    }
}

/// Per-row size used for the byte cap: the payload plus a fixed row overhead.
pub(crate) fn stored_size(hit_type: &str, url: Option<&str>, body: Option<&str>) -> u64 {
    const ROW_OVERHEAD: u64 = 64;
    ROW_OVERHEAD
        + hit_type.len() as u64
        + url.map_or(0, |u| u.len() as u64)
        + body.map_or(0, |b| b.len() as u64)
}

/// A hit read back from the store.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredHit {
    /// Store order: strictly increasing, never reused.
    pub id: u64,
    pub message_id: String,
    pub kind: HitKind,
    pub hit_type: String,
    /// For URL hits the hit's URL; for events the batch URL they are posted to.
    pub url: String,
    pub body: Option<String>,
    pub created_ms: i64,
    pub retry_count: u32,
    pub is_offline: bool,
    pub stamp: Stamp,
}

/// A fresh UUID v4 for a hit's `messageId`. The 122 random bits come from a
/// per-thread xoshiro256++ generator seeded from the operating system (one
/// `getrandom` per thread, not one per hit): message ids must be unique, not
/// secret.
pub fn new_message_id() -> String {
    let (a, b) = (random_u64(), random_u64());
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    id.hyphenated().encode_lower(&mut buf).to_owned()
}

/// 64 random bits from this thread's generator (see `new_message_id`).
pub(crate) fn random_u64() -> u64 {
    thread_local! {
        static RNG: std::cell::Cell<[u64; 4]> = std::cell::Cell::new(seed());
    }
    RNG.with(|cell| {
        let mut s = cell.get();
        let v = xoshiro256pp(&mut s);
        cell.set(s);
        v
    })
}

fn seed() -> [u64; 4] {
    let halves = [uuid::Uuid::new_v4().as_u128(), uuid::Uuid::new_v4().as_u128()];
    let mut s = [halves[0] as u64, (halves[0] >> 64) as u64, halves[1] as u64, (halves[1] >> 64) as u64];
    if s == [0; 4] {
        s[0] = 1; // the one state xoshiro cannot leave
    }
    s
}

fn xoshiro256pp(s: &mut [u64; 4]) -> u64 {
    let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(45);
    result
}

/// Scans brackets outside strings; the grammar itself is checked by the parser.
fn json_depth_exceeds(bytes: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn validate_type(hit_type: &str) -> Result<()> {
    if hit_type.is_empty() {
        return Err(Error::invalid("type is empty"));
    }
    if hit_type.len() > MAX_TYPE_BYTES {
        return Err(Error::invalid(format!(
            "type is {} bytes; the limit is {MAX_TYPE_BYTES}",
            hit_type.len()
        )));
    }
    if hit_type.chars().any(char::is_control) {
        return Err(Error::invalid("type contains control characters"));
    }
    Ok(())
}

/// Deepest accepted nesting of objects and arrays in properties.
pub(crate) const MAX_JSON_DEPTH: usize = 128;

/// Accepts exactly one JSON object (whitespace around it allowed), nested at most
/// `MAX_JSON_DEPTH` deep, that a strict parser accepts: every string's escapes
/// decode to Unicode scalar values (no lone surrogate such as "\ud800") and
/// every number fits a double (no 1e400). Collectors refuse anything else, so it
/// is refused here, at the call, rather than dropped later. The text is stored
/// as given.
pub(crate) fn validate_json_object(text: &str) -> Result<()> {
    if !text.trim_start().starts_with('{') {
        return Err(Error::invalid("properties must be a JSON object"));
    }
    if json_depth_exceeds(text.as_bytes(), MAX_JSON_DEPTH) {
        return Err(Error::invalid(format!("properties nest deeper than {MAX_JSON_DEPTH} levels")));
    }
    // The depth is bounded above (at 128, one more than serde_json's own limit).
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    <Strict as serde::Deserialize>::deserialize(&mut de)
        .and_then(|_| de.end())
        .map_err(|e| Error::invalid(format!("properties are not valid JSON: {e}")))
}

/// Any JSON value, read in full and kept nowhere: unlike `IgnoredAny`, which
/// skips strings and numbers unchecked, it makes the parser decode every
/// string's escapes and every number.
struct Strict;

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Strict, E> {
        if v.is_finite() {
            Ok(Strict)
        } else {
            Err(E::custom("number out of the range of a double"))
        }
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_unit<E>(self) -> std::result::Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Strict, A::Error> {
        while seq.next_element::<Strict>()?.is_some() {}
        Ok(Strict)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Strict, A::Error> {
        while map.next_key::<Strict>()?.is_some() {
            map.next_value::<Strict>()?;
        }
        Ok(Strict)
    }
}

/// True when `text` is one JSON object (syntax only: what a stored body must be
/// to be spliced into a batch). Allocation-free.
pub(crate) fn is_json_object(text: &str) -> bool {
    text.trim_start().starts_with('{') && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// An absolute http(s) URL with a host, no whitespace or control characters.
pub(crate) fn validate_http_url(url: &str, what: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid(format!("{what} '{}' is invalid: {why}", shorten(url))));
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return bad("it must start with http:// or https://");
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains whitespace or control characters");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let Some((inside, after)) = v6.split_once(']') else {
            return bad("its IPv6 address has no closing ']'");
        };
        if inside.is_empty() || !inside.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return bad("its IPv6 address is malformed");
        }
        match after {
            "" => (inside, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (inside, Some(port)),
                None => return bad("it has text after its IPv6 address"),
            },
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return bad("it has no host");
    }
    if host.contains(['[', ']']) {
        return bad("its host is malformed");
    }
    if let Some(port) = port {
        let number = (port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()))
            .then(|| port.parse::<u32>().ok())
            .flatten();
        if !number.is_some_and(|n| (1..=65535).contains(&n)) {
            return bad("its port is not a number from 1 to 65535");
        }
    }
    Ok(())
}

pub(crate) fn shorten(s: &str) -> String {
    if s.len() <= 80 {
        return s.to_owned();
    }
    let mut end = 80;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_keeps_its_properties_verbatim() {
        let hit = NewHit::event("screen_view", Some(r#"{ "b":1, "a":[1,2] }"#), 5, 1024).unwrap();
        assert_eq!(hit.body.as_deref(), Some(r#"{ "b":1, "a":[1,2] }"#));
        assert_eq!(hit.kind, HitKind::Event);
        assert_eq!(hit.message_id.len(), 36);
        assert_eq!(&hit.message_id[14..15], "4", "UUID version 4");
    }

    #[test]
    fn message_ids_are_distinct_v4_uuids_across_threads() {
        let ids: Vec<String> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..10_000).map(|_| new_message_id()).collect::<Vec<_>>()))
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        for id in &ids[..100] {
            let u = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(u.get_version_num(), 4);
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
            assert_eq!(id, &id.to_lowercase());
        }
    }

    #[test]
    fn urls_need_a_well_formed_host_and_port() {
        for ok in [
            "http://a.example",
            "https://a.example:8443/x?y#z",
            "http://[::1]",
            "http://[::1]:80/p",
            "http://u@h:1",
        ] {
            assert!(validate_http_url(ok, "url").is_ok(), "{ok}");
        }
        for bad in [
            "http://[::1",
            "http://[::1/x",
            "http://[::1]x/",
            "http://[]/",
            "http://h:+80",
            "http://h:0",
            "http://h:65536",
            "http://h:",
            "http://h:000080",
            "http://:80",
            "http://h]:80",
            "ftp://h",
        ] {
            assert!(validate_http_url(bad, "url").is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_properties_are_an_empty_object() {
        let hit = NewHit::event("open", None, 0, 1024).unwrap();
        assert_eq!(hit.body.as_deref(), Some("{}"));
    }

    #[test]
    fn properties_that_are_not_one_json_object_are_rejected() {
        for bad in ["[1,2]", "42", "\"s\"", "{", "{\"a\":1} trailing", "{\"a\":\"\u{0}\"}", ""] {
            let err = NewHit::event("t", Some(bad), 0, 1024).unwrap_err();
            assert_eq!(err.status, Status::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn what_a_strict_parser_refuses_is_refused_at_the_call() {
        let refused = [
            r#"{"a":"\ud800"}"#,
            r#"{"a":"x\udfff"}"#,
            r#"{"\ud83d":1}"#,
            r#"{"a":[1,{"b":"\ud83dz"}]}"#,
            r#"{"s":"\ud803d\ude00"}"#,
            r#"{"a":1e400}"#,
            r#"{"a":-1e309}"#,
            r#"{"a":[0,1.7976931348623159e308]}"#,
        ];
        for bad in refused {
            let err = NewHit::event("t", Some(bad), 0, 1024).unwrap_err();
            assert_eq!(err.status, Status::InvalidArgument, "{bad}");
            assert!(err.message.contains("not valid JSON"), "{bad}: {}", err.message);
        }
        let accepted = [
            r#"{"a":"\ud83d\ude00","b":"\u00e9\n"}"#,
            r#"{"a":1.7976931348623157e308,"b":-0.0,"c":18446744073709551615,"d":-9223372036854775808}"#,
            r#"{"a":123456789012345678901234567890}"#,
            r#"{"a":1e-400}"#,
        ];
        for good in accepted {
            NewHit::event("t", Some(good), 0, 1024).unwrap_or_else(|e| panic!("{good}: {e:?}"));
        }
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowing_the_stack() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let err = NewHit::event("t", Some(&deep), 0, 1 << 20).unwrap_err();
        assert_eq!(err.status, Status::InvalidArgument);
    }

    #[test]
    fn nesting_up_to_the_limit_is_accepted_and_brackets_in_strings_do_not_count() {
        let ok = format!("{{\"a\":{}1{}}}", "[".repeat(127), "]".repeat(127));
        assert!(NewHit::event("t", Some(&ok), 0, 1 << 20).is_ok());
        let in_string = format!("{{\"a\":\"{}\"}}", "[{".repeat(500));
        assert!(NewHit::event("t", Some(&in_string), 0, 1 << 20).is_ok());
    }

    #[test]
    fn oversized_events_are_too_large() {
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(2000));
        assert_eq!(NewHit::event("t", Some(&big), 0, 1024).unwrap_err().status, Status::TooLarge);
    }

    #[test]
    fn type_names_are_checked() {
        assert!(NewHit::event("", None, 0, 1024).is_err());
        assert!(NewHit::event("a\nb", None, 0, 1024).is_err());
        assert!(NewHit::event(&"t".repeat(300), None, 0, 4096).is_err());
    }

    #[test]
    fn urls_must_be_absolute_http_with_a_host() {
        for good in [
            "https://logs.example.com/hit.xiti?s=1&p=home",
            "HTTP://127.0.0.1:8080/x",
            "http://[::1]:9/p",
            "https://user@host.example",
        ] {
            assert!(NewHit::url(good, "screen", 0, 4096).is_ok(), "{good}");
        }
        for bad in [
            "ftp://h/x",
            "https://",
            "https:///path",
            "https://h x/",
            "//h/x",
            "https://h:99999/",
            "https://h:/",
            "relative/path",
        ] {
            assert!(NewHit::url(bad, "screen", 0, 4096).is_err(), "{bad}");
        }
    }
}
