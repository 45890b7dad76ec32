//! This tracker's sender role: the store's sender lock (`SenderLock`), held
//! from open or taken over later, and given up while the app is in the
//! background (so a suspended iOS app holds no file lock, and an extension
//! sharing the store may send meanwhile), taken again in the foreground.
//!
//! The lock is claimed by the delivery thread (before it drains the store) or
//! by the host's thread (`Delivery::enter_foreground`); it is released only by
//! the delivery thread, between two jobs, once every settlement it queued is
//! applied, so no lease of this process is left in flight when another process
//! may become the sender.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::config::LogLevel;
use crate::runtime::{Oneshot, Reporter};
use crate::store::writer::Op;
use crate::store::{SenderLock, WriterHandle};

pub(super) struct SenderRole {
    /// Taken before `State` when both are (`Engine::leave_sender_role`).
    lock: Mutex<Option<SenderLock>>,
    /// Mirrors `lock.is_some()` for lock-free reads (`Delivery::is_sender`).
    held: AtomicBool,
    db: PathBuf,
}

impl SenderRole {
    pub(super) fn new(lock: Option<SenderLock>, db: PathBuf) -> SenderRole {
        SenderRole { held: AtomicBool::new(lock.is_some()), lock: Mutex::new(lock), db }
    }

    pub(super) fn held(&self) -> bool {
        self.held.load(Relaxed)
    }

    /// Takes the sender lock when it is free; true when this tracker holds it.
    /// Rows left leased in the store belong to a sender that is gone (or to
    /// this one before it gave the lock up): they are returned to the queue
    /// and sent again (the collector deduplicates).
    pub(super) fn claim(&self, writer: &WriterHandle, reporter: &Reporter) -> bool {
        let mut lock = self.lock.lock();
        if lock.is_none() {
            if let Ok(Some(taken)) = SenderLock::try_acquire(&self.db) {
                if let Ok(n) = writer.call(|reply| Op::RecoverInFlight { reply }) {
                    if n > 0 {
                        reporter.log(LogLevel::Info, format!("took over sending; {n} hit(s) will be resent"));
                    }
                }
                *lock = Some(taken);
                self.held.store(true, Relaxed);
            }
        }
        lock.is_some()
    }

    /// Gives the lock up when `still_wanted_gone` (asked with the role's lock
    /// held) says so, after every op queued for the writer before (the
    /// settlements of the last sends) is applied.
    pub(super) fn release_if(&self, writer: &WriterHandle, still_wanted_gone: impl FnOnce() -> bool) -> bool {
        let mut lock = self.lock.lock();
        if lock.is_none() || !still_wanted_gone() {
            return false;
        }
        let applied = Oneshot::new();
        let done = Arc::clone(&applied);
        let then = Box::new(move |_| done.send(()));
        if writer.submit(Op::Barrier { then }).is_ok() {
            applied.wait();
        }
        *lock = None;
        self.held.store(false, Relaxed);
        true
    }
}
