//! The event context: what the library knows itself (`library`, `os`,
//! `locale`, `timezone`) with the host's objects (`app`, `device`, `screen`,
//! `network`, ... any top-level key) merged over it. Each distinct context is
//! stored once, in the `contexts` table; a hit refers to the one current when
//! it was tracked.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde_json::{json, Value};

use crate::analytics::profile::{parse_object, to_text, Object};
use crate::error::{Error, Result};

/// Keys the library writes into every event's context itself.
const RESERVED: [&str; 3] = ["library", "attracker", "sessionId"];

/// Largest host context accepted (it goes with every event).
pub(crate) const MAX_CONTEXT_BYTES: usize = 8 * 1024;

/// Checks a host context document: a JSON object without the library's keys.
pub fn parse_host_context(text: &str) -> Result<Object> {
    if text.len() > MAX_CONTEXT_BYTES {
        return Err(Error::invalid(format!(
            "the context is {} bytes; at most {MAX_CONTEXT_BYTES} are accepted",
            text.len()
        )));
    }
    let o = parse_object(text, "context")?;
    if let Some(k) = RESERVED.iter().find(|k| o.contains_key(**k)) {
        return Err(Error::invalid(format!("context key '{k}' is written by the library; leave it out")));
    }
    Ok(o)
}

/// `host` with `update`'s top-level keys set on it; a key whose value is
/// `null` is removed.
pub fn updated(host: &Object, update: Object) -> Object {
    let mut out = host.clone();
    for (k, v) in update {
        if v.is_null() {
            out.remove(&k);
        } else {
            out.insert(k, v);
        }
    }
    out
}

/// The context in force: the host's part, and the full text every hit tracked
/// now shares (the writer stores each distinct text once).
#[derive(Debug)]
pub struct Contexts {
    base: Object,
    /// Held while a change is made, so changes apply in order.
    host: Mutex<Object>,
    current: RwLock<Arc<str>>,
}

impl Contexts {
    /// The library's part and the host's part from the configuration.
    pub fn new(base: Object, host: Object) -> Self {
        let text = full_text(&base, &host);
        Contexts { base, host: Mutex::new(host), current: RwLock::new(Arc::from(text)) }
    }

    pub fn current(&self) -> Arc<str> {
        Arc::clone(&self.current.read())
    }

    /// Applies `update` to the host part.
    pub fn change(&self, update: Object) {
        let mut host = self.host.lock();
        let next = updated(&host, update);
        *self.current.write() = Arc::from(full_text(&self.base, &next));
        *host = next;
    }
}

/// The stored text: the library's part, then the host's keys over it.
pub fn full_text(base: &Object, host: &Object) -> String {
    let mut o = base.clone();
    o.extend(host.iter().map(|(k, v)| (k.clone(), v.clone())));
    to_text(&o)
}

/// What the library knows about where it runs.
pub fn library_context() -> Object {
    let mut o = Object::new();
    o.insert("library".into(), json!({"name": "attracker", "version": env!("CARGO_PKG_VERSION")}));
    let mut os = Object::new();
    os.insert("name".into(), Value::from(os_name()));
    if let Some(v) = os_version() {
        os.insert("version".into(), Value::from(v));
    }
    o.insert("os".into(), Value::Object(os));
    if let Some(l) = locale() {
        o.insert("locale".into(), Value::from(l));
    }
    if let Some(tz) = timezone() {
        o.insert("timezone".into(), Value::from(tz));
    }
    o
}

fn os_name() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "android" => "Android",
        "ios" => "iOS",
        "macos" => "macOS",
        "windows" => "Windows",
        "tvos" => "tvOS",
        "visionos" => "visionOS",
        "freebsd" => "FreeBSD",
        other => other,
    }
}

/// The kernel release on Linux and Android; the product version on Apple
/// platforms. `None` elsewhere: the host sets `os.version` in its context.
fn os_version() -> Option<String> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let v = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
        Some(v.trim().to_owned()).filter(|v| !v.is_empty())
    }
    #[cfg(target_vendor = "apple")]
    {
        apple_product_version()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
    {
        None
    }
}

