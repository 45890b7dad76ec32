//! The Segment HTTP tracking API's event shapes, as a collector checks them:
//! written for this collector from the public specification of the `identify`,
//! `track`, `screen`, `group` and `alias` calls and their common fields.
//!
//! Every call is a JSON object with
//! - `type`: one of the five calls;
//! - `messageId`: a non-empty string (the deduplication key);
//! - `anonymousId` and/or `userId`: at least one, each a non-empty string;
//! - `timestamp`: an ISO-8601 date-time (`YYYY-MM-DDTHH:MM:SS.sssZ` here);
//! - `context`: an object, whose known keys have their documented types
//!   (`library` {`name`, `version`}, `os` {`name`, `version`}, `app`, `device`,
//!   `screen`, `network`, `traits` objects, `locale`, `timezone`, `ip`,
//!   `userAgent` strings); other keys are the sender's own, and allowed;
//! - `integrations`: an object, optional.
//!
//! Per call: `track` needs `event` (non-empty string), `properties` optional
//! object; `screen` has `name` (string) and `properties` (object), both
//! optional; `identify` has `traits` (object), optional; `group` needs `groupId`
//! (non-empty string), `traits` optional object; `alias` needs `previousId`
//! and `userId` (non-empty strings).
//!
//! Outside `context`, no other key is allowed, but `retryCount` (a
//! non-negative integer): attracker's documented attempt counter, kept at the
//! top level by its wire contract.

use serde_json::Value;

const COMMON: [&str; 8] =
    ["type", "messageId", "anonymousId", "userId", "timestamp", "context", "integrations", "retryCount"];

/// Every way `event` differs from the specification (empty when it conforms).
pub fn violations(event: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(obj) = event.as_object() else { return vec!["not an object".into()] };
    let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
    let own: &[&str] = match ty {
        "track" => &["event", "properties"],
        "screen" => &["name", "properties"],
        "identify" => &["traits"],
        "group" => &["groupId", "traits"],
        "alias" => &["previousId"],
        other => {
            out.push(format!("type {other:?} is not a Segment call"));
            &[]
        }
    };
    for key in obj.keys() {
        if !COMMON.contains(&key.as_str()) && !own.contains(&key.as_str()) {
            out.push(format!("{ty}: unknown top-level key {key:?} (extras belong in context)"));
        }
    }
    let string = |k: &str| obj.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let need_string = |k: &str, out: &mut Vec<String>| {
        if string(k).is_none() {
            out.push(format!("{ty}: {k} must be a non-empty string"));
        }
    };
    need_string("messageId", &mut out);
    if string("anonymousId").is_none() && string("userId").is_none() {
        out.push(format!("{ty}: needs anonymousId or userId"));
    }
    for k in ["anonymousId", "userId"] {
        if obj.get(k).is_some_and(|v| v.as_str().is_none_or(str::is_empty)) {
            out.push(format!("{ty}: {k} must be a non-empty string when present"));
        }
    }
    match obj.get("timestamp").and_then(Value::as_str) {
        Some(t) if is_iso8601_ms(t) => {}
        t => out.push(format!("{ty}: timestamp {t:?} is not ISO-8601 with milliseconds")),
    }
    for k in ["context", "integrations", "properties", "traits"] {
        if obj.get(k).is_some_and(|v| !v.is_object()) {
            out.push(format!("{ty}: {k} must be an object"));
        }
    }
    if obj.get("context").is_none() {
        out.push(format!("{ty}: no context"));
    }
    if obj.get("retryCount").is_some_and(|v| v.as_u64().is_none()) {
        out.push(format!("{ty}: retryCount must be a non-negative integer"));
    }
    match ty {
        "track" => need_string("event", &mut out),
        "group" => need_string("groupId", &mut out),
        "alias" => {
            need_string("previousId", &mut out);
            need_string("userId", &mut out);
        }
        "screen" if obj.get("name").is_some_and(|v| !v.is_string()) => {
            out.push("screen: name must be a string".into())
        }
        _ => {}
    }
    if let Some(ctx) = obj.get("context").and_then(Value::as_object) {
        for k in ["library", "os", "app", "device", "screen", "network", "traits"] {
            if ctx.get(k).is_some_and(|v| !v.is_object()) {
                out.push(format!("{ty}: context.{k} must be an object"));
            }
        }
        for k in ["locale", "timezone", "ip", "userAgent"] {
            if ctx.get(k).is_some_and(|v| !v.is_string()) {
                out.push(format!("{ty}: context.{k} must be a string"));
            }
        }
        for (outer, inner) in [("library", "name"), ("library", "version"), ("os", "name"), ("os", "version")]
        {
            if ctx.get(outer).and_then(|o| o.get(inner)).is_some_and(|v| !v.is_string()) {
                out.push(format!("{ty}: context.{outer}.{inner} must be a string"));
            }
        }
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ`.
fn is_iso8601_ms(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            23 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}
