//! The wire format of events: one JSON envelope per event, joined into
//! `{"sentAt": …, "batch": […]}` bodies no larger than the batch limits.
//! Described in README.md, "Wire format" and ARCHITECTURE.md, "Wire format".

use std::io::Write;

use crate::delivery::dates::{iso8601_ms, push_iso8601_ms};
use crate::delivery::transport::AuthScheme;
use crate::hit::StoredHit;

/// The context of a hit stored without one (before schema 4, or whose
/// snapshot was lost with a damaged store): the library alone.
const LIBRARY_CONTEXT: &str =
    concat!(r#"{"library":{"name":"attracker","version":""#, env!("CARGO_PKG_VERSION"), r#""}}"#);

/// One event's JSON envelope, built once per attempt: the Segment HTTP API
/// shape of the hit's call (`track`, `screen`, `identify`, `group`, `alias`).
/// The stored body (properties or traits) and context are inserted verbatim
/// (each was checked as one JSON object when tracked, and again when read).
/// `anonymousId` is the visitor id the hit was tracked with (`current_visitor`
/// for rows stored before schema 3); `userId` the user id it was tracked with,
/// when there was one. attracker's own fields go inside `context`.
pub fn envelope(hit: &StoredHit, current_visitor: &str, store_id: &str) -> String {
    let mut out = String::new();
    push_envelope(&mut out, hit, current_visitor, store_id);
    out
}

/// `envelope`, written at the end of `out` (the drain builds a batch's
/// envelopes into one buffer, with no allocation per event).
pub fn push_envelope(out: &mut String, hit: &StoredHit, current_visitor: &str, store_id: &str) {
    let call = hit.stamp.call;
    let body = hit.body.as_deref().unwrap_or("{}");
    let context = hit.stamp.context.as_deref().unwrap_or(LIBRARY_CONTEXT);
    out.reserve(body.len() + context.len() + hit.hit_type.len() + 320);
    let out = &mut *out;
    out.push_str(r#"{"type":""#);
    out.push_str(call.wire_type());
    out.push('"');
    if let Some(key) = call.subject_key() {
        push_key(out, key);
        push_json_string(out, &hit.hit_type);
    }
    out.push_str(r#","messageId":"#);
    push_json_string(out, &hit.message_id);
    out.push_str(r#","anonymousId":"#);
    push_json_string(out, hit.stamp.visitor_id.as_deref().unwrap_or(current_visitor));
    if let Some(user) = &hit.stamp.user_id {
        out.push_str(r#","userId":"#);
        push_json_string(out, user);
    }
    out.push_str(r#","timestamp":""#);
    push_iso8601_ms(out, hit.created_ms);
    out.push('"');
    if let Some(key) = call.body_key() {
        push_key(out, key);
        out.push_str(body);
    }
    out.push_str(r#","context":"#);
    push_context(out, context, hit, store_id);
    out.push_str(r#","retryCount":"#);
    push_int(out, i64::from(hit.retry_count));
    out.push('}');
}

fn push_key(out: &mut String, key: &str) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":");
}

/// The stored context object with attracker's fields added at its end: the
/// session id (`sessionId`, Unix ms of the session's start) and `attracker`
/// (the store id and sequence number of a stored hit, the monotonic ms since
/// its session began, and the sample rate that kept it).
fn push_context(out: &mut String, context: &str, hit: &StoredHit, store_id: &str) {
    let inner = context.trim_end().strip_suffix('}').unwrap_or("{");
    out.push_str(inner);
    let mut sep = if inner.trim() == "{" { "" } else { "," };
    let mut field = |out: &mut String, key: &str| {
        out.push_str(sep);
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
        sep = ",";
    };
    let session = hit.stamp.session_id.as_deref();
    let session_ms = session.and_then(|s| s.parse::<i64>().ok());
    match (session, session_ms) {
        (Some(_), Some(ms)) => {
            field(out, "sessionId");
            push_int(out, ms);
        }
        // Schema 3 rows: a UUID per tracker start.
        (Some(uuid), None) => {
            field(out, "session");
            out.push_str(r#"{"id":"#);
            push_json_string(out, uuid);
            if let Some(ms) = hit.stamp.session_ms {
                out.push_str(r#","elapsedMs":"#);
                push_int(out, ms);
            }
            out.push('}');
        }
        (None, _) => {}
    }
    let stored = hit.id > 0;
    let elapsed = hit.stamp.session_ms.filter(|_| session_ms.is_some());
    if stored || elapsed.is_some() || hit.stamp.sample_rate.is_some() {
        field(out, "attracker");
        out.push('{');
        let mut inner_sep = "";
        if stored {
            // A stored hit: the store's id and the hit's sequence number in it
            // (memory-only hits have neither).
            out.push_str(r#""store":"#);
            push_json_string(out, store_id);
            out.push_str(r#","seq":"#);
            push_int(out, hit.id as i64);
            inner_sep = ",";
        }
        if let Some(ms) = elapsed {
            out.push_str(inner_sep);
            out.push_str(r#""sessionElapsedMs":"#);
            push_int(out, ms);
            inner_sep = ",";
        }
        if let Some(rate) = hit.stamp.sample_rate {
            out.push_str(inner_sep);
            out.push_str(r#""sampleRate":"#);
            out.push_str(&serde_json::to_string(&rate).unwrap_or_else(|_| "1".into()));
        }
        out.push('}');
    }
    out.push('}');
}

/// Bytes a body adds around its envelopes:
/// `{"sentAt":"<24 chars>","clockOffsetMs":<up to 20 chars>,"batch":[]}`.
pub(crate) const BODY_OVERHEAD: usize = 88;

/// The request body for `envelopes` sent at `sent_at_ms`, with the clock offset
/// learned from the collector (its time minus ours, in ms) when there is one.
pub fn body(envelopes: &[&str], sent_at_ms: i64, clock_offset_ms: Option<i64>) -> Vec<u8> {
    body_joined(&envelopes.join(","), sent_at_ms, clock_offset_ms)
}

/// `body` of envelopes already joined with commas.
pub fn body_joined(envelopes: &str, sent_at_ms: i64, clock_offset_ms: Option<i64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(envelopes.len() + BODY_OVERHEAD);
    out.extend_from_slice(br#"{"sentAt":""#);
    out.extend_from_slice(iso8601_ms(sent_at_ms).as_bytes());
    out.push(b'"');
    if let Some(offset) = clock_offset_ms {
        let _ = write!(out, r#","clockOffsetMs":{offset}"#);
    }
    out.extend_from_slice(br#","batch":["#);
    out.extend_from_slice(envelopes.as_bytes());
    out.extend_from_slice(b"]}");
    out
}

/// Splits envelopes (in order) into consecutive batches of at most `max_events`
/// and at most `max_bytes` of body. An envelope that cannot fit even alone is
/// returned in `too_large` (by index) and belongs to no batch.
pub fn split(
    sizes: &[usize],
    max_events: usize,
    max_bytes: usize,
) -> (Vec<std::ops::Range<usize>>, Vec<usize>) {
    let mut batches = Vec::new();
    let mut too_large = Vec::new();
    let mut start = None;
    let mut bytes = BODY_OVERHEAD;
    for (i, &size) in sizes.iter().enumerate() {
        if size + BODY_OVERHEAD > max_bytes {
            if let Some(s) = start.take() {
                batches.push(s..i);
            }
            too_large.push(i);
            bytes = BODY_OVERHEAD;
            continue;
        }
        match start {
            Some(s) if i - s < max_events && bytes + size < max_bytes => bytes += size + 1,
            Some(s) => {
                batches.push(s..i);
                start = Some(i);
                bytes = BODY_OVERHEAD + size;
            }
            None => {
                start = Some(i);
                bytes = BODY_OVERHEAD + size;
            }
        }
    }
    if let Some(s) = start {
        batches.push(s..sizes.len());
    }
    (batches, too_large)
}

/// gzip at a fast level: batches are repetitive JSON, so even level 1 shrinks
/// them several times over, at little CPU cost.
pub fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc =
        flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
    enc.write_all(body).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// The headers of a batch POST: JSON, gzip when compressed, and the api key as
/// `Bearer <key>` or HTTP Basic with the key as user name and no password.
pub fn post_headers(api_key: Option<&str>, auth: AuthScheme, gzip: bool) -> Vec<(String, String)> {
    let mut h = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    if gzip {
        h.push(("Content-Encoding".to_owned(), "gzip".to_owned()));
    }
    if let Some(key) = api_key {
        let value = match auth {
            AuthScheme::Bearer => format!("Bearer {key}"),
            AuthScheme::Basic => format!("Basic {}", base64(format!("{key}:").as_bytes())),
        };
        h.push(("Authorization".to_owned(), value));
    }
    h
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> shift) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn push_json_string(out: &mut String, s: &str) {
    // Ids and names rarely need escaping: copied as they are when nothing in
    // them does, else serde_json's escaping.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).expect("a str always serializes"));
    }
}

/// An integer in decimal, with no allocation.
fn push_int(out: &mut String, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.push('-');
    }
    out.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hit::HitKind;

    fn hit(n: u32) -> StoredHit {
        StoredHit {
            id: n as u64,
            message_id: format!("00000000-0000-4000-8000-{n:012}"),
            kind: HitKind::Event,
            hit_type: "screen \"view\"".into(),
            url: String::new(),
            body: Some(format!(r#"{{"n":{n},"nested":{{"a":[1,2]}}}}"#)),
            created_ms: 1_795_366_000_123,
            retry_count: 2,
            is_offline: false,
            stamp: crate::hit::Stamp::default(),
        }
    }

    #[test]
    fn a_body_is_the_documented_json() {
        let e = envelope(&hit(7), "visitor-1", "store-1");
        let body = body(&[&e], 1_795_366_010_000, None);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["sentAt"], "2026-11-22T16:46:50.000Z");
        let ev = &v["batch"][0];
        assert_eq!(ev["type"], "track");
        assert_eq!(ev["event"], "screen \"view\"");
        assert_eq!(ev["messageId"], "00000000-0000-4000-8000-000000000007");
        assert_eq!(ev["anonymousId"], "visitor-1");
        assert_eq!(ev["timestamp"], "2026-11-22T16:46:40.123Z");
        assert_eq!(ev["properties"], serde_json::json!({"n": 7, "nested": {"a": [1, 2]}}));
        assert_eq!(ev["context"]["library"]["name"], "attracker");
        assert_eq!(ev["context"]["library"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(ev["retryCount"], 2);
        assert_eq!(ev["context"]["attracker"], serde_json::json!({"store": "store-1", "seq": 7}));
        let memory_only = envelope(&StoredHit { id: 0, ..hit(7) }, "v", "s");
        assert!(!memory_only.contains("attracker\":{\"store"), "{memory_only}");
    }

    #[test]
    fn strings_and_integers_are_written_as_serde_json_writes_them() {
        for text in
            ["plain", "", "quote \"q\"", "back\\slash", "tab\tnew\nline", "\u{1}", "\u{7f}é✓", "</script>"]
        {
            let mut out = String::new();
            push_json_string(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap(), "{text:?}");
        }
        for n in [0, 7, -7, 10, 1_795_366_000_123, i64::MAX, i64::MIN] {
            let mut out = String::from("x");
            push_int(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }

    #[test]
    fn envelopes_joined_in_one_buffer_make_the_same_body() {
        let hits: Vec<StoredHit> = (1..4).map(hit).collect();
        let each: Vec<String> = hits.iter().map(|h| envelope(h, "v", "s")).collect();
        let mut joined = String::new();
        for (i, h) in hits.iter().enumerate() {
            if i > 0 {
                joined.push(',');
            }
            push_envelope(&mut joined, h, "v", "s");
        }
        let refs: Vec<&str> = each.iter().map(String::as_str).collect();
        assert_eq!(body_joined(&joined, 5, Some(-3)), body(&refs, 5, Some(-3)));
    }

    #[test]
    fn splitting_respects_both_limits_and_keeps_order() {
        let sizes = vec![100; 1200];
        let (batches, too_large) = split(&sizes, 500, 1_000_000);
        assert_eq!(batches, vec![0..500, 500..1000, 1000..1200]);
        assert!(too_large.is_empty());
        let (batches, _) = split(&sizes, 500, BODY_OVERHEAD + 101 * 10);
        assert!(batches.iter().all(|r| r.len() == 10), "{batches:?}");
    }

    #[test]
    fn an_envelope_over_the_byte_cap_stands_alone_outside_every_batch() {
        let (batches, too_large) = split(&[10, 10, 5000, 10], 500, 1000);
        assert_eq!(batches, vec![0..2, 3..4]);
        assert_eq!(too_large, vec![2]);
    }

    #[test]
    fn every_batch_body_fits_the_byte_cap() {
        let hits: Vec<StoredHit> = (0..300).map(hit).collect();
        let envs: Vec<String> = hits.iter().map(|h| envelope(h, "v", "s")).collect();
        let sizes: Vec<usize> = envs.iter().map(String::len).collect();
        let cap = 4000;
        let (batches, _) = split(&sizes, 500, cap);
        for r in batches {
            let refs: Vec<&str> = envs[r].iter().map(String::as_str).collect();
            assert!(body(&refs, 0, Some(i64::MIN + 1)).len() <= cap);
        }
    }

    #[test]
    fn headers_carry_the_key_as_bearer_or_basic() {
        let h = post_headers(Some("wk_123"), AuthScheme::Basic, true);
        assert!(h.contains(&("Authorization".into(), "Basic d2tfMTIzOg==".into())));
        assert!(h.contains(&("Content-Encoding".into(), "gzip".into())));
        let h = post_headers(Some("k"), AuthScheme::Bearer, false);
        assert!(h.contains(&("Authorization".into(), "Bearer k".into())));
        assert_eq!(post_headers(None, AuthScheme::Bearer, false).len(), 1, "no key, no Authorization");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"a"), "YQ==");
    }

    #[test]
    fn gzip_round_trips() {
        let data = b"{\"batch\":[]}".repeat(100);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzip(&data)[..]), &mut out).unwrap();
        assert_eq!(out, data);
    }
}