#[cfg(target_vendor = "apple")]
fn apple_product_version() -> Option<String> {
    let mut buf = [0u8; 64];
    let mut len = buf.len();
    let name = c"kern.osproductversion";
    // SAFETY: the name is a NUL-terminated C string; buf and len describe a
    // writable buffer; no new value is set.
    let rc = unsafe {
        libc::sysctlbyname(name.as_ptr(), buf.as_mut_ptr().cast(), &mut len, std::ptr::null_mut(), 0)
    };
    if rc != 0 || len == 0 {
        return None;
    }
    let end = buf[..len].iter().position(|&b| b == 0).unwrap_or(len);
    String::from_utf8(buf[..end].to_vec()).ok()
}

/// The locale from the POSIX environment (`LC_ALL`, `LC_MESSAGES`, `LANG`) as
/// a BCP 47 tag (`en_US.UTF-8` → `en-US`); `None` for the C/POSIX locale or
/// when unset (mobile apps: the host sets `locale` in its context).
fn locale() -> Option<String> {
    let raw = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())?;
    bcp47(&raw)
}

pub(crate) fn bcp47(posix: &str) -> Option<String> {
    let tag = posix.split(['.', '@']).next()?.replace('_', "-");
    let ok = !tag.is_empty()
        && tag != "C"
        && tag != "POSIX"
        && tag.len() <= 35
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then_some(tag)
}

/// The IANA time zone: `TZ` when it names one, else the target of
/// /etc/localtime. `None` when neither says.
fn timezone() -> Option<String> {
    let valid = |tz: &str| {
        !tz.is_empty()
            && tz.len() <= 64
            && tz.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
    };
    if let Ok(tz) = std::env::var("TZ") {
        let tz = tz.trim_start_matches(':');
        if valid(tz) {
            return Some(tz.to_owned());
        }
    }
    let target = std::fs::read_link("/etc/localtime").ok()?;
    let target = target.to_str()?;
    let name = target.split_once("zoneinfo/")?.1;
    valid(name).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_part_names_the_library_and_the_os() {
        let c = library_context();
        assert_eq!(c["library"]["name"], "attracker");
        assert_eq!(c["os"]["name"], os_name());
        #[cfg(target_os = "linux")]
        assert!(c["os"]["version"].as_str().is_some_and(|v| !v.is_empty()));
    }

    #[test]
    fn posix_locales_become_bcp47_tags() {
        assert_eq!(bcp47("en_US.UTF-8").as_deref(), Some("en-US"));
        assert_eq!(bcp47("de_DE@euro").as_deref(), Some("de-DE"));
        assert_eq!(bcp47("fr").as_deref(), Some("fr"));
        assert_eq!(bcp47("C.UTF-8"), None);
        assert_eq!(bcp47("POSIX"), None);
    }

    #[test]
    fn host_keys_merge_over_the_library_and_null_removes_one() {
        let base = library_context();
        let host =
            parse_host_context(r#"{"app":{"name":"Game","version":"1.2"},"os":{"name":"iOS"}}"#).unwrap();
        let v: Value = serde_json::from_str(&full_text(&base, &host)).unwrap();
        assert_eq!(v["app"]["version"], "1.2");
        assert_eq!(v["os"], json!({"name": "iOS"}), "the host knows its OS better");
        assert_eq!(v["library"]["name"], "attracker");
        let next = updated(&host, parse_host_context(r#"{"app":null,"network":{"wifi":true}}"#).unwrap());
        assert!(!next.contains_key("app"));
        assert_eq!(next["network"]["wifi"], true);
    }

    #[test]
    fn the_library_keys_and_oversized_or_bad_documents_are_refused() {
        for bad in [r#"{"library":{}}"#, r#"{"attracker":1}"#, r#"{"sessionId":1}"#, "[1]", "{"] {
            assert!(parse_host_context(bad).is_err(), "{bad}");
        }
        let big = format!(r#"{{"app":"{}"}}"#, "x".repeat(MAX_CONTEXT_BYTES));
        assert!(parse_host_context(&big).unwrap_err().message.contains("bytes"));
    }
}
