//! The tracker: accepts hits on the host's thread, routes them by offline mode to
//! the writer (storing modes) or to memory (`Never`), and serves the inspection API.
//!
//! A track call validates on the calling thread and never waits on anything but,
//! with durability on return, its own group commit. Host callbacks run only on the
//! callback thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::clock::{Clock, SystemClock};
use crate::config::{CallbackMode, Config, Durability, LogLevel, ModeCell, OfflineMode, OptOutPolicy};
use crate::delivery::engine::DeliveryParts;
use crate::delivery::host::HostTransport;
use crate::delivery::transport::{Abort, Transport};
use crate::delivery::{Delivery, DeliverySettings, DispatchReport};
use crate::error::{Error, Result, Status};
use crate::hit::{new_message_id, NewHit, StoredHit};
use crate::identity::{validate_visitor_id, Identity};
use crate::remote::{self, Remote, RemoteSettings};
use crate::runtime::{CallbackQueue, Completer, Completion, Oneshot, Reporter, StatsSnapshot};
use crate::store::reader::Read;
use crate::store::writer::{Limits, Op};
use crate::store::{self, BackgroundCheck, Reader, SalvageReport, Writer, WriterHandle, WriterSettings};

mod export;
mod lifecycle;

pub use export::ExportedBatch;

