//! A private CA and pinned keys, against a real HTTPS collector on 127.0.0.1.
//!
//! The collector is `tests/support/tls_collector.py`: Python's `http.server`
//! wrapped in `ssl`, started per test on a port the OS picks; it answers
//! `POST /v1/batch` 200 and prints each batch on one line, which the test reads.
//! Each test makes its own PKI in a temporary directory with the openssl CLI: a
//! CA (EC P-256), a server certificate for 127.0.0.1 and localhost signed by it,
//! and the SHA-256 pins of the server's and the CA's public keys (from the
//! certificates' SubjectPublicKeyInfo). A few tens of milliseconds each.
//!
//! Refused cases dispatch several times (more than the default `max_attempts`):
//! the hits stay stored with `retry_count` 0, nothing is dropped, the server
//! records nothing. When `python3` or `openssl` is missing, each test prints
//! "tls: skipped (<reason>)" and passes; scripts/deps.sh installs both.

mod common;

use std::ffi::CString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use attracker::{Config, LogLevel, Tracker};
use common::{Drops, Logs, TempDir};

/// Refused dispatches per case: past the default `max_attempts` (3), so an
/// attempt counted by mistake would drop the hits.
const REFUSED_DISPATCHES: usize = 4;
const HITS: usize = 5;

/// Why the test cannot run here, if it cannot.
fn missing_tools() -> Option<String> {
    let runs = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !runs("openssl", &["version"]) {
        return Some("the openssl command is missing".into());
    }
    if !runs("python3", &["-c", "import ssl, http.server"]) {
        return Some("python3 with ssl is missing".into());
    }
    None
}

macro_rules! require_tools {
    () => {
        if let Some(why) = missing_tools() {
            println!("tls: skipped ({why})");
            return;
        }
    };
}

