//! The libcurl transport (feature `curl-transport`, on by default): libcurl's
//! multi interface on the delivery thread, over kept-alive connections, one
//! transfer at a time (`send`) or up to `LANES` side by side (`Lanes`, the
//! drain's pipeline; `transfers`), aborted within ~50 ms when the tracker closes.
//! A private CA bundle replaces the system's trust; pinned keys are checked by
//! libcurl at each handshake, and a mismatch is logged at ERROR.

use std::time::Duration;

use curl::easy::{Easy2, Handler, List, WriteError};

use super::{Abort, Cause, Lanes, Method, Outcome, Request, Transport};
use crate::config::LogLevel;
use crate::delivery::tls::{CaBundle, PinnedKeys};
use crate::runtime::Reporter;

mod transfers;
use transfers::Transfers;

/// The most of a response body kept; past it the transfer stops.
const MAX_RESPONSE_BYTES: usize = 512 * 1024;

#[derive(Default)]
struct Collect {
    retry_after: Option<String>,
    date: Option<String>,
    etag: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
    /// The answer's body went past `MAX_RESPONSE_BYTES`: the transfer was cut.
    too_long: bool,
}

impl Handler for Collect {
    fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        // Bounded: past the limit the transfer stops (a short count makes libcurl
        // end it); the status line and headers already arrived.
        if self.body.len() + data.len() > MAX_RESPONSE_BYTES {
            self.too_long = true;
            return Ok(0);
        }
        self.body.extend_from_slice(data);
        Ok(data.len())
    }

    fn header(&mut self, data: &[u8]) -> bool {
        let line = String::from_utf8_lossy(data);
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim().to_owned();
            if name.eq_ignore_ascii_case("retry-after") {
                self.retry_after = Some(value);
            } else if name.eq_ignore_ascii_case("date") {
                self.date = Some(value);
            } else if name.eq_ignore_ascii_case("etag") {
                self.etag = Some(value);
            } else if name.eq_ignore_ascii_case("content-type") {
                self.content_type = Some(value);
            }
        } else if line.starts_with("HTTP/") {
            // A new response (after a 100 Continue or a redirect): forget the last.
            *self = Collect::default();
        }
        true
    }
}

pub struct CurlTransport {
    transfers: Transfers,
    connect_timeout: Duration,
    request_timeout: Duration,
    abort: Abort,
    /// Development only (`Config::insecure_tls_for_development`).
    skip_tls_verify: bool,
    /// The only CAs trusted, when set (`Config::ca_bundle`).
    ca_bundle: Option<CaBundle>,
    /// The public keys the collector must present one of (`Config::pinned_public_keys`).
    pins: Option<PinnedKeys>,
    /// Where pin and trust failures are logged at ERROR.
    reporter: Option<Reporter>,
    /// The last request failed the configured trust (a pin mismatch, options
    /// libcurl refused): its ERROR was logged and is not repeated at every
    /// retry until a request gets an answer again.
    trust_failing: bool,
}

/// The tag of a request sent alone (`Transport::send`).
const ALONE: u64 = u64::MAX;

/// How long past libcurl's own timeout a transfer may run before it is ended.
const TIMEOUT_SLACK: Duration = Duration::from_millis(200);

impl CurlTransport {
    pub fn new(connect_timeout: Duration, request_timeout: Duration, abort: Abort) -> Self {
        curl::init();
        CurlTransport {
            transfers: Transfers::new(),
            connect_timeout,
            request_timeout,
            abort,
            skip_tls_verify: false,
            ca_bundle: None,
            pins: None,
            reporter: None,
            trust_failing: false,
        }
    }

    /// Trusts only `ca_bundle`'s CAs (the system's when `None`) and requires one
    /// of `pins` (none when `None`).
    pub fn with_trust(mut self, ca_bundle: Option<CaBundle>, pins: Option<PinnedKeys>) -> Self {
        self.ca_bundle = ca_bundle;
        self.pins = pins;
        self
    }

