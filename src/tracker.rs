//! The tracker: accepts hits on the host's thread, routes them by offline mode to
//! the writer (storing modes) or to memory (`Never`), and serves the inspection API.
//!
//! A track call validates on the calling thread and never waits on anything but,
//! with durability on return, its own group commit. Host callbacks run only on the
//! callback thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::analytics::consent::Consent;
use crate::analytics::session::{self, InSession};
use crate::analytics::Analytics;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Durability, LogLevel, ModeCell, OfflineMode};
use crate::delivery::transport::{Abort, Transport};
use crate::delivery::{Delivery, DispatchReport};
use crate::error::{Error, Result, Status};
use crate::hit::{Call, NewHit};
use crate::identity::Identity;
use crate::remote::Remote;
use crate::runtime::{CallbackQueue, Completer, Completion, Oneshot, Reporter};
use crate::store::writer::Op;
use crate::store::{BackgroundCheck, Reader, SalvageReport, WriterHandle};

mod analytics;
mod close;
mod export;
mod start;
mod inspect;
mod lifecycle;
mod privacy;
mod sending;

pub use export::ExportedBatch;

/// What happened when the store was opened.
#[derive(Clone, Debug, Default)]
pub struct OpenReport {
    /// Rows a crashed process left in flight, now pending again.
    pub recovered_in_flight: u64,
    /// Set when the store was damaged, moved aside and salvaged.
    pub salvage: Option<SalvageReport>,
}

/// Completion of a flush or dispatch.
pub type DispatchCompletion = Box<dyn FnOnce(DispatchReport) + Send>;

pub struct Tracker {
    config: Config,
    clock: Arc<dyn Clock>,
    mode: Arc<ModeCell>,
    enabled: AtomicBool,
    reachable: AtomicBool,
    /// The host reported the app in the background.
    background: AtomicBool,
    /// Readers are the API calls in progress; `close` takes it for writing, so
    /// a call either completes before close begins or sees `Closed`.
    gate: RwLock<bool>,
    writer: Arc<WriterHandle>,
    delivery: Delivery,
    reader: Reader,
    callbacks: CallbackQueue,
    reporter: Reporter,
    opened: OpenReport,
    identity: Arc<Identity>,
    remote: Arc<Remote>,
    /// User, context, super properties, sessions, consent.
    analytics: Analytics,
    /// The full integrity check of a large store; stopped at close.
    check: Mutex<Option<BackgroundCheck>>,
    /// The process that created the tracker (its threads exist only there).
    owner_pid: u32,
}

impl Tracker {
    /// Opens (or creates) the store named by `config` and starts the tracker's
    /// writer and callback threads.
    pub fn new(config: Config) -> Result<Self> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    pub fn with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Self> {
        Self::with_parts(config, clock, None, Abort::default())
    }

    /// Builds a tracker on a given transport (a test's); `None` means the
    /// config's choice: the host's (`Config::transport`) or libcurl. `abort` is
    /// triggered when the tracker closes.
    pub(crate) fn with_parts(
        config: Config,
        clock: Arc<dyn Clock>,
        transport: Option<Box<dyn Transport>>,
        abort: Abort,
    ) -> Result<Self> {
        config.validate()?;
        // Shut down again if any later step fails.
        let callbacks = start::CallbacksGuard::start(&config)?;
        let reporter = Reporter::new(config.log.clone(), config.on_drop.clone(), callbacks.queue().clone());
        if config.insecure_tls_for_development {
            reporter.log(
                LogLevel::Warn,
                "TLS certificates and host names are NOT verified \
                 (at_config_set_insecure_tls_for_development): for development only, never in a release",
            );
        }
        let mode = Arc::new(ModeCell::new(config.offline_mode));
        let transport = start::choose_transport(&config, transport, callbacks.queue(), &abort, &reporter)?;
        let parts =
            start::open_and_start(&config, &clock, &mode, &reporter, callbacks.queue(), transport, abort)?;
        let callbacks = callbacks.disarm();
        let start::Parts { writer, delivery, reader, report: opened, identity, remote, analytics, check } =
            parts;
        Ok(Tracker {
            mode,
            enabled: AtomicBool::new(true),
            reachable: AtomicBool::new(true),
            background: AtomicBool::new(false),
            gate: RwLock::new(false),
            writer,
            delivery,
            reader,
            callbacks,
            reporter,
            opened,
            identity,
            remote,
            analytics,
            check: Mutex::new(check),
            owner_pid: std::process::id(),
            clock,
            config,
        })
    }

