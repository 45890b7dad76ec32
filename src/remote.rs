//! Remote configuration: a JSON document fetched from the host's URL, kept in the
//! store as the last good one, and applied over the built-in configuration.
//!
//! ```json
//! {"schema_version": 1, "tracking_enabled": true, "flush_interval_ms": 30000,
//!  "flush_threshold": 20, "max_batch_events": 500, "sample_rate": 0.25,
//!  "endpoint": "https://collect.example.com", "your_own_key": "kept for you"}
//! ```
//!
//! A document that is not a JSON object or has another `schema_version` is
//! refused whole (the last good one stays). `events` holds per-event rules
//! (`analytics::rules`). A known key with a wrong type or a
//! value out of range is ignored alone, with a WARN. Other keys are the host's:
//! `at_remote_config_json` returns the document as fetched.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use serde_json::{Map, Value};

use crate::analytics::rules::EventRules;
use crate::config::Config;
use crate::hit::validate_http_url;

/// The `schema_version` this library reads.
pub(crate) const SCHEMA_VERSION: i64 = 1;
/// Largest document accepted.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Meta keys of the cached document (written together, in one transaction).
pub(crate) const META_DOCUMENT: &str = "remote_config";
pub(crate) const META_ETAG: &str = "remote_config_etag";
pub(crate) const META_FETCHED_MS: &str = "remote_config_fetched_ms";
pub(crate) const META_SCHEMA: &str = "remote_config_schema";

/// The values a document sets; `None` leaves the configuration's own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    pub tracking_enabled: Option<bool>,
    pub flush_interval_ms: Option<u32>,
    pub flush_threshold: Option<u32>,
    pub max_batch_events: Option<u32>,
    pub sample_rate: Option<f64>,
    /// A base URL, https, on an allowed host.
    pub endpoint: Option<String>,
    /// Per-event rules (`events`), applied at track time.
    pub events: EventRules,
}

/// Reads a document. `Err` (with the reason) refuses it whole; otherwise the
/// overrides and a warning for each value that was ignored.
pub fn parse(doc: &str, allowed_hosts: &[String]) -> Result<(Overrides, Vec<String>), String> {
    if doc.len() > MAX_DOCUMENT_BYTES {
        return Err(format!("it is {} bytes; at most {MAX_DOCUMENT_BYTES} are read", doc.len()));
    }
    let value: Value = serde_json::from_str(doc).map_err(|e| format!("it is not valid JSON: {e}"))?;
    let Value::Object(map) = value else { return Err("it is not a JSON object".into()) };
    match map.get("schema_version").and_then(Value::as_i64) {
        Some(SCHEMA_VERSION) => {}
        Some(v) => return Err(format!("its schema_version is {v}; this library reads {SCHEMA_VERSION}")),
        None => return Err("it has no integer schema_version".into()),
    }
    let mut warnings = Vec::new();
    let mut o = Overrides::default();
    let mut warn = |key: &str, why: String| warnings.push(format!("remote config: {key} ignored: {why}"));
    o.tracking_enabled =
        field(&map, "tracking_enabled", &mut warn, |v| v.as_bool().ok_or("not a boolean".into()));
    o.flush_interval_ms = field(&map, "flush_interval_ms", &mut warn, |v| int_in(v, 0, 86_400_000));
    o.flush_threshold = field(&map, "flush_threshold", &mut warn, |v| int_in(v, 0, 100_000));
    o.max_batch_events = field(&map, "max_batch_events", &mut warn, |v| int_in(v, 1, 10_000));
    o.sample_rate = field(&map, "sample_rate", &mut warn, |v| match v.as_f64() {
        Some(r) if (0.0..=1.0).contains(&r) => Ok(r),
        Some(r) => Err(format!("{r} is not between 0 and 1")),
        None => Err("not a number".into()),
    });
    o.endpoint = field(&map, "endpoint", &mut warn, |v| {
        let url = v.as_str().ok_or("not a string")?;
        endpoint(url, allowed_hosts)
    });
    if let Some(events) = map.get("events") {
        o.events = EventRules::parse(events, &mut |w| warnings.push(w));
    }
    Ok((o, warnings))
}

