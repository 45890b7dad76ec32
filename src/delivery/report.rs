//! What a flush or dispatch reports to the host.

use crate::error::{Error, Result};
use crate::runtime::Outcome;

/// What `at_flush` / `at_offline_dispatch` report. Counts are hits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchReport {
    /// `Ok` when nothing failed; `Network` when a failure stopped the run (or
    /// backoff / reachability kept it from starting); `Cancelled` at shutdown.
    pub status: Result<()>,
    pub sent: u64,
    /// Attempts that reached the server and failed (the hits stay queued).
    pub failed: u64,
    pub dropped: u64,
}

impl Default for DispatchReport {
    fn default() -> Self {
        DispatchReport { status: Ok(()), sent: 0, failed: 0, dropped: 0 }
    }
}

impl Outcome for DispatchReport {
    fn cancelled() -> Self {
        DispatchReport { status: Err(Error::cancelled()), ..Default::default() }
    }
}

impl DispatchReport {
    pub(crate) fn merge(&mut self, other: &DispatchReport) {
        self.sent += other.sent;
        self.failed += other.failed;
        self.dropped += other.dropped;
        if self.status.is_ok() {
            self.status = other.status.clone();
        }
    }
}