    /// Logs a pinned-key mismatch, or a CA bundle or pins libcurl cannot take,
    /// at ERROR through `reporter`.
    pub fn with_reporter(mut self, reporter: Reporter) -> Self {
        self.reporter = Some(reporter);
        self
    }

    fn log_error(&self, message: String) {
        if let Some(r) = &self.reporter {
            r.log(LogLevel::Error, message);
        }
    }

    /// Turns TLS verification off: for development against self-signed servers
    /// only (the tracker logs a WARN at every start).
    pub fn insecure_for_development(mut self) -> Self {
        self.skip_tls_verify = true;
        self
    }

    fn prepare(&mut self, r: &Request<'_>) -> Result<Easy2<Collect>, curl::Error> {
        let mut easy = self.transfers.easy();
        easy.url(r.url)?;
        easy.signal(false)?;
        easy.ssl_verify_peer(!self.skip_tls_verify)?;
        easy.ssl_verify_host(!self.skip_tls_verify)?;
        // Redirects are never followed: the api key goes to the endpoint only.
        easy.follow_location(false)?;
        easy.connect_timeout(self.connect_timeout)?;
        easy.timeout(self.request_timeout)?;
        easy.useragent(concat!("attracker/", env!("CARGO_PKG_VERSION")))?;
        let mut headers = List::new();
        // No "Expect: 100-continue" round trip before large bodies.
        headers.append("Expect:")?;
        match r.method {
            Method::Get => easy.get(true)?,
            Method::Post => {
                easy.post(true)?;
                easy.post_fields_copy(r.body)?;
            }
        }
        for (name, value) in r.headers {
            headers.append(&format!("{name}: {value}"))?;
        }
        easy.http_headers(headers)?;
        Ok(easy)
    }
}

/// Not reached when no exchange with the collector happened: no connection,
/// a TLS handshake or certificate failure (including a pinned key that does not
/// match), a proxy failure. Failed when the collector was reached and the
/// exchange broke (timeout after connecting, reset, bad answer).
fn classify(e: &curl::Error, easy: &mut Easy2<Collect>) -> Outcome {
    let connected = easy.connect_time().map(|t| !t.is_zero()).unwrap_or(false);
    let message = format!("{e}");
    let cause = if e.is_couldnt_resolve_proxy() || e.code() as i64 == CURLE_PROXY {
        Some(Cause::Proxy)
    } else if e.is_couldnt_resolve_host()
        || e.is_couldnt_connect()
        || (e.is_operation_timedout() && !connected)
    {
        Some(Cause::Network)
    } else if e.code() as i64 == CURLE_SSL_PINNEDPUBKEYNOTMATCH {
        Some(Cause::Pinning)
    } else if e.is_ssl_connect_error()
        || e.is_peer_failed_verification()
        || e.is_ssl_certproblem()
        || e.is_ssl_cipher()
        || e.is_ssl_cacert_badfile()
        || e.is_ssl_issuer_error()
        || e.is_ssl_crl_badfile()
        || e.code() as i64 == CURLE_SSL_INVALIDCERTSTATUS
    {
        Some(Cause::Tls)
    } else {
        None
    };
    match cause {
        Some(cause) => Outcome::NotReached { cause, why: message },
        None => Outcome::Failed(message),
    }
}

/// Sets the trust of one transfer on `easy` (freshly reset): with a CA bundle,
/// libcurl's default CA file and directory are unset, so the bundle is the only
/// trust; with pins, libcurl checks the server's key against them.
fn apply_trust<H>(
    easy: &mut Easy2<H>,
    ca_bundle: Option<&CaBundle>,
    pins: Option<&PinnedKeys>,
) -> Result<(), curl::Error> {
    match ca_bundle {
        None => {}
        Some(CaBundle::File(path)) => {
            easy.cainfo(path)?;
            unset_string_option(easy, curl_sys::CURLOPT_CAPATH)?;
        }
        Some(CaBundle::Pem(pem)) => {
            // libcurl copies the blob; a blob overrides CAINFO, unset anyway.
            easy.ssl_cainfo_blob(pem.as_bytes())?;
            unset_string_option(easy, curl_sys::CURLOPT_CAINFO)?;
            unset_string_option(easy, curl_sys::CURLOPT_CAPATH)?;
        }
    }
    if let Some(pins) = pins {
        easy.pinned_public_key(pins.as_curl())?;
    }
    Ok(())
}

