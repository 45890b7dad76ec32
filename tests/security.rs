//! Security: the api key stays secret, the store stays private, https can be
//! required, and TLS verification is off only by a named development option.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use attracker::{Config, LogLevel, OfflineMode, Status, Tracker};
use common::collector::{Collector, Fault};
use common::{collector_config, dispatch, Logs, TempDir};

const KEY: &str = "SECRET-api-KEY-7f3a9c";

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn the_api_key_never_appears_in_logs_errors_or_the_store() {
    let dir = TempDir::new("key");
    let c = Collector::start();
    c.set_required_auth(Some(format!("Bearer {KEY}")));
    let mut cfg = collector_config(&dir, &c);
    cfg.set_api_key(KEY).unwrap();
    let logs = Logs::default();
    logs.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    let mut errors = Vec::new();
    for i in 0..5 {
        t.track_event("e", Some(&format!(r#"{{"i":{i}}}"#)), None).unwrap();
    }
    assert_eq!(dispatch(&t).sent, 5, "the key works");
    // Failures of every kind, each logged: refused key, server errors, resets.
    c.set_required_auth(Some("Bearer another".into()));
    t.track_event("e", None, None).unwrap();
    errors.push(format!("{:?}", dispatch(&t).status));
    c.set_required_auth(Some(format!("Bearer {KEY}")));
    for fault in [Fault::Status(503), Fault::Reset, Fault::RetryAfter(429, "1".into())] {
        c.set_fault(fault);
        t.track_event("e", None, None).unwrap();
        errors.push(format!("{:?}", dispatch(&t).status));
    }
    c.set_fault(Fault::None);
    errors.push(format!("{:?}", t.track_event("", None, None).unwrap_err()));
    t.close(Duration::from_secs(2)).unwrap();
    drop(t);

    let lines = logs.0.lock().unwrap().clone();
    assert!(lines.iter().any(|(l, m)| *l == LogLevel::Error && m.contains("401")), "the refusal was logged");
    for (level, line) in &lines {
        assert!(!line.contains(KEY), "the key in a {level:?} log line: {line}");
    }
    for e in &errors {
        assert!(!e.contains(KEY), "the key in an error: {e}");
    }
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", dir.db().display());
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(!contains(&bytes, KEY), "the key in {path}");
        }
    }
}

#[test]
fn the_store_and_its_wal_and_shm_are_private() {
    let dir = TempDir::new("modes");
    let t = Tracker::new(common::config(&dir.path().join("private/hits.db"))).unwrap();
    t.track_event("e", None, None).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", dir.path().join("private/hits.db").display());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{path}");
    }
    let mode = std::fs::metadata(dir.path().join("private")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn a_world_writable_directory_is_refused_unless_allowed() {
    let dir = TempDir::new("ww");
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let db = shared.join("hits.db");
    let err = Tracker::new(common::config(&db)).err().expect("refused");
    assert_eq!(err.status, Status::InvalidArgument);
    assert!(err.message.contains("world-writable"), "{}", err.message);
    assert!(!db.exists(), "nothing was created");
    let mut cfg = common::config(&db);
    cfg.set_allow_world_writable_directory(true);
    let t = Tracker::new(cfg).unwrap();
    t.track_event("e", None, None).unwrap();
    assert_eq!(std::fs::metadata(&db).unwrap().permissions().mode() & 0o777, 0o600, "still private");
}

#[test]
fn require_https_refuses_plain_http_everywhere() {
    let dir = TempDir::new("https");
    let mut cfg = common::config(&dir.db()); // endpoint http://127.0.0.1:9
    cfg.set_require_https(true);
    let err = Tracker::new(cfg.clone()).err().expect("an http endpoint is refused");
    assert!(err.message.contains("endpoint") && err.message.contains("https"), "{}", err.message);

    cfg.set_endpoint("https://127.0.0.1:9").unwrap();
    cfg.set_remote_config_url(Some("http://127.0.0.1:9/config")).unwrap();
    let err = Tracker::new(cfg.clone()).err().expect("an http remote config URL is refused");
    assert!(err.message.contains("remote config URL"), "{}", err.message);

    cfg.set_remote_config_url(None).unwrap();
    cfg.set_offline_mode(OfflineMode::Always);
    let t = Tracker::new(cfg).unwrap();
    let err = t.send_hit("http://127.0.0.1:9/hit?x=1", "screen", None).unwrap_err();
    assert_eq!(err.status, Status::InvalidArgument);
    assert_eq!(t.offline_count().unwrap(), 0, "nothing kept");
    t.send_hit("https://127.0.0.1:9/hit?x=1", "screen", None).unwrap();
    assert_eq!(t.offline_count().unwrap(), 1);
}

#[test]
fn turning_tls_verification_off_is_named_and_warned_at_every_start() {
    let dir = TempDir::new("insecure");
    for _ in 0..2 {
        let mut cfg: Config = common::config(&dir.db());
        cfg.set_insecure_tls_for_development(true);
        let logs = Logs::default();
        logs.attach(&mut cfg);
        let t = Tracker::new(cfg).unwrap();
        t.close(Duration::from_secs(1)).unwrap();
        let warn = logs.wait_for(LogLevel::Warn, "NOT verified").expect("a WARN at start");
        assert!(warn.contains("at_config_set_insecure_tls_for_development"), "{warn}");
    }
    let logs = Logs::default();
    let mut cfg = common::config(&dir.db());
    logs.attach(&mut cfg);
    drop(Tracker::new(cfg).unwrap());
    assert!(logs.find(LogLevel::Warn, "NOT verified").is_none(), "verification is on by default");
}
