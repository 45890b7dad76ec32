//! The delivery thread: decides when to send (flush triggers, dispatch requests,
//! backoff, reachability), runs sends, and settles every hit's fate.
//!
//! It never runs host callbacks (completions are posted to the callback thread),
//! never touches SQLite (the writer leases and settles rows), and sleeps on a
//! condition variable when there is nothing to do.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::clock::Clock;
use crate::config::{DropReason, LogLevel, ModeCell, OfflineMode};
use crate::delivery::policy;
use crate::delivery::send::{self, Fate, SendContext, Stop};
use crate::delivery::transport::{Abort, Transport};
use crate::delivery::wire;
use crate::delivery::{DeliverySettings, DispatchReport};
use crate::error::{Error, Result};
use crate::hit::{NewHit, StoredHit};
use crate::identity::Identity;
use crate::remote::{Remote, RemoteSettings};

/// Announces a newly applied remote configuration to the host (posts its callback).
pub type RemoteNotify = Arc<dyn Fn(String) + Send + Sync>;
use crate::runtime::{Completer, Oneshot, Reporter};
use crate::store::writer::{Op, Settlement};
use crate::store::{SenderLock, WriterHandle};

mod memory;
mod remote_fetch;
use memory::{drop_memory, Memory};

type DispatchCompleter = Completer<DispatchReport>;

struct State {
    flushes: Vec<DispatchCompleter>,
    dispatches: Vec<DispatchCompleter>,
    outbox: VecDeque<Memory>,
    /// Stored hits after the writer's last commit (threshold trigger).
    stored: u64,
    /// Hits were committed since the last automatic send.
    fresh: bool,
    /// `flush_threshold` (0 = off), for the commit hook.
    threshold: u64,
    host_reachable: bool,
    /// The network came back: send now.
    restored: bool,
    /// The app is in the background: no automatic sends until foreground.
    background: bool,
    /// Waiting for the bounded background flush (repeated notifications join
    /// the same one).
    bg_waiters: Vec<DispatchCompleter>,
    bg_deadline: Option<Instant>,
    nudged: bool,
    closing: Option<Instant>,
}

struct Shared {
    state: Mutex<State>,
    /// This tracker holds the store's sender lock.
    sender_held: std::sync::atomic::AtomicBool,
    wake: Condvar,
    abort: Abort,
    finished: Arc<Oneshot<()>>,
}

/// The tracker's handle on its delivery thread.
pub struct Delivery {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Pacing shared by every automatic send: consecutive failures and the pause
/// they impose.
#[derive(Default)]
struct Pacing {
    failures: u32,
    paused_until_ms: i64,
    /// The last failure was a transport error: automatic sends are probes.
    offline: bool,
}

struct Engine {
    shared: Arc<Shared>,
    settings: DeliverySettings,
    writer: Arc<WriterHandle>,
    mode: Arc<ModeCell>,
    clock: Arc<dyn Clock>,
    identity: Arc<Identity>,
    remote: Arc<Remote>,
    remote_settings: RemoteSettings,
    on_remote_config: Option<RemoteNotify>,
    /// `Remote::version` last applied to `settings`.
    remote_version: u64,
    next_config_ms: i64,
    /// The settings from the configuration, before remote overrides.
    base_settings: DeliverySettings,
    reporter: Reporter,
    transport: Box<dyn Transport>,
    sender: Option<SenderLock>,
    db: std::path::PathBuf,
    pacing: Pacing,
    last_auto_ms: i64,
    /// No stored hit was waiting at the last look.
    idle: bool,
    rng: u64,
}

enum Job {
    FetchConfig,
    Requests { dispatches: Vec<DispatchCompleter>, flushes: Vec<DispatchCompleter> },
    Background { deadline: Instant },
    Auto,
    Outbox,
    DropOutbox,
    Close { dispatches: Vec<DispatchCompleter>, flushes: Vec<DispatchCompleter> },
}

/// What the engine needs from the tracker to start.
pub struct DeliveryParts {
    pub writer: Arc<WriterHandle>,
    pub identity: Arc<Identity>,
    pub remote: Arc<Remote>,
    pub remote_settings: RemoteSettings,
    pub on_remote_config: Option<RemoteNotify>,
    pub mode: Arc<ModeCell>,
    pub clock: Arc<dyn Clock>,
    pub reporter: Reporter,
    pub transport: Box<dyn Transport>,
    pub abort: Abort,
    pub sender: Option<SenderLock>,
    pub db: std::path::PathBuf,
}

impl Delivery {
    /// The engine's shared state, created before the writer so the writer's
    /// commit hook can wake it.
    pub fn prepare(abort: Abort) -> Arc<DeliveryWake> {
        Arc::new(DeliveryWake(Arc::new(Shared {
            state: Mutex::new(State {
                flushes: Vec::new(),
                dispatches: Vec::new(),
                outbox: VecDeque::new(),
                stored: 0,
                fresh: false,
                threshold: 0,
                host_reachable: true,
                restored: false,
                background: false,
                bg_waiters: Vec::new(),
                bg_deadline: None,
                nudged: false,
                closing: None,
                // `stored` is refreshed from the writer before the first wait.
            }),
            wake: Condvar::new(),
            abort,
            finished: Oneshot::new(),
            sender_held: std::sync::atomic::AtomicBool::new(false),
        })))
    }

