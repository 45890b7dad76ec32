//! Exported batches: events the host uploads with its own means (an iOS
//! background `URLSession`), leased until it acknowledges them.

use crate::config::DropReason;
use crate::delivery::wire;
use crate::error::{Error, Result};
use crate::store::ops::LeaseRequest;
use crate::store::writer::{Op, Settlement};

use super::Tracker;

/// A batch of events handed to the host to upload itself (an iOS background
/// `URLSession`, for instance). Its rows stay leased until `offline_ack_batch`;
/// after a crash they are sent again (the collector deduplicates).
#[derive(Debug)]
pub struct ExportedBatch {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Store ids of the events in the batch.
    pub ids: Vec<u64>,
    pub message_ids: Vec<String>,
}

impl Tracker {
    /// Leases the next batch of stored events (within the batch limits) and
    /// returns it as a ready-to-send POST, or `None` when no event is waiting.
    /// Only the store's sender may export (see `SenderLock`).
    pub fn offline_export_batch(&self) -> Result<Option<ExportedBatch>> {
        self.open_gate(|| {
            if !self.delivery.is_sender() {
                return Err(Error::storage(
                    "this tracker is not the store's sender: another process is (export the batch there), or \
                     the app is in the background (the sender lock is released until the foreground)",
                ));
            }
            self.writer.settle();
            let c = &self.config;
            loop {
                let request = LeaseRequest {
                    after: 0,
                    max_id: i64::MAX as u64,
                    due_ms: None,
                    limit: c.max_batch_events,
                    events_only: true,
                    check_bodies: true,
                };
                let hits = self.writer.call(|reply| Op::Lease { request, reply })?;
                if hits.is_empty() {
                    return Ok(None);
                }
                let envelopes: Vec<String> = hits
                    .iter()
                    .map(|h| wire::envelope(h, &self.identity.visitor_id(), self.identity.store_id()))
                    .collect();
                let sizes: Vec<usize> = envelopes.iter().map(String::len).collect();
                let (batches, too_large) =
                    wire::split(&sizes, c.max_batch_events as usize, c.max_batch_bytes as usize);
                let first = batches.first().cloned().unwrap_or(0..0);
                let mut settlement = Settlement::default();
                for &i in &too_large {
                    settlement.dropped.push((hits[i].id, hits[i].message_id.clone(), DropReason::TooLarge));
                }
                for (i, h) in hits.iter().enumerate() {
                    if !first.contains(&i) && !too_large.contains(&i) {
                        settlement.release.push(h.id);
                    }
                }
                if !settlement.is_empty() {
                    self.writer.call(|reply| Op::Settle { settlement, reply: Some(reply) })?;
                }
                if first.is_empty() {
                    continue; // everything leased was too large; look again
                }
                let refs: Vec<&str> = envelopes[first.clone()].iter().map(String::as_str).collect();
                let json = wire::body(&refs, self.clock.now_ms(), self.identity.clock_offset_ms());
                let body = if c.gzip { wire::gzip(&json) } else { json };
                return Ok(Some(ExportedBatch {
                    url: c.batch_url(),
                    headers: wire::post_headers(c.api_key.as_deref(), c.auth, c.gzip),
                    body,
                    ids: hits[first.clone()].iter().map(|h| h.id).collect(),
                    message_ids: hits[first].iter().map(|h| h.message_id.clone()).collect(),
                }));
            }
        })
    }

    /// Ends an exported batch: `delivered` deletes its events (acknowledged);
    /// otherwise they return to the queue unchanged (no attempt is counted).
    pub fn offline_ack_batch(&self, batch: &ExportedBatch, delivered: bool) -> Result<()> {
        self.open_gate(|| {
            let ids = batch.ids.clone();
            let settlement = if delivered {
                Settlement { delivered: ids, ..Settlement::default() }
            } else {
                Settlement { release: ids, ..Settlement::default() }
            };
            self.writer.call(|reply| Op::Settle { settlement, reply: Some(reply) })
        })
    }
}
