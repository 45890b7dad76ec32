//! A transport provided by the host: its own HTTP stack (URLSession, including
//! background sessions; UnityWebRequest; Unreal's FHttpModule) instead of libcurl.
//!
//! The library keeps batching, retries, backoff and leases; the host only moves
//! bytes. Its send function runs through the callback queue (the callback thread,
//! or the host's own thread in polled mode, where engines must start requests),
//! never on the delivery thread, which waits for the host's report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::delivery::transport::{Abort, Method, Outcome, Request, Transport};
use crate::runtime::{CallbackQueue, Oneshot};

/// One request handed to the host. The host answers it exactly once with
/// `complete`, from any thread; until then it owns it.
pub struct HostRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The answer's `Content-Type`, when the host reports it
    /// (`set_response_content_type`): an HTML page on the batch endpoint is a
    /// captive portal's.
    response_content_type: Option<String>,
    answer: Arc<Oneshot<Outcome>>,
}

/// How the host reports a request's end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostAnswer {
    /// The server answered with this status (`retry_after` from its header).
    Status { status: u16, retry_after: Option<Duration> },
    /// The server was not reached (no connection, DNS, offline).
    Unreachable(String),
    /// The server was reached and the exchange failed (timeout, reset).
    Failed(String),
}

impl HostRequest {
    /// Records the answer's `Content-Type` header, before `complete`.
    pub fn set_response_content_type(&mut self, content_type: &str) {
        self.response_content_type = Some(content_type.to_owned());
    }

    pub fn complete(self, answer: HostAnswer) {
        let outcome = match answer {
            HostAnswer::Status { status, retry_after } => Outcome::Answered {
                status,
                // Whole seconds, rounded up: the policy reads it as the header.
                retry_after: retry_after.map(|d| d.as_millis().div_ceil(1000).to_string()),
                date: None,
                etag: None,
                content_type: self.response_content_type,
                body: Vec::new(),
            },
            HostAnswer::Unreachable(why) => Outcome::unreachable(why),
            HostAnswer::Failed(why) => Outcome::Failed(why),
        };
        self.answer.send(outcome);
    }
}

/// The host's send function.
pub type HostSend = Arc<dyn Fn(HostRequest) + Send + Sync>;

pub struct HostTransport {
    send: HostSend,
    callbacks: CallbackQueue,
    abort: Abort,
    timeout: Duration,
}

impl HostTransport {
    pub fn new(send: HostSend, callbacks: CallbackQueue, abort: Abort, timeout: Duration) -> Self {
        HostTransport { send, callbacks, abort, timeout }
    }
}

/// How often the waiting delivery thread looks at the abort flag.
const POLL: Duration = Duration::from_millis(50);

impl Transport for HostTransport {
    fn send(&mut self, r: &Request<'_>) -> Outcome {
        if self.abort.is_set() {
            return Outcome::Aborted;
        }
        let answer = Oneshot::new();
        let request = HostRequest {
            method: r.method,
            url: r.url.to_owned(),
            headers: r.headers.to_vec(),
            body: r.body.to_vec(),
            response_content_type: None,
            answer: Arc::clone(&answer),
        };
        let send = Arc::clone(&self.send);
        self.callbacks.post(move || send(request));
        let started = Instant::now();
        loop {
            if let Some(outcome) = answer.wait_until(Instant::now() + POLL) {
                return outcome;
            }
            if self.abort.is_set() {
                // The host may still answer later; nobody listens by then.
                return Outcome::Aborted;
            }
            if started.elapsed() > self.timeout {
                return Outcome::Failed("the host transport did not answer in time".into());
            }
        }
    }
}