    pub fn start(wake: &DeliveryWake, settings: DeliverySettings, parts: DeliveryParts) -> Result<Delivery> {
        let shared = Arc::clone(&wake.0);
        {
            let mut st = shared.state.lock();
            st.stored = parts.writer.stored();
            st.threshold = settings.flush_threshold;
        }
        shared.sender_held.store(parts.sender.is_some(), Relaxed);
        let now = parts.clock.now_ms();
        let mut engine = Engine {
            shared: Arc::clone(&shared),
            settings: settings.clone(),
            writer: parts.writer,
            identity: parts.identity,
            remote: parts.remote,
            remote_settings: parts.remote_settings,
            on_remote_config: parts.on_remote_config,
            remote_version: 0,
            next_config_ms: now,
            base_settings: settings,
            mode: parts.mode,
            clock: parts.clock,
            reporter: parts.reporter,
            transport: parts.transport,
            sender: parts.sender,
            db: parts.db,
            pacing: Pacing::default(),
            last_auto_ms: now,
            idle: true,
            rng: seed(),
        };
        // The cached document (applied at open) is in force from the start.
        engine.sync_remote();
        let thread = std::thread::Builder::new()
            .name("attracker-delivery".into())
            .spawn(move || engine.run())
            .map_err(|e| Error::internal(format!("cannot start the delivery thread: {e}")))?;
        Ok(Delivery { shared, thread: Mutex::new(Some(thread)) })
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut st = self.shared.state.lock();
        let r = f(&mut st);
        drop(st);
        self.shared.wake.notify_one();
        r
    }

    /// Queues a memory-only hit; beyond `max_memory_hits` the oldest are dropped.
    pub fn enqueue_memory(&self, hit: NewHit, done: Option<Completer>, reporter: &Reporter, limit: usize) {
        let stored = StoredHit {
            id: 0,
            url: hit.url.clone().unwrap_or_default(),
            message_id: hit.message_id,
            kind: hit.kind,
            hit_type: hit.hit_type,
            body: hit.body,
            created_ms: hit.created_ms,
            retry_count: 0,
            is_offline: hit.is_offline,
            stamp: hit.stamp,
        };
        let gone: Vec<Memory> = self.with_state(|st| {
            st.outbox.push_back(Memory { hit: stored, done, not_before_ms: 0 });
            let excess = st.outbox.len().saturating_sub(limit);
            st.outbox.drain(..excess).collect()
        });
        drop_memory(gone, DropReason::Overflow, reporter);
    }