/// A CA, a server certificate it signed, and pins, in a temporary directory.
struct Pki {
    dir: TempDir,
    /// SHA-256 pin of the server certificate's key (`sha256//...`).
    server_pin: String,
    /// A well-formed pin of another key (the CA's).
    other_pin: String,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Pki {
    fn new(tag: &str) -> Pki {
        let dir = TempDir::new(tag);
        let d = dir.path();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        let ca = ["req", "-x509", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"];
        openssl(d, &[&ca[..], &ec[..], &["-subj", "/CN=attracker test CA"]].concat());
        let csr = ["req", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"];
        openssl(d, &[&csr[..], &ec[..]].concat());
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "2",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
        );
        let server_pin = spki_pin(d, "server.pem");
        let other_pin = spki_pin(d, "ca.pem");
        Pki { dir, server_pin, other_pin }
    }

    fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}

/// `sha256//<base64>` of the SubjectPublicKeyInfo of `cert`'s key.
fn spki_pin(dir: &Path, cert: &str) -> String {
    openssl(dir, &["x509", "-in", cert, "-pubkey", "-noout", "-out", "pub.pem"]);
    openssl(dir, &["pkey", "-pubin", "-in", "pub.pem", "-outform", "der", "-out", "spki.der"]);
    openssl(dir, &["dgst", "-sha256", "-binary", "-out", "spki.sha256", "spki.der"]);
    openssl(dir, &["base64", "-A", "-in", "spki.sha256", "-out", "spki.b64"]);
    format!("sha256//{}", std::fs::read_to_string(dir.join("spki.b64")).unwrap().trim())
}

/// The Python HTTPS collector; killed on drop.
struct TlsCollector {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl TlsCollector {
    fn start(pki: &Pki) -> TlsCollector {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/tls_collector.py");
        let d = pki.dir.path();
        let mut child = Command::new("python3")
            .arg(script)
            .arg(d.join("server.pem"))
            .arg(d.join("server.key"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start python3");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let port = first.trim().strip_prefix("PORT ").and_then(|p| p.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            panic!("the TLS collector did not start: {first:?}");
        };
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        TlsCollector { child, port, lines }
    }

    fn url(&self, host: &str) -> String {
        format!("https://{host}:{}", self.port)
    }

    /// The message ids of every event received, in order.
    fn message_ids(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        let batches = lines.iter().filter_map(|l| l.strip_prefix("BATCH "));
        let events = batches.flat_map(|b| {
            let v: serde_json::Value = serde_json::from_str(b).unwrap();
            v["batch"].as_array().unwrap().clone()
        });
        events.map(|e| e["messageId"].as_str().unwrap().to_owned()).collect()
    }

    /// Waits (at most 5 s) until `n` lines starting with `prefix` were printed.
    fn wait_for(&self, prefix: &str, n: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.lines.lock().unwrap().iter().filter(|l| l.starts_with(prefix)).count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for TlsCollector {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tracker in ALWAYS mode (sends only when dispatched) on `endpoint`.
fn tracker(dir: &TempDir, endpoint: &str, trust: impl FnOnce(&mut Config)) -> (Tracker, Logs, Drops) {
    let mut cfg = common::config(&dir.db());
    cfg.set_endpoint(endpoint).unwrap();
    cfg.set_timeouts_ms(2_000, 5_000).unwrap();
    trust(&mut cfg);
    let (logs, drops) = (Logs::default(), Drops::default());
    logs.attach(&mut cfg);
    drops.attach(&mut cfg);
    let t = Tracker::new(cfg).unwrap();
    for i in 0..HITS {
        t.track_event(&format!("e{i}"), None, None).unwrap();
    }
    t.sync().unwrap();
    (t, logs, drops)
}

fn stored_ids(t: &Tracker) -> Vec<String> {
    t.offline_get().unwrap().into_iter().map(|h| h.message_id).collect()
}

/// Dispatches until delivered; every hit arrives, once, and leaves the store.
fn assert_delivered(t: &Tracker, server: &TlsCollector) {
    let ids = stored_ids(t);
    assert_eq!(ids.len(), HITS);
    let report = common::dispatch(t);
    assert_eq!(report.status, Ok(()), "{report:?}");
    assert_eq!((report.sent, report.failed, report.dropped), (HITS as u64, 0, 0));
    assert_eq!(server.message_ids(), ids, "every hit arrived once, in order");
    assert_eq!(t.offline_count().unwrap(), 0);
}

/// Dispatches `REFUSED_DISPATCHES` times: each is "not reached" with `why`;
/// the hits stay, uncounted, undropped; the server records no batch.
fn assert_refused(t: &Tracker, drops: &Drops, server: &TlsCollector, why: &str) {
    let before = t.offline_get().unwrap();
    assert_eq!(before.len(), HITS);
    for _ in 0..REFUSED_DISPATCHES {
        let report = common::dispatch(t);
        let err = report.status.as_ref().expect_err("refused");
        assert!(err.message.contains(why), "{}", err.message);
        assert_eq!((report.sent, report.failed, report.dropped), (0, 0, 0), "{report:?}");
    }
    let after = t.offline_get().unwrap();
    assert_eq!(
        after.iter().map(|h| (&h.message_id, h.retry_count)).collect::<Vec<_>>(),
        before.iter().map(|h| (&h.message_id, 0)).collect::<Vec<_>>(),
        "every hit kept, no attempt counted"
    );
    assert!(drops.0.lock().unwrap().is_empty(), "nothing dropped");
    assert!(server.message_ids().is_empty(), "nothing reached the collector");
    let stats = t.stats().unwrap();
    assert_eq!((stats.sent, stats.failed), (0, 0), "{stats:?}");
}

#[test]
fn without_the_private_ca_the_hits_are_kept_and_no_attempt_is_counted() {
    require_tools!();
    let pki = Pki::new("tls-noca");
    let server = TlsCollector::start(&pki);
    let dir = TempDir::new("tls-noca-db");
    let (t, _, drops) = tracker(&dir, &server.url("127.0.0.1"), |_| {});
    assert_refused(&t, &drops, &server, "the TLS handshake failed");
    assert!(server.wait_for("HANDSHAKE-FAILED", 1), "the server saw the client refuse its certificate");
}

#[test]
fn the_private_ca_by_path_lets_the_hits_through() {
    require_tools!();
    let pki = Pki::new("tls-path");
    let server = TlsCollector::start(&pki);
    let dir = TempDir::new("tls-path-db");
    let ca = pki.ca_path();
    let (t, _, _) = tracker(&dir, &server.url("127.0.0.1"), |c| c.set_ca_bundle_path(ca.to_str()).unwrap());
    assert_delivered(&t, &server);
}

#[test]
fn the_private_ca_as_pem_text_lets_the_hits_through() {
    require_tools!();
    let pki = Pki::new("tls-pem");
    let server = TlsCollector::start(&pki);
    let dir = TempDir::new("tls-pem-db");
    let pem = std::fs::read_to_string(pki.ca_path()).unwrap();
    // By name: the certificate's DNS name is checked as well as its chain.
    let (t, _, _) = tracker(&dir, &server.url("localhost"), |c| c.set_ca_bundle_pem(Some(&pem)).unwrap());
    assert_delivered(&t, &server);
}

#[test]
fn a_wrong_pin_keeps_the_hits_uncounted_and_logs_the_mismatch_at_error_once() {
    require_tools!();
    let pki = Pki::new("tls-wrongpin");
    let server = TlsCollector::start(&pki);
    let dir = TempDir::new("tls-wrongpin-db");
    let ca = pki.ca_path();
    let (t, logs, drops) = tracker(&dir, &server.url("127.0.0.1"), |c| {
        c.set_ca_bundle_path(ca.to_str()).unwrap();
        c.set_pinned_public_key(Some(&pki.other_pin)).unwrap();
    });
    assert_refused(&t, &drops, &server, "matches no pinned key");
    t.close(Duration::from_secs(5)).unwrap(); // runs the queued log callbacks
    let errors: Vec<String> = logs
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(level, _)| *level == LogLevel::Error)
        .map(|(_, m)| m.clone())
        .collect();
    assert_eq!(errors.len(), 1, "one ERROR for the whole run of mismatches: {errors:?}");
    assert!(errors[0].contains("pinned public key mismatch"), "{}", errors[0]);
    assert!(errors[0].contains("at_config_set_pinned_public_key"), "{}", errors[0]);
}

#[test]
fn the_right_pin_among_others_lets_the_hits_through() {
    require_tools!();
    let pki = Pki::new("tls-pin");
    let server = TlsCollector::start(&pki);
    let dir = TempDir::new("tls-pin-db");
    let ca = pki.ca_path();
    let pins = format!("{};{}", pki.other_pin, pki.server_pin);
    let (t, logs, _) = tracker(&dir, &server.url("127.0.0.1"), |c| {
        c.set_ca_bundle_path(ca.to_str()).unwrap();
        c.set_pinned_public_key(Some(&pins)).unwrap();
    });
    assert_delivered(&t, &server);
    t.close(Duration::from_secs(5)).unwrap();
    assert_eq!(logs.find(LogLevel::Error, ""), None);
}

#[test]
fn the_c_setters_refuse_bad_input_with_a_message_and_take_null_as_unset() {
    use attracker::ffi::*;
    let dir = TempDir::new("tls-ffi");
    let missing = CString::new(dir.path().join("missing.pem").to_str().unwrap()).unwrap();
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let not_pem = CString::new(not_pem.to_str().unwrap()).unwrap();
    let last_error = || unsafe { std::ffi::CStr::from_ptr(at_last_error()).to_string_lossy().into_owned() };
    unsafe {
        let cfg = at_config_new();
        assert_eq!(at_config_set_ca_bundle_path(cfg, missing.as_ptr()), AT_ERR_INVALID_ARGUMENT);
        assert!(last_error().contains("cannot be used"), "{}", last_error());
        assert_eq!(at_config_set_ca_bundle_path(cfg, not_pem.as_ptr()), AT_ERR_INVALID_ARGUMENT);
        assert!(last_error().contains("no certificate"), "{}", last_error());
        assert_eq!(at_config_set_ca_bundle_pem(cfg, c"hello".as_ptr()), AT_ERR_INVALID_ARGUMENT);
        assert!(last_error().contains("no certificate"), "{}", last_error());
        assert_eq!(at_config_set_pinned_public_key(cfg, c"sha256//abc=".as_ptr()), AT_ERR_INVALID_ARGUMENT);
        assert!(last_error().contains("pinned key 1"), "{}", last_error());
        assert_eq!(
            at_config_set_pinned_public_key(cfg, c"pin-sha256=\"x\"".as_ptr()),
            AT_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("sha256//"), "{}", last_error());
        for set in
            [at_config_set_ca_bundle_path, at_config_set_ca_bundle_pem, at_config_set_pinned_public_key]
        {
            assert_eq!(set(cfg, std::ptr::null()), AT_OK, "NULL unsets");
            assert_eq!(set(std::ptr::null_mut(), std::ptr::null()), AT_ERR_NULL_ARGUMENT);
        }
        at_config_free(cfg);
    }
}
