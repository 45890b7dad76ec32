//! The queue totals as the writer keeps them: re-read when another connection
//! changed the store, and compared with a real count before they drop a hit.

use rusqlite::Connection;

use super::{QueueRow, WriterState};
use crate::config::LogLevel;
use crate::error::Result;
use crate::runtime::Reporter;
use crate::store::classify;
use crate::store::ops::TxEffects;
use crate::store::queue;

impl WriterState {
    /// Replaces the running totals of `fx` with a real count (a scan) when they
    /// differ; returns whether they did.
    pub(super) fn verify_totals(&self, tx: &Connection, fx: &mut TxEffects) -> Result<bool> {
        let (hits, bytes, newest) =
            queue::real_totals(tx).map_err(|e| classify(e, "counting stored hits"))?;
        if (hits, bytes) == (fx.count, fx.bytes) {
            return Ok(false);
        }
        self.reporter.log(
            LogLevel::Warn,
            format!(
                "the queue totals ({} hit(s), {} bytes) disagreed with the table ({hits} hit(s), {bytes} bytes); \
                 recounted before applying the queue limits",
                fx.count, fx.bytes
            ),
        );
        fx.count = hits;
        fx.bytes = bytes;
        fx.newest = fx.newest.max(newest);
        Ok(true)
    }
}

/// Re-reads the queue row when another connection (another process) has
/// committed since `data_version` was taken; our own commits keep it current.
/// A row that is damaged or implausible is recounted, with a WARN.
pub(super) fn refresh_row(
    conn: &Connection,
    data_version: &mut i64,
    row: &mut QueueRow,
    verified: &mut bool,
    reporter: &Reporter,
) -> rusqlite::Result<()> {
    let v: i64 = conn.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))?;
    if v != *data_version {
        *data_version = v;
        let (read, distrust) = queue::read_checked(conn)?;
        *row = read;
        *verified = false;
        if let Some(why) = distrust {
            reporter.log(LogLevel::Warn, format!("the store's queue totals were damaged ({why}); recounted"));
        }
    }
    Ok(())
}
