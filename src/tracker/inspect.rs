//! The inspection API: reading, counting and deleting stored hits, and the
//! tracker's statistics.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{DropReason, LogLevel};
use crate::error::{Error, Result};
use crate::hit::StoredHit;
use crate::runtime::{Oneshot, StatsSnapshot};
use crate::store::reader::Read;
use crate::store::writer::Op;
use crate::store::Reader;

use super::Tracker;

const DAY_MS: i64 = 86_400_000;

impl Tracker {
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
        self.delete(|reply| Op::DeleteAll { reason: DropReason::Deleted, reply })
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
                // Deleted before the listing returns, so a count taken after
                // it agrees with it. Best effort: a failing store keeps them
                // for the next read.
                if self.writer.submit(Op::DeleteUndecodable { ids: read.undecodable }).is_ok() {
                    let done = Oneshot::new();
                    let signal = Arc::clone(&done);
                    if self.writer.submit(Op::Barrier { then: Box::new(move |_| signal.send(())) }).is_ok() {
                        done.wait();
                    }
                }
            }
            Ok(read.hits)
        })
    }

    /// Counters since start plus the live queue size and bytes on disk.
    pub fn stats(&self) -> Result<StatsSnapshot> {
        self.open_gate(|| {
            let mut s = self.reporter.stats.snapshot();
            s.queued = self.writer.queued() + self.delivery.memory_len() as u64;
            s.longest_wait_us = self.writer.longest_wait().as_micros() as u64;
            s.wal_peak_bytes = self.writer.wal_peak_bytes();
            let path = self.storage_path();
            s.bytes_on_disk = ["", "-wal"]
                .iter()
                .filter_map(|suffix| std::fs::metadata(store_file(&path, suffix)).ok())
                .map(|m| m.len())
                .sum();
            Ok(s)
        })
    }
}

fn store_file(path: &std::path::Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
