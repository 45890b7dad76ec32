//! Closing the tracker: explicitly, or on drop with the default timeout.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};

use super::Tracker;

impl Tracker {
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
        // The session goes on in the next process if it starts soon enough.
        if let Some(value) = self.analytics.sessions.snapshot() {
            let entries = vec![(crate::analytics::session::META_SESSION.to_owned(), Some(value))];
            let _ = self.writer.submit(crate::store::writer::Op::PutMeta { entries, reply: None });
        }
        let deadline = Instant::now() + timeout;
        let callbacks = self.callbacks.clone();
        self.delivery.close(deadline, move || {
            callbacks.poll(0);
        });
        // The reader's connection first: the writer's, closed last, leaves no
        // `-wal` behind.
        self.reader.close();
        self.writer.close(deadline);
        self.callbacks.shutdown();
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        *self.gate.read()
    }
}

impl Drop for Tracker {
    /// In a forked child (`created_in_another_process`) nothing is closed: the
    /// threads to join are not there and the connections are the parent's.
    fn drop(&mut self) {
        if !self.is_closed() && !self.created_in_another_process() {
            let _ = self.close(Duration::from_millis(crate::config::DEFAULT_CLOSE_TIMEOUT_MS.into()));
        }
    }
}
