//! Tracker configuration: every knob, its default, and its validation.
//!
//! A `Config` is plain data behind setters: its fields are private to the crate,
//! and every knob has a setter (`set_*`, as its `at_config_set_*` export), so each
//! value is checked in exactly one place, the setter (those that can refuse one
//! return `Result`). The whole is checked (required fields present) when a tracker
//! is built from it. It never opens sockets; the only file it reads is a CA
//! bundle, once, to check it when it is set.

use std::path::PathBuf;

pub use crate::analytics::consent::Consent;
use crate::analytics::profile::Object;
use crate::analytics::session::{DEFAULT_BACKGROUND_TIMEOUT_MS, DEFAULT_FOREGROUND_TIMEOUT_MS};
use crate::delivery::host::HostSend;
pub use crate::delivery::tls::{CaBundle, PinnedKeys};
pub use crate::delivery::transport::AuthScheme;
use crate::error::{Error, Result};
use crate::hit::validate_http_url;

mod modes;
pub use modes::{
    CallbackMode, DropFn, DropReason, Durability, LogFn, LogLevel, ModeCell, OfflineMode, OptOutPolicy,
    RemoteConfigFn, Synchronous,
};

/// Whether `url` uses https (scheme compared without case).
pub(crate) fn is_https(url: &str) -> bool {
    url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

pub(crate) const DEFAULT_FLUSH_INTERVAL_MS: u32 = 30_000;
pub(crate) const DEFAULT_FLUSH_THRESHOLD: u32 = 20;
pub(crate) const DEFAULT_MAX_QUEUE_SIZE: u32 = 1000;
pub(crate) const DEFAULT_MAX_STORE_BYTES: u64 = 16 * 1024 * 1024;
/// The limit of Segment-style collectors (32 KB per event).
pub(crate) const DEFAULT_MAX_EVENT_BYTES: u32 = 32 * 1024;
/// 0: a hit is retried until delivered or older than `max_hit_age_ms`.
pub(crate) const DEFAULT_MAX_ATTEMPTS: u32 = 0;
/// 30 days.
pub(crate) const DEFAULT_MAX_HIT_AGE_MS: u64 = 30 * 24 * 3600 * 1000;
pub(crate) const DEFAULT_COMMIT_WINDOW_MS: u32 = 10;
pub(crate) const DEFAULT_BUSY_TIMEOUT_MS: u32 = 5_000;
pub(crate) const DEFAULT_CLOSE_TIMEOUT_MS: u32 = 2_000;
pub(crate) const DEFAULT_MAX_BATCH_EVENTS: u32 = 500;
pub(crate) const DEFAULT_MAX_BATCH_BYTES: u32 = 500_000;
pub(crate) const DEFAULT_REMOTE_CONFIG_INTERVAL_MS: u32 = 3_600_000;
pub(crate) const MIN_REMOTE_CONFIG_INTERVAL_MS: u32 = 100;
pub(crate) const DEFAULT_CONNECT_TIMEOUT_MS: u32 = 10_000;
pub(crate) const DEFAULT_REQUEST_TIMEOUT_MS: u32 = 30_000;
/// The largest event a host may configure: keeps one hit well inside one batch.
pub(crate) const MAX_EVENT_BYTES_LIMIT: u32 = 512 * 1024;

#[derive(Clone)]
pub struct Config {
    pub(crate) storage_path: Option<PathBuf>,
    /// Base URL of the collector, validated, without a trailing slash.
    pub(crate) endpoint: Option<String>,
    pub(crate) api_key: Option<String>,
    pub(crate) offline_mode: OfflineMode,
    pub(crate) durability: Durability,
    pub(crate) synchronous: Synchronous,
    /// 0 disables the timer trigger.
    pub(crate) flush_interval_ms: u32,
    /// 0 disables the threshold trigger.
    pub(crate) flush_threshold: u32,
    pub(crate) max_queue_size: u32,
    pub(crate) max_store_bytes: u64,
    pub(crate) max_event_bytes: u32,
    /// Failed attempts that reached the collector before a hit is dropped
    /// (`AttemptsExhausted`); 0 means unlimited (the default).
    pub(crate) max_attempts: u32,
    /// A hit that fails to send when older than this is dropped (`Expired`);
    /// 0 means no limit.
    pub(crate) max_hit_age_ms: u64,
    pub(crate) commit_window_ms: u32,
    pub(crate) busy_timeout_ms: u32,
    pub(crate) max_batch_events: u32,
    pub(crate) max_batch_bytes: u32,
    pub(crate) gzip: bool,
    pub(crate) auth: AuthScheme,
    pub(crate) connect_timeout_ms: u32,
    pub(crate) request_timeout_ms: u32,
    pub(crate) callbacks: CallbackMode,
    /// Record "Application Backgrounded" / "Application Opened" events.
    pub(crate) track_lifecycle_events: bool,
    /// Flush (within the host's deadline) on entering background; otherwise hits
    /// wait, stored, for the next foreground.
    pub(crate) flush_on_background: bool,
    pub(crate) log: Option<(LogFn, LogLevel)>,
    pub(crate) on_drop: Option<DropFn>,
    /// Where the remote configuration is fetched from; none when `None`.
    pub(crate) remote_config_url: Option<String>,
    pub(crate) remote_config_interval_ms: u32,
    /// Hosts a remote configuration may move the endpoint to (https only).
    pub(crate) allowed_endpoint_hosts: Vec<String>,
    pub(crate) on_remote_config: Option<RemoteConfigFn>,
    pub(crate) opt_out_policy: OptOutPolicy,
    /// Endpoint, remote config and hit URLs must be https.
    pub(crate) require_https: bool,
    /// The store may live in a world-writable directory (e.g. /tmp).
    pub(crate) allow_world_writable_directory: bool,
    /// Development only: TLS certificates and host names are not verified (a WARN
    /// at every tracker start says so).
    pub(crate) insecure_tls_for_development: bool,
    /// The host's HTTP stack; libcurl when `None`.
    pub(crate) transport: Option<HostSend>,
    /// Drops of stored hits are reported to the collector as events
    /// ("Attracker Hits Dropped", counts by reason), so it can account for
    /// every sequence number. On by default.
    pub(crate) report_drops: bool,
    /// Test hook: caps the database at this many pages (simulates a full disk).
    #[doc(hidden)]
    pub(crate) store_page_limit: Option<u32>,
    /// libcurl only: the CAs the collector's certificate must chain to, instead
    /// of the system's; `None` (the default) trusts the system's CAs.
    pub(crate) ca_bundle: Option<CaBundle>,
    /// libcurl only: the collector's public key must be one of these; `None`
    /// (the default) pins nothing.
    pub(crate) pinned_public_keys: Option<PinnedKeys>,
    /// The host's part of the event context from the first event on
    /// (`set_context`); empty by default.
    pub(crate) context: Object,
    /// Inactivity in the foreground before a new session (default 30 min).
    pub(crate) session_foreground_timeout_ms: u32,
    /// Time in the background before a new session (default 5 min).
    pub(crate) session_background_timeout_ms: u32,
    /// Record "Session Started" / "Session Ended" events (default off).
    pub(crate) track_session_events: bool,
    /// The consent of a store that has none kept yet (default granted).
    pub(crate) initial_consent: Consent,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            storage_path: None,
            endpoint: None,
            api_key: None,
            offline_mode: OfflineMode::Required,
            durability: Durability::OnReturn,
            synchronous: Synchronous::Normal,
            flush_interval_ms: DEFAULT_FLUSH_INTERVAL_MS,
            flush_threshold: DEFAULT_FLUSH_THRESHOLD,
            max_queue_size: DEFAULT_MAX_QUEUE_SIZE,
            max_store_bytes: DEFAULT_MAX_STORE_BYTES,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_hit_age_ms: DEFAULT_MAX_HIT_AGE_MS,
            commit_window_ms: DEFAULT_COMMIT_WINDOW_MS,
            busy_timeout_ms: DEFAULT_BUSY_TIMEOUT_MS,
            max_batch_events: DEFAULT_MAX_BATCH_EVENTS,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            gzip: false,
            auth: AuthScheme::Bearer,
            connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
            callbacks: CallbackMode::Thread,
            track_lifecycle_events: true,
            flush_on_background: true,
            log: None,
            on_drop: None,
            store_page_limit: None,
            report_drops: true,
            remote_config_url: None,
            remote_config_interval_ms: DEFAULT_REMOTE_CONFIG_INTERVAL_MS,
            allowed_endpoint_hosts: Vec::new(),
            on_remote_config: None,
            opt_out_policy: OptOutPolicy::Keep,
            require_https: false,
            allow_world_writable_directory: false,
            insecure_tls_for_development: false,
            transport: None,
            ca_bundle: None,
            pinned_public_keys: None,
            context: Object::new(),
            session_foreground_timeout_ms: DEFAULT_FOREGROUND_TIMEOUT_MS,
            session_background_timeout_ms: DEFAULT_BACKGROUND_TIMEOUT_MS,
            track_session_events: false,
            initial_consent: Consent::Granted,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The api key is a secret: never printed.
        f.debug_struct("Config")
            .field("storage_path", &self.storage_path)
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("offline_mode", &self.offline_mode)
            .field("durability", &self.durability)
            .field("max_queue_size", &self.max_queue_size)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_storage_path(&mut self, path: &str) -> Result<()> {
        if path.is_empty() {
            return Err(Error::invalid("storage path is empty"));
        }
        if path.ends_with('/') {
            return Err(Error::invalid(format!(
                "storage path '{path}' names a directory; pass the database file's path"
            )));
        }
        self.storage_path = Some(PathBuf::from(path));
        Ok(())
    }

    pub fn set_endpoint(&mut self, base_url: &str) -> Result<()> {
        validate_http_url(base_url, "endpoint")?;
        if base_url.contains('?') || base_url.contains('#') {
            return Err(Error::invalid(format!(
                "endpoint '{base_url}' must be a base URL without a query or fragment"
            )));
        }
        self.endpoint = Some(base_url.trim_end_matches('/').to_owned());
        Ok(())
    }

    pub fn set_api_key(&mut self, key: &str) -> Result<()> {
        if key.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::invalid("api key contains spaces or control characters"));
        }
        self.api_key = if key.is_empty() { None } else { Some(key.to_owned()) };
        Ok(())
    }

    /// The initial offline mode. Default `Required`.
    pub fn set_offline_mode(&mut self, mode: OfflineMode) {
        self.offline_mode = mode;
    }

    /// Default `OnReturn`.
    pub fn set_durability(&mut self, durability: Durability) {
        self.durability = durability;
    }

    /// Default `Normal`.
    pub fn set_synchronous(&mut self, synchronous: Synchronous) {
        self.synchronous = synchronous;
    }

    /// The timer trigger, from the first stored hit waiting; 0 disables it.
    /// Default 30000.
    pub fn set_flush_interval_ms(&mut self, ms: u32) {
        self.flush_interval_ms = ms;
    }

    /// The threshold trigger, in stored hits; 0 disables it. Default 20.
    pub fn set_flush_threshold(&mut self, hits: u32) {
        self.flush_threshold = hits;
    }

    /// Failed attempts that reached the collector before a hit is dropped
    /// (`AttemptsExhausted`); 0 (the default) means unlimited.
    pub fn set_max_attempts(&mut self, attempts: u32) {
        self.max_attempts = attempts;
    }

    /// A hit that fails to send when older than this is dropped (`Expired`);
    /// 0 means no limit. Default 30 days.
    pub fn set_max_hit_age_ms(&mut self, max_age_ms: u64) {
        self.max_hit_age_ms = max_age_ms;
    }

    /// Compress batch bodies with gzip. Default off.
    pub fn set_gzip(&mut self, enabled: bool) {
        self.gzip = enabled;
    }

    /// How the api key is sent. Default `Bearer`.
    pub fn set_auth_scheme(&mut self, scheme: AuthScheme) {
        self.auth = scheme;
    }

    /// Where host callbacks run. Default `Thread`.
    pub fn set_callback_mode(&mut self, mode: CallbackMode) {
        self.callbacks = mode;
    }

    /// Record "Application Backgrounded" / "Application Opened" events. Default on.
    pub fn set_track_lifecycle_events(&mut self, enabled: bool) {
        self.track_lifecycle_events = enabled;
    }

    /// Flush on entering background, within the host's deadline. Default on.
    pub fn set_flush_on_background(&mut self, enabled: bool) {
        self.flush_on_background = enabled;
    }

    /// Log lines at `min` or more severe go to `log`; `None` removes it.
    pub fn set_log_callback(&mut self, log: Option<LogFn>, min: LogLevel) {
        self.log = log.map(|f| (f, min));
    }

    /// Every hit dropped without an acknowledgement goes to `on_drop`; `None`
    /// removes it.
    pub fn set_drop_callback(&mut self, on_drop: Option<DropFn>) {
        self.on_drop = on_drop;
    }

    /// Each newly applied remote configuration document goes to `on_remote_config`;
    /// `None` removes it.
    pub fn set_remote_config_callback(&mut self, on_remote_config: Option<RemoteConfigFn>) {
        self.on_remote_config = on_remote_config;
    }

    /// What opting out does with hits already queued. Default `Keep`.
    pub fn set_opt_out_policy(&mut self, policy: OptOutPolicy) {
        self.opt_out_policy = policy;
    }

    /// The endpoint, the remote config URL and every hit URL must be https
    /// (checked by `validate` and at each `send_hit`). Default off.
    pub fn set_require_https(&mut self, required: bool) {
        self.require_https = required;
    }

    /// The store may live in a world-writable directory. Default off.
    pub fn set_allow_world_writable_directory(&mut self, allowed: bool) {
        self.allow_world_writable_directory = allowed;
    }

    /// Development only: TLS certificates and host names are not verified.
    /// Default off.
    pub fn set_insecure_tls_for_development(&mut self, insecure: bool) {
        self.insecure_tls_for_development = insecure;
    }

    /// The host's HTTP stack; `None` (the default) is libcurl.
    pub fn set_transport(&mut self, send: Option<HostSend>) {
        self.transport = send;
    }

    /// Report drops of stored hits to the collector as events. Default on.
    pub fn set_report_drops(&mut self, enabled: bool) {
        self.report_drops = enabled;
    }

    /// Test hook: caps the database at this many pages (a full disk).
    #[doc(hidden)]
    pub fn set_store_page_limit(&mut self, pages: Option<u32>) {
        self.store_page_limit = pages;
    }

    pub fn set_max_queue_size(&mut self, hits: u32) -> Result<()> {
        if hits == 0 {
            return Err(Error::invalid("max_queue_size must be at least 1"));
        }
        self.max_queue_size = hits;
        Ok(())
    }

    pub fn set_max_store_bytes(&mut self, bytes: u64) -> Result<()> {
        if bytes < 64 * 1024 {
            return Err(Error::invalid("max_store_bytes must be at least 65536"));
        }
        self.max_store_bytes = bytes;
        Ok(())
    }

    pub fn set_max_event_bytes(&mut self, bytes: u32) -> Result<()> {
        if !(256..=MAX_EVENT_BYTES_LIMIT).contains(&bytes) {
            return Err(Error::invalid(format!(
                "max_event_bytes must be between 256 and {MAX_EVENT_BYTES_LIMIT}"
            )));
        }
        self.max_event_bytes = bytes;
        Ok(())
    }

    pub fn set_commit_window_ms(&mut self, ms: u32) -> Result<()> {
        if ms > 1000 {
            return Err(Error::invalid("commit_window_ms must be at most 1000"));
        }
        self.commit_window_ms = ms;
        Ok(())
    }

    pub fn set_busy_timeout_ms(&mut self, ms: u32) -> Result<()> {
        if ms > 60_000 {
            return Err(Error::invalid("busy_timeout_ms must be at most 60000"));
        }
        self.busy_timeout_ms = ms;
        Ok(())
    }

    pub fn set_max_batch_events(&mut self, events: u32) -> Result<()> {
        if !(1..=10_000).contains(&events) {
            return Err(Error::invalid("max_batch_events must be between 1 and 10000"));
        }
        self.max_batch_events = events;
        Ok(())
    }

    pub fn set_max_batch_bytes(&mut self, bytes: u32) -> Result<()> {
        if !(1024..=16 * 1024 * 1024).contains(&bytes) {
            return Err(Error::invalid("max_batch_bytes must be between 1024 and 16777216"));
        }
        self.max_batch_bytes = bytes;
        Ok(())
    }

    /// The URL of the remote configuration document (http or https); `None`
    /// turns remote configuration off.
    pub fn set_remote_config_url(&mut self, url: Option<&str>) -> Result<()> {
        if let Some(url) = url {
            validate_http_url(url, "remote config URL")?;
        }
        self.remote_config_url = url.map(str::to_owned);
        Ok(())
    }

    pub fn set_remote_config_interval_ms(&mut self, ms: u32) -> Result<()> {
        if ms < MIN_REMOTE_CONFIG_INTERVAL_MS {
            return Err(Error::invalid(format!(
                "remote_config_interval_ms must be at least {MIN_REMOTE_CONFIG_INTERVAL_MS}"
            )));
        }
        self.remote_config_interval_ms = ms;
        Ok(())
    }

    /// Allows a remote configuration to move the endpoint to `host` (https only).
    pub fn add_allowed_endpoint_host(&mut self, host: &str) -> Result<()> {
        // A host name, or an IPv6 address in brackets: no scheme, port or path.
        let ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => !v6.is_empty() && v6.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.'),
            None => {
                !host.is_empty()
                    && host.len() <= 253
                    && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            }
        };
        if !ok {
            return Err(Error::invalid(format!(
                "allowed endpoint host '{}' is not a host name (no scheme, port or path)",
                crate::hit::shorten(host)
            )));
        }
        let host = host.to_ascii_lowercase();
        if !self.allowed_endpoint_hosts.contains(&host) {
            self.allowed_endpoint_hosts.push(host);
        }
        Ok(())
    }

    pub fn set_timeouts_ms(&mut self, connect: u32, request: u32) -> Result<()> {
        if connect == 0 || request == 0 || connect > 300_000 || request > 300_000 {
            return Err(Error::invalid("timeouts must be between 1 and 300000 ms"));
        }
        self.connect_timeout_ms = connect;
        self.request_timeout_ms = request;
        Ok(())
    }

    /// Checks what can only be checked on the whole: the required fields.
    pub fn validate(&self) -> Result<()> {
        let mut missing = Vec::new();
        if self.storage_path.is_none() {
            missing.push("storage path (at_config_set_storage_path)");
        }
        if self.endpoint.is_none() {
            missing.push("endpoint (at_config_set_endpoint)");
        }
        if !missing.is_empty() {
            return Err(Error::invalid(format!("config is missing: {}", missing.join(", "))));
        }
        if self.require_https {
            let urls = [
                ("endpoint", self.endpoint.as_deref()),
                ("remote config URL", self.remote_config_url.as_deref()),
            ];
            for (what, url) in urls {
                if let Some(url) = url.filter(|u| !is_https(u)) {
                    return Err(Error::invalid(format!(
                        "{what} '{url}' is not https, and require_https is set"
                    )));
                }
            }
        }
        if self.transport.is_some() && (self.ca_bundle.is_some() || self.pinned_public_keys.is_some()) {
            return Err(Error::invalid(
                "a CA bundle or pinned public keys apply to the libcurl transport only; \
                 a host transport (at_config_set_transport) must apply its own",
            ));
        }
        Ok(())
    }

    /// The URL events are posted to.
    pub fn batch_url(&self) -> String {
        format!("{}/v1/batch", self.endpoint.as_deref().unwrap_or(""))
    }

    /// Trusts only the CAs in the PEM file at `path` (read by libcurl at each
    /// handshake; checked now: readable, with a certificate). `None` goes back
    /// to the system's CAs. Replaces a bundle set by `set_ca_bundle_pem`.
    pub fn set_ca_bundle_path(&mut self, path: Option<&str>) -> Result<()> {
        self.ca_bundle = path.map(CaBundle::file).transpose()?;
        Ok(())
    }

    /// Trusts only the CAs in `pem` (PEM text, copied). `None` goes back to the
    /// system's CAs. Replaces a bundle set by `set_ca_bundle_path`.
    pub fn set_ca_bundle_pem(&mut self, pem: Option<&str>) -> Result<()> {
        self.ca_bundle = pem.map(CaBundle::pem).transpose()?;
        Ok(())
    }

    /// The host's part of the event context (`app`, `device`, `screen`,
    /// `network`, ...: a JSON object), in every event's `context` from the
    /// first one on. Replaces what an earlier call set. The library's own keys
    /// (`library`, `attracker`, `sessionId`) are refused.
    pub fn set_context(&mut self, json: &str) -> Result<()> {
        self.context = crate::analytics::context::parse_host_context(json)?;
        Ok(())
    }

    /// Session timeouts: a hit tracked after more than `foreground_ms` of
    /// inactivity, or after more than `background_ms` in the background, starts
    /// a new session. Each between 1 s and 7 days.
    pub fn set_session_timeouts_ms(&mut self, foreground_ms: u32, background_ms: u32) -> Result<()> {
        const RANGE: std::ops::RangeInclusive<u32> = 1_000..=7 * 24 * 3_600_000;
        if !RANGE.contains(&foreground_ms) || !RANGE.contains(&background_ms) {
            return Err(Error::invalid("session timeouts must be between 1000 ms and 7 days"));
        }
        self.session_foreground_timeout_ms = foreground_ms;
        self.session_background_timeout_ms = background_ms;
        Ok(())
    }

    pub fn set_track_session_events(&mut self, enabled: bool) {
        self.track_session_events = enabled;
    }

    /// The consent a new store starts with; a store that kept one (from an
    /// earlier `Tracker::set_consent`) keeps it.
    pub fn set_initial_consent(&mut self, consent: Consent) {
        self.initial_consent = consent;
    }

    /// Pins the collector's public key: `"sha256//<base64>[;sha256//<base64>]"`.
    /// `None` removes the pins.
    pub fn set_pinned_public_key(&mut self, pins: Option<&str>) -> Result<()> {
        self.pinned_public_keys = pins.map(PinnedKeys::parse).transpose()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let c = Config::new();
        assert_eq!(c.offline_mode, OfflineMode::Required);
        assert_eq!(c.durability, Durability::OnReturn);
        assert_eq!(c.max_queue_size, 1000);
        assert_eq!(c.flush_interval_ms, 30_000);
        assert_eq!(c.flush_threshold, 20);
        assert_eq!(c.max_attempts, 0, "unlimited: hits are kept until max_hit_age_ms");
        assert_eq!(c.max_hit_age_ms, 30 * 24 * 3600 * 1000);
        assert_eq!(c.max_event_bytes, 32 * 1024);
        assert_eq!(c.max_batch_events, 500);
        assert_eq!(c.max_batch_bytes, 500_000);
        assert!(!c.gzip);
    }

    #[test]
    fn allowed_endpoint_hosts_are_bare_hosts() {
        let mut c = Config::new();
        for ok in ["collect.example.com", "LOCALHOST", "[::1]", "a_b-c.d"] {
            assert!(c.add_allowed_endpoint_host(ok).is_ok(), "{ok}");
        }
        for bad in ["", "h.example:443", "[::1]:443", "https://h", "h/x", "[]", "h\n"] {
            assert!(c.add_allowed_endpoint_host(bad).is_err(), "{bad}");
        }
        assert_eq!(c.allowed_endpoint_hosts, ["collect.example.com", "localhost", "[::1]", "a_b-c.d"]);
    }

    #[test]
    fn validate_names_every_missing_required_field() {
        let err = Config::new().validate().unwrap_err();
        assert!(err.message.contains("storage path"), "{}", err.message);
        assert!(err.message.contains("endpoint"), "{}", err.message);
    }

    #[test]
    fn endpoint_loses_its_trailing_slash_and_gives_the_batch_url() {
        let mut c = Config::new();
        c.set_endpoint("https://collect.example.com/base/").unwrap();
        assert_eq!(c.batch_url(), "https://collect.example.com/base/v1/batch");
    }

    #[test]
    fn endpoint_rejects_other_schemes_and_queries() {
        let mut c = Config::new();
        assert!(c.set_endpoint("ftp://x.example").is_err());
        assert!(c.set_endpoint("https://x.example/?a=1").is_err());
        assert!(c.set_endpoint("not a url").is_err());
        assert!(c.endpoint.is_none(), "a rejected endpoint changes nothing");
    }

    #[test]
    fn trust_setters_refuse_bad_input_unchanged_and_none_unsets() {
        let pin = "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        let mut c = Config::new();
        c.set_pinned_public_key(Some(pin)).unwrap();
        assert!(c.set_pinned_public_key(Some("sha256//short")).is_err());
        assert_eq!(c.pinned_public_keys.as_ref().map(PinnedKeys::as_curl), Some(pin), "unchanged");
        c.set_pinned_public_key(None).unwrap();
        assert!(c.pinned_public_keys.is_none());

        let pem = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
        c.set_ca_bundle_pem(Some(pem)).unwrap();
        assert!(c.set_ca_bundle_pem(Some("no certificate")).is_err());
        assert!(c.set_ca_bundle_path(Some("/nonexistent/ca.pem")).is_err());
        assert_eq!(c.ca_bundle, Some(CaBundle::Pem(pem.into())), "unchanged");
        c.set_ca_bundle_path(None).unwrap();
        assert!(c.ca_bundle.is_none());
    }

    #[test]
    fn trust_settings_are_refused_with_a_host_transport() {
        let mut c = Config::new();
        c.set_storage_path("/x/hits.db").unwrap();
        c.set_endpoint("https://collect.example.com").unwrap();
        c.transport = Some(std::sync::Arc::new(|_| {}));
        assert!(c.validate().is_ok());
        c.set_pinned_public_key(Some("sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")).unwrap();
        assert!(c.validate().unwrap_err().message.contains("host transport"));
    }

    #[test]
    fn debug_output_never_shows_the_api_key() {
        let mut c = Config::new();
        c.set_api_key("sk_secret_123").unwrap();
        assert!(!format!("{c:?}").contains("sk_secret_123"));
    }
}
