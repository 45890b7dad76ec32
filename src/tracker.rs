//! The tracker: accepts hits on the host's thread, routes them by offline mode to
//! the writer (storing modes) or to memory (`Never`), and serves the inspection API.
//!
//! A track call validates on the calling thread and never waits on anything but,
//! with durability on return, its own group commit. Host callbacks run only on the
//! callback thread.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, DropReason, Durability, LogLevel, OfflineMode};
use crate::error::{Error, Result, Status};
use crate::hit::{NewHit, StoredHit};
use crate::runtime::{CallbackQueue, Completer, Completion, Oneshot, Reporter, StatsSnapshot};
use crate::store::reader::Read;
use crate::store::writer::{Limits, Op};
use crate::store::{self, Reader, SalvageReport, Writer, WriterHandle};

const DAY_MS: i64 = 86_400_000;

/// What happened when the store was opened.
#[derive(Clone, Debug, Default)]
pub struct OpenReport {
    /// Rows a crashed process left in flight, now pending again.
    pub recovered_in_flight: u64,
    /// Set when the store was damaged, moved aside and salvaged.
    pub salvage: Option<SalvageReport>,
}

pub struct Tracker {
    config: Config,
    clock: Arc<dyn Clock>,
    mode: AtomicU8,
    enabled: AtomicBool,
    reachable: AtomicBool,
    /// Readers are the API calls in progress; `close` takes it for writing, so
    /// a call either completes before close begins or sees `Closed`.
    gate: RwLock<bool>,
    writer: WriterHandle,
    reader: Reader,
    callbacks: CallbackQueue,
    reporter: Reporter,
    /// Memory-only hits (`OfflineMode::Never`), oldest first.
    outbox: Mutex<VecDeque<(NewHit, Option<Completer>)>>,
    opened: OpenReport,
}

impl Tracker {
    /// Opens (or creates) the store named by `config` and starts the tracker's
    /// writer and callback threads.
    pub fn new(config: Config) -> Result<Self> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    pub fn with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Self> {
        config.validate()?;
        let callbacks = CallbackQueue::start("attracker-callbacks")
            .map_err(|e| Error::internal(format!("cannot start the callback thread: {e}")))?;
        let reporter = Reporter::new(config.log.clone(), config.on_drop.clone(), callbacks.clone());
        let started = (|| {
            let opened = store::open(&config, &reporter, clock.now_ms())?;
            let limits = Limits { max_hits: config.max_queue_size.into(), max_bytes: config.max_store_bytes };
            let writer = Writer::start(
                opened.writer,
                reporter.clone(),
                limits,
                Duration::from_millis(config.commit_window_ms.into()),
                config.durability == Durability::Batched,
            )?;
            let report =
                OpenReport { recovered_in_flight: opened.recovered_in_flight, salvage: opened.salvage };
            Ok((writer, Reader::new(opened.reader, config.batch_url()), report))
        })();
        let (writer, reader, opened) = match started {
            Ok(parts) => parts,
            Err(e) => {
                callbacks.shutdown();
                return Err(e);
            }
        };
        Ok(Tracker {
            mode: AtomicU8::new(mode_code(config.offline_mode)),
            enabled: AtomicBool::new(true),
            reachable: AtomicBool::new(true),
            gate: RwLock::new(false),
            writer,
            reader,
            callbacks,
            reporter,
            outbox: Mutex::new(VecDeque::new()),
            opened,
            clock,
            config,
        })
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
        self.open_gate(|| {
            self.check_enabled()?;
            let hit = NewHit::url(url, hit_type, self.clock.now_ms(), self.config.max_event_bytes)?;
            self.accept(hit, done)
        })
    }

    fn accept(&self, mut hit: NewHit, done: Option<Completion>) -> Result<()> {
        let mode = self.offline_mode();
        hit.is_offline = mode == OfflineMode::Always || !self.reachable.load(SeqCst);
        let done = done.map(|f| Completer::new(&self.callbacks, f));
        match (mode, self.config.durability) {
            (OfflineMode::Never, _) => {
                self.hold_in_memory(hit, done);
                Ok(())
            }
            (_, Durability::Batched) => self.writer.submit(Op::Insert { hit, done, wait: None }),
            (_, Durability::OnReturn) => {
                let wait = Oneshot::new();
                self.writer.submit(Op::Insert { hit, done: None, wait: Some(Arc::clone(&wait)) })?;
                let result = wait.wait();
                match (result.is_ok(), done) {
                    (true, Some(done)) => done.complete(Ok(())),
                    (false, Some(done)) => done.disarm(),
                    (_, None) => {}
                }
                result
            }
        }
    }

    fn hold_in_memory(&self, hit: NewHit, done: Option<Completer>) {
        let mut outbox = self.outbox.lock();
        outbox.push_back((hit, done));
        let limit = self.config.max_queue_size as usize;
        if outbox.len() > limit {
            let excess = outbox.len() - limit;
            let gone: Vec<_> = outbox.drain(..excess).collect();
            drop(outbox);
            let ids = gone.iter().map(|(h, _)| h.message_id.clone()).collect();
            self.reporter.dropped(DropReason::Overflow, ids);
        }
    }

    fn check_enabled(&self) -> Result<()> {
        if self.enabled.load(SeqCst) {
            Ok(())
        } else {
            Err(Error::new(
                Status::Suppressed,
                "tracking is disabled (at_set_tracking_enabled): the hit was not kept",
            ))
        }
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
            self.mode.store(mode_code(mode), SeqCst);
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

    pub fn offline_mode(&self) -> OfflineMode {
        match self.mode.load(SeqCst) {
            0 => OfflineMode::Never,
            2 => OfflineMode::Always,
            _ => OfflineMode::Required,
        }
    }

    /// The tracking gate: while disabled, track calls return `Suppressed` and
    /// nothing is buffered.
    pub fn set_tracking_enabled(&self, enabled: bool) -> Result<()> {
        self.open_gate(|| {
            self.enabled.store(enabled, SeqCst);
            Ok(())
        })
    }

    pub fn tracking_enabled(&self) -> bool {
        self.enabled.load(SeqCst)
    }

    /// The host's reachability report. Hits tracked while unreachable are marked
    /// `is_offline`.
    pub fn set_network_reachable(&self, reachable: bool) -> Result<()> {
        self.open_gate(|| {
            self.reachable.store(reachable, SeqCst);
            Ok(())
        })
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
            s.queued = self.writer.stored() + self.writer.uncommitted() + self.outbox.lock().len() as u64;
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
        self.writer.close(Instant::now() + timeout);
        let unsent: Vec<_> = self.outbox.lock().drain(..).collect();
        let ids = unsent.iter().map(|(h, _)| h.message_id.clone()).collect();
        self.reporter.dropped(DropReason::Unsent, ids);
        drop(unsent); // their completers report Cancelled
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

fn mode_code(mode: OfflineMode) -> u8 {
    match mode {
        OfflineMode::Never => 0,
        OfflineMode::Required => 1,
        OfflineMode::Always => 2,
    }
}

fn store_file(path: &std::path::Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