    /// True in a child process forked from the one that created the tracker:
    /// none of the tracker's threads exist there, and its SQLite connections,
    /// file locks and sockets are the parent's. Such a child must not use the
    /// tracker, nor close or drop it (closing would join threads that are not
    /// there and close connections the parent still uses): leak it
    /// (`std::mem::forget`), as `at_tracker_free` does.
    pub fn created_in_another_process(&self) -> bool {
        std::process::id() != self.owner_pid
    }

    /// The visitor id sent as `anonymousId`, kept in the store.
    pub fn visitor_id(&self) -> String {
        self.identity.visitor_id().to_string()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn open_report(&self) -> &OpenReport {
        &self.opened
    }

    pub fn storage_path(&self) -> PathBuf {
        self.config.storage_path.clone().unwrap_or_default()
    }

    /// Tracks an event: `hit_type` plus JSON object `properties` (`None` = `{}`).
    /// `done` runs on the callback thread once the hit is committed (storing modes),
    /// and only when this returns `Ok`.
    pub fn track_event(
        &self,
        hit_type: &str,
        properties: Option<&str>,
        done: Option<Completion>,
    ) -> Result<()> {
        self.segment_call(Call::Track, hit_type, properties, done)
    }

    /// A `track` or `screen` call: the super properties merged in, the remote
    /// rules applied (track), then accepted.
    fn segment_call(
        &self,
        call: Call,
        name: &str,
        properties: Option<&str>,
        done: Option<Completion>,
    ) -> Result<()> {
        self.open_gate(|| {
            self.check_enabled()?;
            let rules = self.remote.rules();
            let prepared = self.analytics.prepare(call, name, properties, rules.as_deref())?;
            let body = prepared.body.as_deref().or(properties);
            let mut hit =
                NewHit::segment(call, name, body, self.clock.now_ms(), self.config.max_event_bytes)?;
            hit.stamp.sample_rate = prepared.sample_rate;
            self.accept(hit, done)
        })
    }

    /// Tracks a URL hit, delivered by one GET to `url`.
    pub fn send_hit(&self, url: &str, hit_type: &str, done: Option<Completion>) -> Result<()> {
        if self.config.require_https && !crate::config::is_https(url) {
            return Err(Error::invalid("the hit URL is not https, and require_https is set"));
        }
        self.open_gate(|| {
            self.check_enabled()?;
            let hit = NewHit::url(url, hit_type, self.clock.now_ms(), self.config.max_event_bytes)?;
            self.accept(hit, done)
        })
    }

    /// Stamps a hit with who tracked it, in which session and context, then
    /// queues it (after the session events, when this hit starts a session).
    fn accept(&self, mut hit: NewHit, done: Option<Completion>) -> Result<()> {
        let touch = self.analytics.sessions.touch(hit.created_ms, self.clock.mono_ms());
        if let Some(value) = touch.persist {
            let entries = vec![(session::META_SESSION.to_owned(), Some(value))];
            self.writer.submit(Op::PutMeta { entries, reply: None })?;
        }
        self.stamp(&mut hit, touch.now);
        if self.analytics.track_session_events && touch.started {
            if let Some((ended, last_wall)) = touch.ended {
                self.session_event(session::SESSION_ENDED, ended, last_wall)?;
            }
            self.session_event(session::SESSION_STARTED, touch.now, touch.now.id)?;
        }
        self.accept_stamped(hit, done)
    }

    fn stamp(&self, hit: &mut NewHit, session: InSession) {
        let context = self.analytics.contexts.current();
        let s = &mut hit.stamp;
        s.visitor_id = Some(self.identity.visitor_id());
        if s.call != Call::Alias {
            // An alias carries the new user id already.
            s.user_id = self.analytics.profile.user_id();
        }
        s.session_id = Some(session_text(session.id));
        s.session_ms = Some(session.elapsed_ms);
        s.context = Some(context);
    }

    /// "Session Started" / "Session Ended", stamped with their session.
    fn session_event(&self, name: &str, session: InSession, at_ms: i64) -> Result<()> {
        let mut hit = NewHit::event(name, None, at_ms, self.config.max_event_bytes)?;
        self.stamp(&mut hit, session);
        self.accept_stamped(hit, None)
    }

    fn accept_stamped(&self, mut hit: NewHit, done: Option<Completion>) -> Result<()> {
        let mode = self.mode.get();
        hit.is_offline = mode == OfflineMode::Always || !self.reachable.load(SeqCst);
        let done = done.map(|f| Completer::new(&self.callbacks, f));
        match (mode, self.config.durability) {
            (OfflineMode::Never, _) => {
                self.delivery.enqueue_memory(hit, done, &self.reporter, self.config.max_queue_size as usize);
                Ok(())
            }
            (_, Durability::Batched) => self.writer.submit(Op::Insert { hit, done, wait: None }),
            (_, Durability::OnReturn) => {
                let result = self.writer.call(|wait| Op::Insert { hit, done: None, wait: Some(wait) });
                match (result.is_ok(), done) {
                    (true, Some(done)) => done.complete(Ok(())),
                    (false, Some(done)) => done.disarm(),
                    (_, None) => {}
                }
                result
            }
        }
    }

    fn check_enabled(&self) -> Result<()> {
        let why = if self.analytics.consent.get() == Consent::Denied {
            "the user denied consent (at_set_consent): the hit was not kept"
        } else if !self.enabled.load(SeqCst) {
            "tracking is disabled (at_set_tracking_enabled): the hit was not kept"
        } else if !self.remote.tracking_enabled() {
            "tracking is disabled by the remote configuration (tracking_enabled): the hit was not kept"
        } else if !self.remote.samples(self.identity.bucket()) {
            "this visitor is outside the remote configuration's sample (sample_rate): the hit was not kept"
        } else {
            return Ok(());
        };
        Err(Error::new(Status::Suppressed, why))
    }

    /// Runs `f` unless the tracker is closed; close waits for calls in progress.
    fn open_gate<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let closed = self.gate.read();
        if *closed {
            return Err(Error::closed());
        }
        f()
    }