/// Sets a string option back to NULL (no value), which the curl crate cannot.
fn unset_string_option<H>(easy: &mut Easy2<H>, option: curl_sys::CURLoption) -> Result<(), curl::Error> {
    // SAFETY: `raw` is this handle's live CURL pointer, used by this thread
    // alone; a NULL char pointer is a documented value of every string option.
    let code =
        unsafe { curl_sys::curl_easy_setopt(easy.raw(), option, std::ptr::null::<std::ffi::c_char>()) };
    if code == curl_sys::CURLE_OK {
        Ok(())
    } else {
        Err(curl::Error::new(code))
    }
}

/// libcurl codes the `curl` crate has no predicate for.
const CURLE_SSL_PINNEDPUBKEYNOTMATCH: i64 = 90;
const CURLE_SSL_INVALIDCERTSTATUS: i64 = 91;
const CURLE_PROXY: i64 = 97;

// SAFETY: libcurl handles may move between threads as long as one thread at a
// time uses them; a CurlTransport is created by the tracker and then used only
// by its delivery thread.
unsafe impl Send for CurlTransport {}

impl Transport for CurlTransport {
    fn send(&mut self, request: &Request<'_>) -> Outcome {
        debug_assert_eq!(self.transfers.in_flight(), 0, "send while the drain's requests are in flight");
        self.start(ALONE, request);
        loop {
            match self.finish() {
                Some((ALONE, outcome)) => return outcome,
                Some(_) => continue,
                None => return Outcome::Failed("libcurl: the transfer was lost".into()),
            }
        }
    }

    fn lanes(&mut self) -> Option<&mut dyn Lanes> {
        Some(self)
    }
}

impl Lanes for CurlTransport {
    fn start(&mut self, tag: u64, request: &Request<'_>) {
        if self.abort.is_set() {
            return self.transfers.ended(tag, Outcome::Aborted);
        }
        let mut easy = match self.prepare(request) {
            Ok(easy) => easy,
            Err(e) => return self.transfers.ended(tag, Outcome::Failed(format!("libcurl: {e}"))),
        };
        if let Err(e) = apply_trust(&mut easy, self.ca_bundle.as_ref(), self.pins.as_ref()) {
            // This libcurl cannot enforce the configured trust (e.g. its TLS
            // backend takes no CA blob): nothing is sent, nothing is counted.
            self.transfers.keep(easy);
            let why = format!("libcurl cannot apply the configured CA bundle or pinned keys: {e}");
            if !self.trust_failing {
                self.log_error(format!("{why}; hits are kept and not sent"));
                self.trust_failing = true;
            }
            return self.transfers.ended(tag, Outcome::NotReached { cause: Cause::Tls, why });
        }
        self.transfers.start(tag, easy);
    }

    fn finish(&mut self) -> Option<(u64, Outcome)> {
        let (tag, outcome) = self.transfers.finish(&self.abort, self.request_timeout + TIMEOUT_SLACK)?;
        self.note(&outcome);
        Some((tag, outcome))
    }
}

