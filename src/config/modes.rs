//! The configuration's modes and the callback types it holds: plain enums,
//! each mapped to and from its C constants in `src/ffi/types.rs`.

use std::sync::Arc;

/// When hits are written to disk (the AT "offline mode").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfflineMode {
    /// Never written to disk; sent from memory, dropped (and reported) when unreachable.
    Never = 0,
    /// Committed to disk before any send; deleted once acknowledged. The default.
    Required = 1,
    /// Stored and never sent automatically; only an explicit dispatch sends them.
    Always = 2,
}

/// The run-time offline mode, shared by the tracker and its delivery thread.
#[derive(Debug)]
pub struct ModeCell(std::sync::atomic::AtomicU8);

impl ModeCell {
    pub fn new(mode: OfflineMode) -> Self {
        ModeCell(std::sync::atomic::AtomicU8::new(mode as u8))
    }
    pub fn get(&self) -> OfflineMode {
        match self.0.load(std::sync::atomic::Ordering::SeqCst) {
            0 => OfflineMode::Never,
            2 => OfflineMode::Always,
            _ => OfflineMode::Required,
        }
    }
    pub fn set(&self, mode: OfflineMode) {
        self.0.store(mode as u8, std::sync::atomic::Ordering::SeqCst);
    }
}

/// When a track call returns relative to the commit of its hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// The hit is committed when the call returns (concurrent callers share commits).
    OnReturn,
    /// The call returns after an in-memory enqueue; the commit follows within the
    /// commit window.
    Batched,
}

/// SQLite's `synchronous` setting for the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Synchronous {
    /// Commits survive a process kill; the last commits may be lost on power loss.
    Normal,
    /// Every commit is fsynced: it also survives power loss, at a cost per commit.
    Full,
}

/// Where host callbacks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackMode {
    /// On the tracker's own callback thread (the default).
    Thread,
    /// Queued until the host calls `Tracker::poll` on its own thread.
    Polled,
}

/// Severity of a log line, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
}

/// Receives log lines (on the tracker's callback thread).
pub type LogFn = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

/// Why a hit left the store without being acknowledged by the collector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The queue reached `max_queue_size` or `max_store_bytes`; the oldest hits went.
    Overflow,
    /// The row could not be decoded (damaged store).
    Corrupt,
    /// The host deleted it through the inspection API.
    Deleted,
    /// Accepted in memory (batched durability) but never committed: the store kept
    /// failing until the tracker closed.
    StorageFailed,
    /// A memory-only hit (`OfflineMode::Never`) still unsent when the tracker closed.
    Unsent,
    /// The collector refused it (400 or 413 when sent alone, 401, 403).
    Rejected,
    /// Its send attempts that reached the server ran out (`max_attempts`).
    AttemptsExhausted,
    /// A memory-only hit (`OfflineMode::Never`) found the network unreachable.
    Unreachable,
    /// Its envelope alone exceeds `max_batch_bytes`.
    TooLarge,
    /// It failed to send and was older than `max_hit_age_ms`.
    Expired,
    /// Purged when the user denied consent.
    ConsentDenied,
}

impl DropReason {
    /// Drops the host decided on (deleting, purging at opt-out or on denied
    /// consent): told to the host by its drop callback, never reported to the
    /// collector.
    pub fn is_hosts_decision(self) -> bool {
        matches!(self, DropReason::Deleted | DropReason::ConsentDenied)
    }
}

/// Receives the message ids of dropped hits and the reason (on the callback thread).
pub type DropFn = Arc<dyn Fn(DropReason, &[String]) + Send + Sync>;

/// Called with the raw document when a new remote configuration is applied.
pub type RemoteConfigFn = Arc<dyn Fn(&str) + Send + Sync>;

/// What opting out (`set_tracking_enabled(false)`) does with hits already queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptOutPolicy {
    /// They stay queued and are sent as usual.
    Keep = 0,
    /// Every stored and memory-only hit is deleted (reported as deleted).
    Purge = 1,
}
