//! The visitor's choices and identity: the tracking gate, opting out (with or
//! without purging what was kept), and the visitor id.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use crate::config::{DropReason, OptOutPolicy};
use crate::error::{Error, Result};
use crate::hit::new_message_id;
use crate::identity::validate_visitor_id;
use crate::store::writer::Op;

use super::Tracker;

impl Tracker {
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

    pub fn tracking_enabled(&self) -> bool {
        self.enabled.load(SeqCst)
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
                let stored =
                    self.writer.call(|reply| Op::DeleteAll { reason: DropReason::Deleted, reply })?;
                Ok(stored + self.delivery.purge_memory(DropReason::Deleted, &self.reporter))
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
}