impl CurlTransport {
    /// Logs a pinned-key mismatch once, until a request is answered again.
    fn note(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::NotReached { cause: Cause::Pinning, why } if !self.trust_failing => {
                self.log_error(format!(
                    "pinned public key mismatch: the collector's public key matches none of the \
                     pinned keys (at_config_set_pinned_public_key), so nothing is sent; the hits \
                     are kept and retried. The key was changed without updating the pins, or the \
                     connection is intercepted ({why})"
                ));
                self.trust_failing = true;
            }
            Outcome::Answered { .. } => self.trust_failing = false,
            _ => {}
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use curl::easy::InfoType;
    use std::net::TcpListener;

    /// Keeps libcurl's informational lines (where it names the CA file and
    /// directory it loads).
    #[derive(Default)]
    struct Info(String);

    impl Handler for Info {
        fn debug(&mut self, kind: InfoType, data: &[u8]) {
            if matches!(kind, InfoType::Text) {
                self.0.push_str(&String::from_utf8_lossy(data));
            }
        }
    }

    /// What libcurl says about its trust store when it starts a handshake with
    /// `ca_bundle` applied; the peer hangs up after the ClientHello.
    fn handshake_info(ca_bundle: Option<&CaBundle>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let _ = std::io::Read::read(&mut s, &mut [0u8; 512]);
        });
        let mut easy = Easy2::new(Info::default());
        easy.url(&format!("https://127.0.0.1:{port}/")).unwrap();
        easy.verbose(true).unwrap();
        easy.timeout(Duration::from_secs(5)).unwrap();
        apply_trust(&mut easy, ca_bundle, None).unwrap();
        assert!(easy.perform().is_err(), "the peer hung up: no TLS session");
        peer.join().unwrap();
        std::mem::take(&mut easy.get_mut().0)
    }

    /// A self-signed CA certificate (EC P-256, valid until 2126), made for this
    /// test with `openssl req -x509`; its key was discarded.
    const CA_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBlzCCAT6gAwIBAgITRdipzKhi9QoRHi7TWi3MOm2w2TAKBggqhkjOPQQDAjAh\n\
MR8wHQYDVQQDDBZhdHRyYWNrZXIgdW5pdCB0ZXN0IENBMCAXDTI2MTIwMjEwNDE1\n\
NloYDzIxMjYxMTA4MTA0MTU2WjAhMR8wHQYDVQQDDBZhdHRyYWNrZXIgdW5pdCB0\n\
ZXN0IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEV7CRGqHxxTAU4ZgAsJUw\n\
PBQkTDr5t5lrSH39mtAn4BD719NybCBsDIQG4ha7ytUtNhOBxyGp/6S9v7hFErGF\n\
N6NTMFEwHQYDVR0OBBYEFEB5/tjpc0Z/uUZ3jeLrK460PIuWMB8GA1UdIwQYMBaA\n\
FEB5/tjpc0Z/uUZ3jeLrK460PIuWMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0E\n\
AwIDRwAwRAIgdmy3zyHXp9W8Scst6ABrDHHbFIcaRixnUTwxECzH6oACIFv43fhM\n\
Mb65ZlM+cW6M91wn/+D6v/gUL9X2wX9kwNCS\n\
-----END CERTIFICATE-----\n\
";

    fn openssl_backend() -> bool {
        curl::Version::get().ssl_version().is_some_and(|v| v.starts_with("OpenSSL"))
    }

    // The log lines read here are those of libcurl's OpenSSL backend.
    #[test]
    fn a_ca_bundle_is_the_only_trust_libcurl_loads() {
        if !openssl_backend() {
            println!("skipped: libcurl is not built with OpenSSL ({:?})", curl::Version::get().ssl_version());
            return;
        }
        let file = std::env::temp_dir().join(format!("attracker-ca-{}.pem", std::process::id()));
        std::fs::write(&file, CA_PEM).unwrap();
        let info = handshake_info(Some(&CaBundle::File(file.clone())));
        std::fs::remove_file(&file).unwrap();
        assert!(info.contains(&format!("CAfile: {}", file.display())), "{info}");
        assert!(info.contains("CApath: none"), "the default CA directory is unset: {info}");

        let info = handshake_info(Some(&CaBundle::Pem(CA_PEM.into())));
        assert!(info.contains("CA certificate blob"), "{info}");
        for line in info.lines().filter(|l| l.contains("CAfile:") || l.contains("CApath:")) {
            assert!(line.ends_with("none"), "only the blob is trusted: {info}");
        }
    }
}