    /// Deletes every memory-only hit (opting out with purge); returns how many.
    pub fn purge_memory(&self, reporter: &Reporter) -> u64 {
        let gone: Vec<Memory> = self.shared.state.lock().outbox.drain(..).collect();
        let n = gone.len() as u64;
        drop_memory(gone, DropReason::Deleted, reporter);
        n
    }

    pub fn memory_len(&self) -> usize {
        self.shared.state.lock().outbox.len()
    }

    pub fn flush(&self, done: DispatchCompleter) {
        self.with_state(|st| st.flushes.push(done));
    }

    pub fn dispatch(&self, done: DispatchCompleter) {
        self.with_state(|st| st.dispatches.push(done));
    }

    pub fn set_reachable(&self, reachable: bool) {
        self.with_state(|st| {
            if reachable && !st.host_reachable {
                st.restored = true;
            }
            st.host_reachable = reachable;
        });
    }

    /// The app went to the background: automatic sends pause until
    /// `enter_foreground`.
    pub fn enter_background(&self) {
        self.with_state(|st| st.background = true);
    }

    /// With a `deadline`, a flush runs that ends before it (the transfer still
    /// running then is aborted; its hits stay stored) and `done` gets its tally;
    /// requests arriving meanwhile join it. Without one, `done` completes at once.
    pub fn background_flush(&self, deadline: Option<Instant>, done: DispatchCompleter) {
        let Some(d) = deadline else {
            done.complete(DispatchReport::default());
            return;
        };
        self.with_state(|st| {
            st.bg_deadline = Some(st.bg_deadline.map_or(d, |old| old.min(d)));
            st.bg_waiters.push(done);
        });
    }

    /// The app is back: timers resume and what is due is sent.
    pub fn enter_foreground(&self) {
        self.with_state(|st| {
            if st.background {
                st.background = false;
                st.restored = true;
            }
        });
    }

    /// True when this tracker is the store's sender (holds its sender lock).
    pub fn is_sender(&self) -> bool {
        self.shared.sender_held.load(Relaxed)
    }

    /// Wakes the thread to look at the clock again (for injected clocks).
    pub fn nudge(&self) {
        self.with_state(|st| st.nudged = true);
    }

