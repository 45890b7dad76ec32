//! One group commit, in named steps: begin (the queue row as of now), apply
//! each op, keep the limits (checking the totals first), report the drops,
//! write the queue row, commit; then make the effects visible (state, counters,
//! drop callbacks, the callers waiting, the delivery thread).

use std::sync::atomic::Ordering::Relaxed;

use rusqlite::Connection;

use crate::config::DropReason;
use crate::error::Result;
use crate::store::ops::{self, Leases, Tx, TxEffects};
use crate::store::queue::{self, QueueRow};
use crate::store::{classify, drop_report};

use super::totals::refresh_row;
use super::{Done, Op, WriterState, GROUP_ROWS, PULL_CHUNK};

/// What the ops of one transaction change before it commits.
struct Staged {
    fx: TxEffects,
    /// The leases as they will be after the commit (a copy, when an op of the
    /// transaction leases or settles).
    leased: Option<Leases>,
    /// In-flight rows were returned to pending (the lease span is cleared).
    recovered: bool,
}

impl WriterState {
    /// Applies `ops` in one transaction; `settles` callers wait for it. With
    /// `pull`, inserts queued meanwhile join the transaction (appended to `ops`,
    /// counted as settling) a few at a time, up to `GROUP_ROWS` ops: a caller
    /// waiting for room in the queue gets it within a few rows, not after a
    /// whole group commit.
    pub(super) fn transact(
        &mut self,
        ops: &mut Vec<Op>,
        settles: u64,
        pull: bool,
    ) -> Result<Vec<Result<Done>>> {
        self.connect()?;
        let Some(conn) = &self.conn else { return Err(crate::error::Error::closed()) };
        let tx = Tx::begin(conn).map_err(|e| classify(e, "starting a commit"))?;
        // Inside the transaction: no other process can commit until it ends.
        let seen = self.data_version;
        refresh_row(&tx, &mut self.data_version, &mut self.row, &mut self.verified, &self.reporter)
            .map_err(|e| classify(e, "reading the queue row"))?;
        if self.data_version != seen {
            // Another process committed: it may have deleted unused contexts.
            self.context_cache = None;
        }
        let before = self.row;
        let touches_leases = ops.iter().any(|o| matches!(o, Op::Lease { .. } | Op::Settle { .. }));
        let mut staged = Staged {
            fx: TxEffects {
                count: before.hits,
                bytes: before.bytes,
                newest: before.newest,
                keep_ids: self.reporter.wants_ids(),
                ..TxEffects::default()
            },
            // Leases change with the transaction: staged on a copy, kept on commit.
            leased: touches_leases.then(|| self.leased.clone()),
            recovered: false,
        };
        let mut results = Vec::with_capacity(ops.len());
        let mut settles = settles;
        loop {
            for op in &ops[results.len()..] {
                results.push(Ok(self.apply_op(&tx, op, &mut staged)?));
            }
            if !pull || ops.len() >= GROUP_ROWS {
                break;
            }
            let before = ops.len();
            self.shared.take_inserts(ops, PULL_CHUNK.min(GROUP_ROWS - before));
            if ops.len() == before {
                break;
            }
            settles += (ops.len() - before) as u64;
        }
        let span = match &staged.leased {
            Some(leased) => {
                leased.first_key_value().zip(leased.last_key_value()).map(|((a, _), (b, _))| (*a, *b))
            }
            None if staged.recovered => None,
            None => before.leased,
        };
        let (over, corrected) = self.keep_limits(&tx, &mut staged, span)?;
        let own = staged.leased.as_ref().unwrap_or(&self.leased);
        let drop_report = match self.limits.report_drops {
            true => drop_report::record(&tx, &mut staged.fx, self.drop_report, own, [before.leased, span])?,
            false => None,
        };
        let counted_to = write_queue_row(&tx, &before, &staged, span, corrected)?;
        tx.commit().map_err(|e| classify(e, "committing"))?;
        self.verified |= over;
        if let Some(leased) = staged.leased {
            self.leased = leased;
        }
        self.drop_report = drop_report;
        let mut fx = staged.fx;
        if let Some(c) = fx.context.take() {
            self.context_cache = Some(c);
        }
        self.row = QueueRow { hits: fx.count, bytes: fx.bytes, newest: fx.newest, counted_to, leased: span };
        self.committed(fx, settles);
        Ok(results)
    }

