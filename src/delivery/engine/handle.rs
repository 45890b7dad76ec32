//! The tracker's side of the delivery thread: the `Delivery` handle (requests,
//! memory-only hits, lifecycle, close), what starting the thread takes, and the
//! writer's wake-up (`DeliveryWake`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::analytics::consent::ConsentCell;
use crate::clock::Clock;
use crate::config::{DropReason, ModeCell};
use crate::delivery::transport::{Abort, Transport};
use crate::delivery::DeliverySettings;
use crate::error::{Error, Result};
use crate::hit::{NewHit, StoredHit};
use crate::identity::Identity;
use crate::remote::{Remote, RemoteSettings};
use crate::runtime::{Completer, Oneshot, Reporter};
use crate::store::{SenderLock, WriterHandle};

use super::sender::SenderRole;

use super::memory::{drop_memory, Memory};
use super::send_run::{seed, Pacing};
use super::{DispatchCompleter, Engine, RemoteNotify, Shared, State};

/// The tracker's handle on its delivery thread.
pub struct Delivery {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The store's sender lock, shared with the engine.
    sender: Arc<SenderRole>,
    writer: Arc<WriterHandle>,
    reporter: Reporter,
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
    pub sender: Option<SenderLock>,
    pub db: std::path::PathBuf,
    /// Nothing goes on the network unless it is granted.
    pub consent: Arc<ConsentCell>,
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
                bg_requested: false,
                bg_deadline: None,
                nudged: false,
                new_key: None,
                closing: None,
                // `stored` is refreshed from the writer before the first wait.
            }),
            wake: Condvar::new(),
            abort,
            finished: Oneshot::new(),
        })))
    }

    pub fn start(wake: &DeliveryWake, settings: DeliverySettings, parts: DeliveryParts) -> Result<Delivery> {
        let shared = Arc::clone(&wake.0);
        {
            let mut st = shared.state.lock();
            st.stored = parts.writer.stored();
            st.threshold = settings.flush_threshold;
        }
        let sender = Arc::new(SenderRole::new(parts.sender, parts.db));
        let (writer, reporter) = (Arc::clone(&parts.writer), parts.reporter.clone());
        let now = parts.clock.mono_ms();
        let wall_minus_mono = parts.clock.now_ms().saturating_sub(now);
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
            sender: Arc::clone(&sender),
            consent: parts.consent,
            pacing: Pacing::default(),
            last_auto_ms: now,
            retry_wall_hwm: 0,
            wall_minus_mono,
            key_rejected: None,
            clock_suspect: false,
            warned: Default::default(),
            idle: true,
            rng: seed(),
        };
        // The cached document (applied at open) is in force from the start.
        engine.sync_remote();
        let thread = std::thread::Builder::new()
            .name("attracker-delivery".into())
            .spawn(move || engine.run())
            .map_err(|e| Error::internal(format!("cannot start the delivery thread: {e}")))?;
        Ok(Delivery { shared, thread: Mutex::new(Some(thread)), sender, writer, reporter })
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut st = self.shared.state.lock();
        let r = f(&mut st);
        drop(st);
        self.shared.wake.notify_one();
        r
    }

    /// Queues a memory-only hit; beyond `limit` (the queue size) the oldest are
    /// dropped.
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
    /// Drops every memory-only hit, reported with `reason`; returns how many.
    pub fn purge_memory(&self, reason: DropReason, reporter: &Reporter) -> u64 {
        let gone: Vec<Memory> = self.shared.state.lock().outbox.drain(..).collect();
        let n = gone.len() as u64;
        drop_memory(gone, reason, reporter);
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

    /// The background job: with a `deadline`, a flush that ends before it
    /// (the transfer still running then is aborted; its hits stay stored);
    /// then the sender lock is given up while still in the background; then
    /// `done` gets the flush's tally (empty without one). Requests arriving
    /// meanwhile join it.
    pub fn background_flush(&self, deadline: Option<Instant>, done: DispatchCompleter) {
        self.with_state(|st| {
            st.bg_requested = true;
            if let Some(d) = deadline {
                st.bg_deadline = Some(st.bg_deadline.map_or(d, |old| old.min(d)));
            }
            st.bg_waiters.push(done);
        });
    }

    /// The app is back: timers resume, what is due is sent, and the sender
    /// lock is taken again now when it is free (rows another sender left
    /// leased are sent again).
    pub fn enter_foreground(&self) {
        self.with_state(|st| {
            if st.background {
                st.background = false;
                st.restored = true;
            }
        });
        self.sender.claim(&self.writer, &self.reporter);
    }

    /// True when this tracker is the store's sender (holds its sender lock).
    pub fn is_sender(&self) -> bool {
        self.sender.held()
    }

    /// The offline mode changed: the thread looks again (returning to
    /// `Required` restarts the threshold and timer triggers).
    pub fn mode_changed(&self) {
        self.with_state(|_| {});
    }

    /// Consent was granted (or withdrawn): the thread looks again; stored
    /// hits go out as if the network had just come back.
    pub fn consent_changed(&self) {
        self.with_state(|st| {
            if st.stored > 0 {
                st.restored = true;
            }
        });
    }

    /// A key set at run time: used from the next request on; resumes sending
    /// paused by a refused key.
    pub fn set_api_key(&self, key: Option<String>) {
        self.with_state(|st| st.new_key = Some(key));
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