const DAY_MS: i64 = 86_400_000;

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
    /// The full integrity check of a large store; stopped at close.
    check: Mutex<Option<BackgroundCheck>>,
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
    pub fn with_parts(
        config: Config,
        clock: Arc<dyn Clock>,
        transport: Option<Box<dyn Transport>>,
        abort: Abort,
    ) -> Result<Self> {
        config.validate()?;
        let callbacks = match config.callbacks {
            CallbackMode::Thread => CallbackQueue::start("attracker-callbacks")
                .map_err(|e| Error::internal(format!("cannot start the callback thread: {e}")))?,
            CallbackMode::Polled => CallbackQueue::polled(),
        };
        let reporter = Reporter::new(config.log.clone(), config.on_drop.clone(), callbacks.clone());
        if config.insecure_tls_for_development {
            reporter.log(
                LogLevel::Warn,
                "TLS certificates and host names are NOT verified \
                 (at_config_set_insecure_tls_for_development): for development only, never in a release",
            );
        }
        let mode = Arc::new(ModeCell::new(config.offline_mode));
        let request_timeout = Duration::from_millis(config.request_timeout_ms.into());
        let transport: Box<dyn Transport> = match (transport, &config.transport) {
            (Some(t), _) => t,
            (None, Some(send)) => Box::new(HostTransport::new(
                Arc::clone(send),
                callbacks.clone(),
                abort.clone(),
                request_timeout,
            )),
            (None, None) => match default_transport(&config, abort.clone()) {
                Ok(t) => t,
                Err(e) => {
                    callbacks.shutdown();
                    return Err(e);
                }
            },
        };
        let started = (|| {
            let opened = store::open(&config, &reporter, clock.now_ms())?;
            let identity = Arc::new(Identity::new(&opened.visitor_id));
            let remote = Arc::new(Remote::default());
            if let Some((doc, etag)) = opened.remote_config {
                // The last good document, in force until a fetch brings a newer one.
                match remote::parse(&doc, &config.allowed_endpoint_hosts) {
                    Ok((overrides, warnings)) => {
                        warnings.into_iter().for_each(|w| reporter.log(LogLevel::Warn, w));
                        remote.apply(doc, etag, overrides);
                    }
                    Err(why) => reporter.log(
                        LogLevel::Warn,
                        format!("the cached remote config is ignored ({why}); built-in settings apply"),
                    ),
                }
            }
            let on_remote_config = config.on_remote_config.clone().map(|f| {
                let queue = callbacks.clone();
                let notify: crate::delivery::RemoteNotify = Arc::new(move |doc: String| {
                    let f = Arc::clone(&f);
                    queue.post(move || f(&doc));
                });
                notify
            });
            let wake = Arc::new(Delivery::prepare(abort.clone()));
            let hook = Arc::clone(&wake);
            let writer = Arc::new(Writer::start(
                opened.writer,
                reporter.clone(),
                WriterSettings {
                    limits: Limits {
                        max_hits: config.max_queue_size.into(),
                        max_bytes: config.max_store_bytes,
                    },
                    window: Duration::from_millis(config.commit_window_ms.into()),
                    batched: config.durability == Durability::Batched,
                    batch_url: config.batch_url(),
                    on_commit: Some(Arc::new(move |stored| hook.stored(stored))),
                },
            )?);
            let delivery = Delivery::start(
                &wake,
                DeliverySettings::from_config(&config),
                DeliveryParts {
                    writer: Arc::clone(&writer),
                    identity: Arc::clone(&identity),
                    remote: Arc::clone(&remote),
                    remote_settings: RemoteSettings::from_config(&config),
                    on_remote_config,
                    mode: Arc::clone(&mode),
                    clock: Arc::clone(&clock),
                    reporter: reporter.clone(),
                    transport,
                    abort,
                    sender: opened.sender,
                    db: config.storage_path.clone().unwrap_or_default(),
                },
            );
            let delivery = match delivery {
                Ok(d) => d,
                Err(e) => {
                    writer.close(Instant::now());
                    return Err(e);
                }
            };
            let report =
                OpenReport { recovered_in_flight: opened.recovered_in_flight, salvage: opened.salvage };
            let reader = Reader::new(opened.reader, config.batch_url());
            Ok((writer, delivery, reader, report, (identity, remote), opened.background_check))
        })();
        let (writer, delivery, reader, opened, (identity, remote), check) = match started {
            Ok(parts) => parts,
            Err(e) => {
                callbacks.shutdown();
                return Err(e);
            }
        };
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
            check: Mutex::new(check),
            clock,
            config,
        })
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
        self.open_gate(|| {
            self.check_enabled()?;
            let hit = NewHit::event(hit_type, properties, self.clock.now_ms(), self.config.max_event_bytes)?;
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

    fn accept(&self, mut hit: NewHit, done: Option<Completion>) -> Result<()> {
        let mode = self.mode.get();
        hit.is_offline = mode == OfflineMode::Always || !self.reachable.load(SeqCst);
        hit.stamp = self.identity.stamp();
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
        let why = if !self.enabled.load(SeqCst) {
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

    /// Changes the offline mode for hits tracked from now on. `done` runs on the
    /// callback thread after every hit accepted before the change is committed.
    pub fn set_offline_mode(&self, mode: OfflineMode, done: Option<Completion>) -> Result<()> {
        self.open_gate(|| {
            self.mode.set(mode);
            self.reporter.log(LogLevel::Info, format!("offline mode set to {mode:?}"));
            let done = done.map(|f| Completer::new(&self.callbacks, f));
            self.writer.submit(Op::Barrier {
                then: Box::new(move |_| {
                    if let Some(done) = done {
                        done.complete(Ok(()));
                    }
                }),
            })
        })
    }

    pub fn offline_mode(&self) -> Result<OfflineMode> {
        self.open_gate(|| Ok(self.mode.get()))
    }

    /// The tracking gate: while disabled, track calls return `Suppressed` and
    /// nothing is buffered.
    /// Turns collection on, or off with the configured opt-out policy
    /// (`Config::opt_out_policy`).
    pub fn set_tracking_enabled(&self, enabled: bool) -> Result<()> {
        if !enabled {
            return self.opt_out(self.config.opt_out_policy).map(drop);
        }
        self.open_gate(|| {
            self.enabled.store(true, SeqCst);
            Ok(())
        })
    }

    /// Turns collection off: later track calls get `Suppressed` and nothing of
    /// them is kept. With `Purge`, every hit accepted before is deleted (stored,
    /// still being committed, or memory-only) and reported as deleted; returns
    /// how many. Race-free: it waits for track calls in progress, so a hit
    /// tracked concurrently is accepted before it (and purged) or refused.
    pub fn opt_out(&self, policy: OptOutPolicy) -> Result<u64> {
        let closed = self.gate.write();
        if *closed {
            return Err(Error::closed());
        }
        self.enabled.store(false, SeqCst);
        match policy {
            OptOutPolicy::Keep => Ok(0),
            OptOutPolicy::Purge => {
                let stored = self.writer.call(|reply| Op::DeleteAll { reply })?;
                Ok(stored + self.delivery.purge_memory(&self.reporter))
            }
        }
    }

    /// The visitor id sent as `anonymousId` with hits tracked from now on.
    pub fn set_visitor_id(&self, visitor_id: &str) -> Result<()> {
        validate_visitor_id(visitor_id)?;
        self.put_visitor(visitor_id.to_owned()).map(drop)
    }

    /// A new random visitor id (e.g. at logout); returns it. Hits tracked before
    /// keep the one they were tracked with.
    pub fn reset_visitor_id(&self) -> Result<String> {
        self.put_visitor(new_message_id())
    }

    fn put_visitor(&self, id: String) -> Result<String> {
        self.open_gate(|| {
            let entries = vec![("visitor_id".to_owned(), Some(id.clone()))];
            self.writer.call(|reply| Op::PutMeta { entries, reply: Some(reply) })?;
            self.identity.set_visitor_id(Arc::from(id.as_str()));
            Ok(id)
        })
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

    pub fn tracking_enabled(&self) -> bool {
        self.enabled.load(SeqCst)
    }

    /// The host's reachability report. While unreachable, automatic sending
    /// pauses and hits are marked `is_offline`; back to reachable, a flush starts.
    pub fn set_network_reachable(&self, reachable: bool) -> Result<()> {
        self.open_gate(|| {
            self.reachable.store(reachable, SeqCst);
            self.delivery.set_reachable(reachable);
            Ok(())
        })
    }

    /// Sends what is due now (`Required` and `Never` modes), honouring backoff
    /// and reachability. `done` runs on the callback thread with the tally.
    pub fn flush(&self, done: Option<DispatchCompletion>) -> Result<()> {
        self.open_gate(|| {
            self.writer.settle();
            self.delivery.flush(self.dispatch_completer(done));
            Ok(())
        })
    }

    /// Sends every stored hit now, in any mode, ignoring backoff timers. `done`
    /// runs on the callback thread with the tally.
    pub fn offline_dispatch(&self, done: Option<DispatchCompletion>) -> Result<()> {
        self.open_gate(|| {
            self.writer.settle();
            self.delivery.dispatch(self.dispatch_completer(done));
            Ok(())
        })
    }

    fn dispatch_completer(&self, done: Option<DispatchCompletion>) -> Completer<DispatchReport> {
        Completer::new(&self.callbacks, done.unwrap_or_else(|| Box::new(|_| {})))
    }

    /// The queue host callbacks wait in; in `CallbackMode::Polled`, `poll` on it
    /// runs them. Holding a clone keeps polling safe even if a callback frees
    /// the tracker.
    pub fn callback_queue(&self) -> CallbackQueue {
        self.callbacks.clone()
    }

    /// In `CallbackMode::Polled`: runs up to `max` pending callbacks (0 = all) on
    /// the calling thread; returns how many ran. 0 in thread mode.
    pub fn poll(&self, max: usize) -> usize {
        self.callbacks.poll(max)
    }

    /// Wakes the delivery thread to re-read an injected clock (tests).
    #[doc(hidden)]
    pub fn nudge(&self) {
        self.delivery.nudge();
    }

    pub fn network_reachable(&self) -> bool {
        self.reachable.load(SeqCst)
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

    // --- inspection -------------------------------------------------------

    /// Every stored hit, oldest first. Sees every hit accepted before the call.
    pub fn offline_get(&self) -> Result<Vec<StoredHit>> {
        self.read(|r| r.all())
    }

    /// At most `limit` stored hits with `id > after_id`, oldest first.
    pub fn offline_get_page(&self, after_id: u64, limit: u32) -> Result<Vec<StoredHit>> {
        if limit == 0 {
            return Err(Error::invalid("page limit must be at least 1"));
        }
        self.read(|r| r.page(after_id, limit))
    }

    pub fn offline_oldest(&self) -> Result<Option<StoredHit>> {
        self.read(|r| r.oldest()).map(|v| v.into_iter().next())
    }

    pub fn offline_latest(&self) -> Result<Option<StoredHit>> {
        self.read(|r| r.latest()).map(|v| v.into_iter().next())
    }

    pub fn offline_count(&self) -> Result<u64> {
        self.open_gate(|| {
            self.writer.settle();
            self.reader.count()
        })
    }

    /// Deletes every stored hit; returns how many.
    pub fn offline_delete(&self) -> Result<u64> {
        self.delete(|reply| Op::DeleteAll { reply })
    }

    /// Deletes stored hits created more than `days` days ago.
    pub fn offline_delete_older_than_days(&self, days: u32) -> Result<u64> {
        let before = self.clock.now_ms() - i64::from(days) * DAY_MS;
        self.offline_delete_older_than(before)
    }

    /// Deletes stored hits created before `unix_ms`.
    pub fn offline_delete_older_than(&self, unix_ms: i64) -> Result<u64> {
        self.delete(|reply| Op::DeleteOlderThan { before_ms: unix_ms, reply })
    }

    fn delete(&self, op: impl FnOnce(crate::store::writer::Reply<u64>) -> Op) -> Result<u64> {
        self.open_gate(|| {
            let reply = Oneshot::new();
            self.writer.submit(op(Arc::clone(&reply)))?;
            reply.wait()
        })
    }

    fn read(&self, f: impl FnOnce(&Reader) -> Result<Read>) -> Result<Vec<StoredHit>> {
        self.open_gate(|| {
            self.writer.settle();
            let read = f(&self.reader)?;
            if !read.undecodable.is_empty() {
                self.reporter.log(
                    LogLevel::Warn,
                    format!(
                        "{} stored row(s) could not be decoded and will be deleted",
                        read.undecodable.len()
                    ),
                );
                let _ = self.writer.submit(Op::DeleteUndecodable { ids: read.undecodable });
            }
            Ok(read.hits)
        })
    }

    /// Counters since start plus the live queue size and bytes on disk.
    pub fn stats(&self) -> Result<StatsSnapshot> {
        self.open_gate(|| {
            let mut s = self.reporter.stats.snapshot();
            s.queued = self.writer.queued() + self.delivery.memory_len() as u64;
            let path = self.storage_path();
            s.bytes_on_disk = ["", "-wal"]
                .iter()
                .filter_map(|suffix| std::fs::metadata(store_file(&path, suffix)).ok())
                .map(|m| m.len())
                .sum();
            Ok(s)
        })
    }

    // --- lifecycle --------------------------------------------------------

    /// Stops accepting work (later calls get `Closed`), commits every accepted hit
    /// (retrying a failing store until `timeout`), runs every pending callback and
    /// joins the threads. A second call returns `Closed`.
    pub fn close(&self, timeout: Duration) -> Result<()> {
        {
            let mut closed = self.gate.write();
            if *closed {
                return Err(Error::closed());
            }
            *closed = true;
        }
        if let Some(mut check) = self.check.lock().take() {
            check.stop();
        }
        let deadline = Instant::now() + timeout;
        let callbacks = self.callbacks.clone();
        self.delivery.close(deadline, move || {
            callbacks.poll(0);
        });
        self.writer.close(deadline);
        self.callbacks.shutdown();
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        *self.gate.read()
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        if !self.is_closed() {
            let _ = self.close(Duration::from_millis(crate::config::DEFAULT_CLOSE_TIMEOUT_MS.into()));
        }
    }
}

#[cfg(feature = "curl-transport")]
fn default_transport(config: &Config, abort: Abort) -> Result<Box<dyn Transport>> {
    let curl = crate::delivery::transport::CurlTransport::new(
        Duration::from_millis(config.connect_timeout_ms.into()),
        Duration::from_millis(config.request_timeout_ms.into()),
        abort,
    );
    Ok(Box::new(if config.insecure_tls_for_development { curl.insecure_for_development() } else { curl }))
}

#[cfg(not(feature = "curl-transport"))]
fn default_transport(_: &Config, _: Abort) -> Result<Box<dyn Transport>> {
    Err(Error::invalid(
        "this build has no libcurl (feature curl-transport): set a transport with at_config_set_transport",
    ))
}

fn store_file(path: &std::path::Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