    /// One op inside the transaction.
    fn apply_op(&self, tx: &Connection, op: &Op, staged: &mut Staged) -> Result<Done> {
        let fx = &mut staged.fx;
        Ok(match op {
            Op::Insert { hit, .. } => ops::insert(tx, hit, fx, &self.context_cache).map(Done::Count)?,
            Op::DeleteAll { reason, .. } => Done::Count(ops::delete_where(tx, "1", [], *reason, fx)?),
            Op::DeleteOlderThan { before_ms, .. } => {
                Done::Count(ops::delete_where(tx, "created_ms < ?1", [*before_ms], DropReason::Deleted, fx)?)
            }
            Op::DeleteUndecodable { ids } => {
                for id in ids {
                    ops::delete_where(tx, "id = ?1", [*id as i64], DropReason::Corrupt, fx)?;
                }
                Done::Count(0)
            }
            Op::Lease { request, .. } => {
                let leased = staged.leased.as_mut().expect("staged for a transaction that leases");
                Done::Leased(ops::lease(tx, request, &self.batch_url, leased, fx)?)
            }
            Op::Settle { settlement, .. } => {
                let leased = staged.leased.as_mut().expect("staged for a transaction that settles");
                // Rows that now name other rows (a recreated store) are not settled.
                let kept;
                let settlement = if self.disowned.is_empty() {
                    settlement
                } else {
                    kept = settlement.without(&self.disowned);
                    &kept
                };
                ops::settle(tx, settlement, leased, fx)?;
                Done::Count(0)
            }
            Op::RecoverInFlight { .. } => {
                staged.recovered = true;
                Done::Count(queue::recover(tx).map_err(|e| classify(e, "recovering hits left in flight"))?)
            }
            Op::MaxId { .. } => Done::Count(ops::max_id(tx)?),
            Op::PutMeta { entries, .. } => {
                ops::put_meta(tx, entries)?;
                Done::Count(0)
            }
            Op::Barrier { .. } => Done::Count(0),
        })
    }

    /// Drops the oldest hits beyond the limits. Never because of totals that
    /// disagree with the table: the first time they call for drops, they are
    /// checked against a real count. Returns whether the limits were passed and
    /// whether the totals were corrected.
    fn keep_limits(
        &self,
        tx: &Connection,
        staged: &mut Staged,
        span: Option<(u64, u64)>,
    ) -> Result<(bool, bool)> {
        let limits = (self.limits.max_hits, self.limits.max_bytes);
        let over = staged.fx.count > limits.0 || staged.fx.bytes > limits.1;
        let corrected = over && !self.verified && self.verify_totals(tx, &mut staged.fx)?;
        let own = staged.leased.as_ref().unwrap_or(&self.leased);
        ops::enforce_limits(tx, limits, own, span, &mut staged.fx)?;
        Ok((over, corrected))
    }

    /// After the commit: counters and drop reports first (a caller released by
    /// `publish` reads them at once), then the callers, then the delivery thread.
    fn committed(&self, fx: TxEffects, settles: u64) {
        let stats = &self.reporter.stats;
        stats.committed.fetch_add(fx.committed, Relaxed);
        stats.sent.fetch_add(fx.delivered, Relaxed);
        let mut by_reason: Vec<(DropReason, Vec<String>)> = Vec::new();
        for (reason, id) in fx.dropped {
            match by_reason.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, ids)) => ids.push(id),
                None => by_reason.push((reason, vec![id])),
            }
        }
        for (reason, ids) in by_reason {
            self.reporter.dropped(reason, ids);
        }
        self.publish(settles);
        if fx.committed > 0 {
            if let Some(notify) = &self.on_commit {
                notify(self.row.hits);
            }
        }
    }
}

/// Writes the queue row's totals (deletes always rewrite them; inserts alone
/// once enough went uncounted) and its lease span when it changed. Returns the
/// row id the totals now count to.
fn write_queue_row(
    tx: &Connection,
    before: &QueueRow,
    staged: &Staged,
    span: Option<(u64, u64)>,
    corrected: bool,
) -> Result<u64> {
    let fail = |e| classify(e, "updating the queue row");
    let fx = &staged.fx;
    let mut counted_to = before.counted_to;
    if fx.removed_rows > 0 || corrected || fx.newest.saturating_sub(counted_to) >= queue::ROW_LAG {
        queue::write_totals(tx, fx.count, fx.bytes, fx.newest).map_err(fail)?;
        counted_to = fx.newest;
    }
    if span != before.leased && !staged.recovered {
        queue::write_span(tx, span).map_err(fail)?;
    }
    Ok(counted_to)
}
