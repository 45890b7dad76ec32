//! Logging, drop reporting and the counters behind `at_tracker_stats`.
//!
//! Every hit that leaves the store without an acknowledgement passes through
//! `Reporter::dropped`: it is counted, logged, and handed to the host's drop
//! callback. Nothing here blocks: host code runs on the callback thread.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::config::{DropFn, DropReason, LogFn, LogLevel};
use crate::runtime::CallbackQueue;

/// Monotonic counters since the tracker started.
#[derive(Default)]
pub struct Stats {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub dropped_overflow: AtomicU64,
    pub dropped_corrupt: AtomicU64,
    pub deleted: AtomicU64,
    pub dropped_storage: AtomicU64,
    pub dropped_unsent: AtomicU64,
    pub committed: AtomicU64,
    pub dropped_rejected: AtomicU64,
    pub dropped_attempts: AtomicU64,
    pub dropped_unreachable: AtomicU64,
    pub dropped_too_large: AtomicU64,
    /// HTTP requests made (including failed ones).
    pub requests: AtomicU64,
    pub dropped_expired: AtomicU64,
    /// The HTTP status (401/403) while sending is paused for a rejected key; 0
    /// otherwise.
    pub key_rejected: AtomicU64,
    /// Requests that did not reach the collector (network, TLS, pinning, proxy,
    /// captive portal).
    pub not_reached: AtomicU64,
    pub dropped_consent: AtomicU64,
    /// Why the last send failed, for the host to read; cleared by a success.
    pub last_send_error: parking_lot::Mutex<Option<String>>,
}

/// A consistent-enough copy of the counters plus the live queue figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Hits waiting: stored plus accepted but not yet committed.
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    pub dropped_overflow: u64,
    pub dropped_corrupt: u64,
    pub deleted: u64,
    pub dropped_storage: u64,
    pub dropped_unsent: u64,
    /// Hits committed to the store since start.
    pub committed: u64,
    /// Size of the database and its WAL on disk.
    pub bytes_on_disk: u64,
    pub dropped_rejected: u64,
    pub dropped_attempts: u64,
    pub dropped_unreachable: u64,
    pub dropped_too_large: u64,
    pub requests: u64,
    pub dropped_expired: u64,
    pub key_rejected: u64,
    pub not_reached: u64,
    pub dropped_consent: u64,
    /// The longest a tracking call waited for room in the in-memory queue, µs.
    pub longest_wait_us: u64,
    /// The write-ahead log's largest size since start, in bytes.
    pub wal_peak_bytes: u64,
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            sent: self.sent.load(Relaxed),
            failed: self.failed.load(Relaxed),
            dropped_overflow: self.dropped_overflow.load(Relaxed),
            dropped_corrupt: self.dropped_corrupt.load(Relaxed),
            deleted: self.deleted.load(Relaxed),
            dropped_storage: self.dropped_storage.load(Relaxed),
            dropped_unsent: self.dropped_unsent.load(Relaxed),
            committed: self.committed.load(Relaxed),
            dropped_rejected: self.dropped_rejected.load(Relaxed),
            dropped_attempts: self.dropped_attempts.load(Relaxed),
            dropped_unreachable: self.dropped_unreachable.load(Relaxed),
            dropped_too_large: self.dropped_too_large.load(Relaxed),
            requests: self.requests.load(Relaxed),
            dropped_expired: self.dropped_expired.load(Relaxed),
            key_rejected: self.key_rejected.load(Relaxed),
            not_reached: self.not_reached.load(Relaxed),
            dropped_consent: self.dropped_consent.load(Relaxed),
            ..StatsSnapshot::default()
        }
    }
}

/// Routes log lines and drop notices to the host, through the callback thread.
#[derive(Clone)]
pub struct Reporter {
    log: Option<(LogFn, LogLevel)>,
    on_drop: Option<DropFn>,
    queue: CallbackQueue,
    pub stats: Arc<Stats>,
}

impl Reporter {
    pub fn new(log: Option<(LogFn, LogLevel)>, on_drop: Option<DropFn>, queue: CallbackQueue) -> Self {
        Reporter { log, on_drop, queue, stats: Arc::new(Stats::default()) }
    }

    pub fn log(&self, level: LogLevel, message: impl Into<String>) {
        if let Some((sink, min)) = &self.log {
            if level <= *min {
                let sink = Arc::clone(sink);
                let message = message.into();
                self.queue.post(move || sink(level, &message));
            }
        }
    }

    /// Whether drop reports carry message ids (a drop callback is set); without
    /// one only the counts matter, and the ids need not be read.
    pub fn wants_ids(&self) -> bool {
        self.on_drop.is_some()
    }

    /// Counts, logs and reports hits that left the store unacknowledged.
    pub fn dropped(&self, reason: DropReason, message_ids: Vec<String>) {
        if message_ids.is_empty() {
            return;
        }
        let n = message_ids.len() as u64;
        let (counter, level, why) = match reason {
            DropReason::Overflow => {
                (&self.stats.dropped_overflow, LogLevel::Warn, "the queue is full (oldest hits dropped)")
            }
            DropReason::Corrupt => {
                (&self.stats.dropped_corrupt, LogLevel::Warn, "their stored rows could not be decoded")
            }
            DropReason::Deleted => (&self.stats.deleted, LogLevel::Info, "the host deleted them"),
            DropReason::StorageFailed => {
                (&self.stats.dropped_storage, LogLevel::Error, "the store failed until the tracker closed")
            }
            DropReason::Unsent => (
                &self.stats.dropped_unsent,
                LogLevel::Warn,
                "memory-only hits were unsent when the tracker closed",
            ),
            DropReason::Rejected => {
                (&self.stats.dropped_rejected, LogLevel::Warn, "the collector refused them")
            }
            DropReason::AttemptsExhausted => {
                (&self.stats.dropped_attempts, LogLevel::Warn, "their send attempts ran out (max_attempts)")
            }
            DropReason::Unreachable => (
                &self.stats.dropped_unreachable,
                LogLevel::Warn,
                "memory-only hits found the network unreachable",
            ),
            DropReason::TooLarge => {
                (&self.stats.dropped_too_large, LogLevel::Warn, "each is larger than max_batch_bytes")
            }
            DropReason::Expired => (
                &self.stats.dropped_expired,
                LogLevel::Warn,
                "they failed to send and were older than max_hit_age_ms",
            ),
            DropReason::ConsentDenied => {
                (&self.stats.dropped_consent, LogLevel::Info, "the user denied consent (purged)")
            }
        };
        counter.fetch_add(n, Relaxed);
        self.log(level, format!("dropped {n} hit(s): {why}"));
        if let Some(sink) = &self.on_drop {
            let sink = Arc::clone(sink);
            self.queue.post(move || sink(reason, &message_ids));
        }
    }
}