fn field<T>(
    map: &Map<String, Value>,
    key: &str,
    warn: &mut impl FnMut(&str, String),
    read: impl FnOnce(&Value) -> Result<T, String>,
) -> Option<T> {
    let v = map.get(key)?;
    match read(v) {
        Ok(t) => Some(t),
        Err(why) => {
            warn(key, why);
            None
        }
    }
}

fn int_in(v: &Value, min: u64, max: u64) -> Result<u32, String> {
    match v.as_u64() {
        Some(n) if (min..=max).contains(&n) => Ok(n as u32),
        Some(n) => Err(format!("{n} is not between {min} and {max}")),
        None => Err(format!("not an integer between {min} and {max}")),
    }
}

/// An endpoint override must be https and on a host the app allowed.
fn endpoint(url: &str, allowed_hosts: &[String]) -> Result<String, String> {
    validate_http_url(url, "endpoint").map_err(|e| e.message)?;
    let Some(rest) = url.get(..8).filter(|s| s.eq_ignore_ascii_case("https://")).map(|_| &url[8..]) else {
        return Err(format!("'{url}' is not https"));
    };
    if url.contains('?') || url.contains('#') {
        return Err(format!("'{url}' has a query or fragment"));
    }
    let authority = rest.split('/').next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    }
    .to_ascii_lowercase();
    if authority.contains('@') || !allowed_hosts.iter().any(|h| h.trim_matches(['[', ']']) == host) {
        return Err(format!("host '{host}' is not among the hosts allowed in the configuration"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The fixed part: where and how often to fetch, what may be overridden.
pub struct RemoteSettings {
    pub url: Option<String>,
    pub interval: Duration,
    pub allowed_hosts: Vec<String>,
}

impl RemoteSettings {
    pub fn from_config(c: &Config) -> Self {
        RemoteSettings {
            url: c.remote_config_url.clone(),
            interval: Duration::from_millis(c.remote_config_interval_ms.into()),
            allowed_hosts: c.allowed_endpoint_hosts.clone(),
        }
    }
}

/// The remote configuration in force, shared by the tracker (which gates and
/// samples hits) and the delivery thread (which fetches it and applies the
/// delivery values).
pub struct Remote {
    /// The document in force (as fetched) and its ETag.
    document: RwLock<Option<(String, Option<String>)>>,
    overrides: RwLock<Overrides>,
    /// `tracking_enabled` of the document (true without one).
    enabled: AtomicBool,
    /// `sample_rate` in millionths (1,000,000 without a document).
    sample_ppm: AtomicU32,
    /// Bumped on every change, for the delivery thread.
    version: AtomicU64,
    /// The document's per-event rules; `None` without any.
    rules: RwLock<Option<Arc<EventRules>>>,
}

impl Default for Remote {
    fn default() -> Self {
        Remote {
            document: RwLock::new(None),
            overrides: RwLock::new(Overrides::default()),
            enabled: AtomicBool::new(true),
            sample_ppm: AtomicU32::new(1_000_000),
            version: AtomicU64::new(0),
            rules: RwLock::new(None),
        }
    }
}

impl Remote {
    /// Puts a parsed document in force.
    pub fn apply(&self, doc: String, etag: Option<String>, o: Overrides) {
        self.enabled.store(o.tracking_enabled.unwrap_or(true), SeqCst);
        let ppm = o.sample_rate.map_or(1_000_000, |r| (r * 1_000_000.0).round() as u32);
        self.sample_ppm.store(ppm, SeqCst);
        *self.rules.write() = (!o.events.is_empty()).then(|| Arc::new(o.events.clone()));
        *self.overrides.write() = o;
        *self.document.write() = Some((doc, etag));
        self.version.fetch_add(1, SeqCst);
    }

    pub fn document(&self) -> Option<String> {
        self.document.read().as_ref().map(|(d, _)| d.clone())
    }

    pub fn etag(&self) -> Option<String> {
        self.document.read().as_ref().and_then(|(_, e)| e.clone())
    }

    pub fn overrides(&self) -> Overrides {
        self.overrides.read().clone()
    }

    /// The per-event rules in force; `None` when there are none.
    pub fn rules(&self) -> Option<Arc<EventRules>> {
        self.rules.read().clone()
    }

    pub fn version(&self) -> u64 {
        self.version.load(SeqCst)
    }

    /// The kill switch: false stops collection.
    pub fn tracking_enabled(&self) -> bool {
        self.enabled.load(SeqCst)
    }

    /// Whether a visitor in `bucket` (0..1,000,000, from `visitor_bucket`) is sampled in.
    pub fn samples(&self, bucket: u32) -> bool {
        bucket < self.sample_ppm.load(SeqCst)
    }
}

/// A visitor's place in 0..1,000,000: a hash of the visitor id, so a visitor is
/// in or out of a sample consistently, across restarts and devices.
pub fn visitor_bucket(visitor_id: &str) -> u32 {
    // FNV-1a, 64 bits: stable across versions and platforms (unlike std's hasher).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in visitor_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % 1_000_000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_sets_what_it_names_and_ignores_bad_values_one_by_one() {
        let hosts = vec!["collect.example.com".to_string()];
        let doc = r#"{"schema_version":1,"tracking_enabled":false,"flush_interval_ms":5000,
            "flush_threshold":-3,"max_batch_events":"many","sample_rate":1.5,
            "endpoint":"https://collect.example.com/","mine":{"a":1}}"#;
        let (o, warnings) = parse(doc, &hosts).unwrap();
        assert_eq!(o.tracking_enabled, Some(false));
        assert_eq!(o.flush_interval_ms, Some(5000));
        assert_eq!((o.flush_threshold, o.max_batch_events, o.sample_rate), (None, None, None));
        assert_eq!(o.endpoint.as_deref(), Some("https://collect.example.com"));
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("sample_rate") && w.contains("1.5")), "{warnings:?}");
    }

    #[test]
    fn a_bad_document_is_refused_whole() {
        for (doc, why) in [
            ("not json", "not valid JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"tracking_enabled":false}"#, "no integer schema_version"),
            (r#"{"schema_version":2}"#, "schema_version is 2"),
        ] {
            let err = parse(doc, &[]).unwrap_err();
            assert!(err.contains(why), "{doc}: {err}");
        }
    }

    #[test]
    fn an_endpoint_must_be_https_on_an_allowed_host() {
        let hosts = vec!["collect.example.com".to_string()];
        let ok = |url: &str| parse(&format!(r#"{{"schema_version":1,"endpoint":"{url}"}}"#), &hosts).unwrap();
        assert!(ok("http://collect.example.com").0.endpoint.is_none());
        assert!(ok("https://evil.example.com").0.endpoint.is_none());
        assert!(ok("https://user@collect.example.com").0.endpoint.is_none());
        assert!(ok("https://collect.example.com.evil.com").0.endpoint.is_none());
        assert_eq!(
            ok("https://Collect.Example.com:8443/x").0.endpoint.as_deref(),
            Some("https://Collect.Example.com:8443/x")
        );
    }

    #[test]
    fn sampling_is_a_stable_function_of_the_visitor() {
        let r = Remote::default();
        let (o, _) = parse(r#"{"schema_version":1,"sample_rate":0.5}"#, &[]).unwrap();
        r.apply(String::new(), None, o);
        let ids: Vec<String> = (0..2000).map(|i| format!("visitor-{i}")).collect();
        let inside = ids.iter().filter(|v| r.samples(visitor_bucket(v))).count();
        assert!((800..1200).contains(&inside), "{inside} of 2000 sampled at 0.5");
        assert_eq!(visitor_bucket("visitor-7"), visitor_bucket("visitor-7"));
        assert_eq!(visitor_bucket(""), (0xcbf2_9ce4_8422_2325u64 % 1_000_000) as u32);
    }
}