    /// Sends what it can until `deadline`, then aborts the transfer in flight
    /// (its hits stay stored), completes every request and joins the thread.
    /// While waiting, `pump` runs every few ms: in polled mode it runs the
    /// queued callbacks (a host transport's sends among them) on the closing
    /// thread, which is the host's polling thread.
    pub fn close(&self, deadline: Instant, mut pump: impl FnMut()) {
        self.with_state(|st| {
            st.closing.get_or_insert(deadline);
        });
        loop {
            pump();
            let slice = (Instant::now() + Duration::from_millis(5)).min(deadline);
            if self.shared.finished.wait_until(slice).is_some() {
                break;
            }
            if Instant::now() >= deadline {
                self.shared.abort.trigger();
                break;
            }
        }
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

/// Wakes the delivery thread from the writer's commit hook.
pub struct DeliveryWake(Arc<Shared>);

impl DeliveryWake {
    pub fn stored(&self, count: u64) {
        let mut st = self.0.state.lock();
        let (prev, was_fresh) = (st.stored, st.fresh);
        st.stored = count;
        st.fresh = true;
        // Only a commit that can change the engine's decision wakes it: the
        // first hit waiting (it starts the timer), or the threshold reached by
        // new hits. The others would wake a thread with nothing to do.
        let threshold = st.threshold;
        let crossed = threshold > 0 && count >= threshold && (prev < threshold || !was_fresh);
        drop(st);
        if prev == 0 || crossed {
            self.0.wake.notify_one();
        }
    }
}

fn seed() -> u64 {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    u64::from_le_bytes(bytes[..8].try_into().unwrap_or([1; 8])) | 1
}

impl Engine {
    fn run(mut self) {
        loop {
            match self.next_job() {
                Job::Requests { dispatches, flushes } => self.serve(dispatches, flushes),
                Job::FetchConfig => self.fetch_config(),
                Job::Background { deadline } => self.background_flush(deadline),
                Job::Auto => {
                    self.last_auto_ms = self.clock.now_ms();
                    self.drain_store(Scope::Auto);
                }
                Job::Outbox => {
                    self.drain_memory(false);
                }
                Job::DropOutbox => {
                    let gone: Vec<Memory> = self.shared.state.lock().outbox.drain(..).collect();
                    drop_memory(gone, DropReason::Unreachable, &self.reporter);
                }
                Job::Close { dispatches, flushes } => {
                    self.close(dispatches, flushes);
                    break;
                }
            }
        }
        self.shared.finished.send(());
    }

    fn next_job(&mut self) -> Job {
        let shared = Arc::clone(&self.shared);
        let mut st = shared.state.lock();
        loop {
            if st.closing.is_some() {
                return Job::Close {
                    dispatches: std::mem::take(&mut st.dispatches),
                    flushes: std::mem::take(&mut st.flushes),
                };
            }
            if let Some(deadline) = st.bg_deadline.take() {
                return Job::Background { deadline };
            }
            if !st.dispatches.is_empty() || !st.flushes.is_empty() {
                return Job::Requests {
                    dispatches: std::mem::take(&mut st.dispatches),
                    flushes: std::mem::take(&mut st.flushes),
                };
            }
            let now = self.clock.now_ms();
            let config_due = self.config_due_ms().filter(|_| !st.background);
            if config_due.is_some_and(|due| now >= due) {
                return Job::FetchConfig;
            }
            let mode = self.mode.get();
            if st.restored {
                st.restored = false;
                self.pacing = Pacing::default();
                if mode == OfflineMode::Required && st.stored > 0 {
                    return Job::Auto;
                }
            }
            st.nudged = false;
            let paused = now < self.pacing.paused_until_ms;
            // Memory-only hits are sent whatever the mode is now: they were
            // accepted under `Never`, never to be stored.
            if !st.outbox.is_empty() {
                if !st.host_reachable {
                    return Job::DropOutbox;
                }
                let due = st.outbox.iter().any(|m| m.not_before_ms <= now);
                if due && !paused {
                    return Job::Outbox;
                }
            }
            let mut wake_at: Option<i64> = None;
            if st.stored == 0 {
                self.idle = true;
            } else if self.idle {
                // The timer runs from the first hit waiting, not from the last send.
                self.idle = false;
                self.last_auto_ms = now;
            }
            if mode == OfflineMode::Required && st.host_reachable && !st.background && st.stored > 0 {
                if paused {
                    wake_at = Some(self.pacing.paused_until_ms);
                } else {
                    let threshold = st.fresh
                        && self.settings.flush_threshold > 0
                        && st.stored >= self.settings.flush_threshold;
                    let timer_at =
                        self.settings.flush_interval.map(|i| self.last_auto_ms + i.as_millis() as i64);
                    let timer = timer_at.is_some_and(|at| now >= at);
                    if threshold || timer || self.pacing.failures > 0 {
                        st.fresh = false;
                        return Job::Auto;
                    }
                    wake_at = timer_at;
                }
            }
            if !st.outbox.is_empty() {
                let first = st.outbox.iter().map(|m| m.not_before_ms).min().unwrap_or(now);
                let at = first.max(self.pacing.paused_until_ms);
                wake_at = Some(wake_at.map_or(at, |w| w.min(at)));
            }
            if let Some(due) = config_due {
                wake_at = Some(wake_at.map_or(due, |w| w.min(due)));
            }
            match wake_at {
                Some(at) => {
                    let wait = Duration::from_millis(at.saturating_sub(now).max(1) as u64);
                    shared.wake.wait_for(&mut st, wait);
                }
                None => shared.wake.wait(&mut st),
            }
        }
    }

    fn serve(&mut self, dispatches: Vec<DispatchCompleter>, flushes: Vec<DispatchCompleter>) {
        if !dispatches.is_empty() {
            let report = self.drain_store(Scope::Dispatch);
            dispatches.into_iter().for_each(|d| d.complete(report.clone()));
        }
        if !flushes.is_empty() {
            let report = self.flush_now();
            flushes.into_iter().for_each(|d| d.complete(report.clone()));
        }
    }

    /// The flush on entering background: ends before `deadline`, then answers
    /// every notification that arrived meanwhile with the same tally.
    fn background_flush(&mut self, deadline: Instant) {
        self.shared.abort.set_deadline(Some(deadline));
        let report = self.flush_now();
        self.shared.abort.set_deadline(None);
        let waiters = std::mem::take(&mut self.shared.state.lock().bg_waiters);
        for w in waiters {
            w.complete(report.clone());
        }
    }

    /// `at_flush`: what is due, honouring backoff and reachability.
    fn flush_now(&mut self) -> DispatchReport {
        let mode = self.mode.get();
        if mode == OfflineMode::Always {
            return DispatchReport::default();
        }
        let reachable = self.shared.state.lock().host_reachable;
        if !reachable {
            return network_report("the host reports the network unreachable");
        }
        if self.clock.now_ms() < self.pacing.paused_until_ms {
            return network_report("sending is paused by backoff after a failure");
        }
        let mut report = self.drain_memory(true);
        if report.status.is_ok() {
            report.merge(&self.drain_store(Scope::Flush));
        }
        report
    }

    fn close(&mut self, dispatches: Vec<DispatchCompleter>, flushes: Vec<DispatchCompleter>) {
        self.serve(dispatches, flushes);
        let waiters = std::mem::take(&mut self.shared.state.lock().bg_waiters);
        drop(waiters); // a background flush never started: its callers get Cancelled
        let mode = self.mode.get();
        let can_send = self.shared.state.lock().host_reachable;
        let paused = self.shared.abort.is_set() || self.clock.now_ms() < self.pacing.paused_until_ms;
        if can_send && !paused {
            self.drain_memory(true);
            if mode == OfflineMode::Required {
                self.drain_store(Scope::Flush);
            }
        }
        let gone: Vec<Memory> = self.shared.state.lock().outbox.drain(..).collect();
        let reason = if can_send { DropReason::Unsent } else { DropReason::Unreachable };
        drop_memory(gone, reason, &self.reporter);
    }

    /// Sends stored hits. Only the store's sender does; another process's
    /// tracker leaves them to it.
    fn drain_store(&mut self, scope: Scope) -> DispatchReport {
        if !self.is_sender() {
            self.reporter.log(LogLevel::Debug, "another process is this store's sender; not sending");
            return DispatchReport::default();
        }
        let mut leased_any = false;
        let mut report = DispatchReport::default();
        let max_id = match scope {
            Scope::Auto => i64::MAX as u64,
            // Everything stored when the request was served, not what arrives during it.
            _ => match self.writer.call(|reply| Op::MaxId { reply }) {
                Ok(id) => id,
                Err(e) => return DispatchReport { status: Err(e), ..Default::default() },
            },
        };
        let (clock, writer, limit) =
            (Arc::clone(&self.clock), Arc::clone(&self.writer), self.settings.max_batch_events);
        let due_ms = move || (scope != Scope::Dispatch).then(|| clock.now_ms());
        let lease = move |after: u64, due_ms: Option<i64>| {
            writer.ask(|reply| Op::Lease { after, max_id, due_ms, limit, events_only: false, reply })
        };
        // The next batch is leased while the current one is on the wire, from
        // past the current one's last id: the run goes on only when every hit
        // of the current batch was delivered or dropped, so nothing below it is
        // left to take (a hit skipped as not yet due waits for the next run).
        let mut next = lease(0, due_ms());
        loop {
            let hits = match next.and_then(|reply| reply.wait()) {
                Ok(h) => h,
                Err(e) => {
                    report.status = Err(e);
                    break;
                }
            };
            if hits.is_empty() {
                if leased_any {
                    // The last settlement was queued after this lease: the
                    // report goes out once the store shows it.
                    let applied = Oneshot::new();
                    let done = Arc::clone(&applied);
                    let then = Box::new(move |_| done.send(()));
                    if self.writer.submit(Op::Barrier { then }).is_ok() {
                        applied.wait();
                    }
                }
                if !leased_any && scope == Scope::Auto {
                    // Nothing is due: no failure left to retry.
                    self.pacing.failures = 0;
                }
                break;
            }
            if self.shared.abort.is_set() {
                self.release(&hits);
                report.status = Err(Error::cancelled());
                break;
            }
            leased_any = true;
            next = lease(hits.last().map_or(0, |h| h.id), due_ms());
            let (settlement, part, stop) = self.send_stored(&hits);
            report.merge(&part);
            if stop {
                // The report goes out after the store shows the outcome.
                if let Err(e) = self.writer.call(|reply| Op::Settle { settlement, reply: Some(reply) }) {
                    report.status = Err(e);
                }
                if let Ok(Ok(prefetched)) = next.map(|reply| reply.wait()) {
                    self.release(&prefetched);
                }
                break;
            }
            // The writer applies it in order with the leases (one queue).
            if let Err(e) = self.writer.submit(Op::Settle { settlement, reply: None }) {
                report.status = Err(e);
                if let Ok(Ok(prefetched)) = next.map(|reply| reply.wait()) {
                    self.release(&prefetched);
                }
                break;
            }
        }
        let stored = self.writer.stored();
        self.shared.state.lock().stored = stored;
        report
    }

    /// Ends the lease of hits that will not be sent now, unchanged.
    fn release(&self, hits: &[StoredHit]) {
        if hits.is_empty() {
            return;
        }
        let settlement = Settlement { release: hits.iter().map(|h| h.id).collect(), ..Settlement::default() };
        let _ = self.writer.submit(Op::Settle { settlement, reply: None });
    }

    fn is_sender(&mut self) -> bool {
        if self.sender.is_none() {
            if let Ok(Some(lock)) = SenderLock::try_acquire(&self.db) {
                // The previous sender is gone: its leases are ours to take back.
                if let Ok(n) = self.writer.call(|reply| Op::RecoverInFlight { reply }) {
                    if n > 0 {
                        self.reporter
                            .log(LogLevel::Info, format!("took over sending; {n} hit(s) will be resent"));
                    }
                }
                self.sender = Some(lock);
                self.shared.sender_held.store(true, Relaxed);
            }
        }
        self.sender.is_some()
    }

    /// Sends leased rows; returns their settlement, the tally, and whether the
    /// run stopped on a failure.
    fn send_stored(&mut self, hits: &[StoredHit]) -> (Settlement, DispatchReport, bool) {
        let (fates, mut report, stop) = self.send_run(hits);
        let mut s = Settlement::default();
        let retry_at = self.pacing.paused_until_ms;
        for (h, fate) in hits.iter().zip(fates) {
            match fate {
                Fate::Delivered => s.delivered.push(h.id),
                Fate::Retry if policy::exhausted(h.retry_count, self.settings.max_attempts) => {
                    report.dropped += 1;
                    s.dropped.push((h.id, h.message_id.clone(), DropReason::AttemptsExhausted))
                }
                Fate::Retry => s.retry.push((h.id, retry_at)),
                Fate::Offline => s.offline.push((h.id, retry_at)),
                Fate::Dropped(reason) => s.dropped.push((h.id, h.message_id.clone(), reason)),
                Fate::Release => s.release.push(h.id),
            }
        }
        (s, report, stop)
    }

    /// One send run plus its effect on pacing, counters and logs.
    fn send_run(&mut self, hits: &[StoredHit]) -> (Vec<Fate>, DispatchReport, bool) {
        let clock = Arc::clone(&self.clock);
        let now = move || clock.now_ms();
        let s = &self.settings;
        let headers = wire::post_headers(s.api_key.as_deref(), s.auth, s.gzip);
        let visitor = self.identity.visitor_id();
        let ctx = SendContext {
            batch_url: &s.batch_url,
            post_headers: &headers,
            gzip: s.gzip,
            anonymous_id: &visitor,
            max_batch_events: s.max_batch_events as usize,
            max_batch_bytes: s.max_batch_bytes as usize,
            now_ms: &now,
            clock_offset_ms: self.identity.clock_offset_ms(),
        };
        let run = send::run(self.transport.as_mut(), &ctx, hits);
        if let Some(offset) = run.clock_offset_ms {
            self.identity.set_clock_offset_ms(offset);
        }
        self.reporter.stats.requests.fetch_add(run.requests, Relaxed);
        for &(i, status) in &run.refused {
            self.reporter.log(
                LogLevel::Warn,
                format!("the collector refused hit {} (HTTP {status}); it is dropped", hits[i].message_id),
            );
        }
        let mut report = DispatchReport::default();
        for f in &run.fates {
            match f {
                Fate::Delivered => report.sent += 1,
                Fate::Retry => report.failed += 1,
                Fate::Dropped(_) => report.dropped += 1,
                Fate::Offline | Fate::Release => {}
            }
        }
        self.reporter.stats.failed.fetch_add(report.failed, Relaxed);
        let now_ms = self.clock.now_ms();
        match &run.stop {
            None => {
                if self.pacing.offline || self.pacing.failures > 0 {
                    self.reporter.log(LogLevel::Info, "the collector is reachable again");
                }
                self.pacing = Pacing::default();
            }
            Some(Stop::Aborted) => report.status = Err(Error::cancelled()),
            Some(stop) => {
                self.pacing.failures += 1;
                let mut wait = policy::backoff(self.pacing.failures, self.jitter());
                let why = match stop {
                    Stop::ServerFailed { retry_after, why } => {
                        wait = wait.max(retry_after.unwrap_or_default());
                        self.pacing.offline = false;
                        why.clone()
                    }
                    Stop::Unreachable(why) => {
                        self.pacing.offline = true;
                        format!("the collector is unreachable: {why}")
                    }
                    Stop::Unauthorized(status) => {
                        self.reporter.log(
                            LogLevel::Error,
                            format!(
                                "the collector answered HTTP {status}: check the api key and endpoint; \
                                 the hits sent were dropped"
                            ),
                        );
                        format!("HTTP {status}")
                    }
                    Stop::Aborted => unreachable!("handled above"),
                };
                self.pacing.paused_until_ms = now_ms + wait.as_millis() as i64;
                self.reporter.log(
                    LogLevel::Warn,
                    format!("sending failed ({why}); next attempt in {} ms", wait.as_millis()),
                );
                report.status = Err(Error::new(crate::Status::Network, why));
            }
        }
        let stopped = run.stop.is_some();
        (run.fates, report, stopped)
    }

    fn jitter(&mut self) -> f64 {
        // xorshift64: jitter needs spread, not cryptographic quality.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Timer, threshold, retry, network restored: due hits, until a failure.
    Auto,
    /// `at_flush`: due hits stored before the call.
    Flush,
    /// `at_offline_dispatch`: every hit stored before the call, backoff ignored.
    Dispatch,
}

fn network_report(why: &str) -> DispatchReport {
    DispatchReport { status: Err(Error::new(crate::Status::Network, why)), ..Default::default() }
}
