//! Who is tracking and when: the visitor id, the session, and the collector's
//! clock. Shared by the tracker (which stamps hits) and the delivery thread
//! (which sends them and learns the clock offset).

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::hit::{new_message_id, Stamp};
use crate::remote::visitor_bucket;

/// Longest visitor id a host may set.
pub(crate) const MAX_VISITOR_ID_BYTES: usize = 128;

/// No clock offset learned yet.
const UNKNOWN: i64 = i64::MIN;

pub struct Identity {
    visitor: RwLock<Arc<str>>,
    /// The visitor's sampling bucket (`remote::visitor_bucket`).
    bucket: AtomicU32,
    session_id: Arc<str>,
    session_start: Instant,
    clock_offset_ms: AtomicI64,
    /// The store's id (`store::store_id`), sent with every event.
    store_id: Arc<str>,
}

impl Identity {
    /// A new session for `visitor_id` (the one kept in the store) in the store
    /// `store_id`.
    pub fn new(visitor_id: &str, store_id: &str) -> Identity {
        Identity {
            visitor: RwLock::new(Arc::from(visitor_id)),
            bucket: AtomicU32::new(visitor_bucket(visitor_id)),
            session_id: Arc::from(new_message_id()),
            session_start: Instant::now(),
            clock_offset_ms: AtomicI64::new(UNKNOWN),
            store_id: Arc::from(store_id),
        }
    }

    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    pub fn visitor_id(&self) -> Arc<str> {
        Arc::clone(&self.visitor.read())
    }

    pub fn set_visitor_id(&self, id: Arc<str>) {
        let mut v = self.visitor.write();
        self.bucket.store(visitor_bucket(&id), Relaxed);
        *v = id;
    }

    pub fn bucket(&self) -> u32 {
        self.bucket.load(Relaxed)
    }

    /// The stamp of a hit tracked now.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            visitor_id: Some(self.visitor_id()),
            session_id: Some(Arc::clone(&self.session_id)),
            session_ms: Some(self.session_start.elapsed().as_millis() as i64),
        }
    }

    /// The collector's clock minus ours, from the `Date` of its last success.
    pub fn clock_offset_ms(&self) -> Option<i64> {
        Some(self.clock_offset_ms.load(Relaxed)).filter(|&v| v != UNKNOWN)
    }

    pub fn set_clock_offset_ms(&self, offset: i64) {
        self.clock_offset_ms.store(offset.max(UNKNOWN + 1), Relaxed);
    }
}

/// Checks a visitor id a host wants to use: non-empty UTF-8 of at most 128 bytes,
/// printable (no control characters).
pub fn validate_visitor_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid("the visitor id is empty"));
    }
    if id.len() > MAX_VISITOR_ID_BYTES {
        return Err(Error::invalid(format!(
            "the visitor id is {} bytes; at most {MAX_VISITOR_ID_BYTES} are allowed",
            id.len()
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(Error::invalid("the visitor id contains control characters"));
    }
    Ok(())
}