    /// `Closed` once the tracker is closed.
    pub fn ensure_open(&self) -> Result<()> {
        self.open_gate(|| Ok(()))
    }

    /// The remote configuration document in force, as fetched (or as cached by
    /// the last good fetch); `None` without one.
    pub fn remote_config_json(&self) -> Option<String> {
        self.remote.document()
    }

    /// The queue host callbacks wait in; in `CallbackMode::Polled`, `poll` on it
    /// runs them. Holding a clone keeps polling safe even if a callback frees
    /// the tracker.
    pub(crate) fn callback_queue(&self) -> CallbackQueue {
        self.callbacks.clone()
    }

    /// In `CallbackMode::Polled`: runs up to `max` pending callbacks (0 = all) on
    /// the calling thread; returns how many ran. 0 in thread mode.
    pub fn poll(&self, max: usize) -> usize {
        self.callbacks.poll(max)
    }

    /// Waits until every hit accepted before the call is committed.
    pub fn sync(&self) -> Result<()> {
        self.open_gate(|| {
            let reply = Oneshot::new();
            let r = Arc::clone(&reply);
            self.writer.submit(Op::Barrier { then: Box::new(move |res| r.send(res)) })?;
            reply.wait()
        })
    }
}

/// A session id as the text stored with each hit: shared by the hits of one
/// session on a thread (one allocation per session and thread, not two per hit).
fn session_text(id: i64) -> Arc<str> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(i64, Arc<str>)>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((cached, text)) if *cached == id => Arc::clone(text),
            _ => {
                let text: Arc<str> = Arc::from(id.to_string());
                *last = Some((id, Arc::clone(&text)));
                text
            }
        }
    })
}
