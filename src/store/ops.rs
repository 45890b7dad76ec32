//! What the writer can be asked to do, and the SQL each operation runs inside the
//! writer's transaction. Only the writer thread calls the functions here.

use std::collections::BTreeMap;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};

use crate::config::DropReason;
use crate::error::Result;
use crate::hit::{stored_size, HitKind, NewHit, StoredHit};
use crate::runtime::{Completer, Oneshot};
use crate::store::reader::{decode_row, RowShare, COLUMNS};
use crate::store::{classify, STATE_PENDING};

/// Longer than any wait delivery sets (backoff with jitter, Retry-After, at
/// most an hour): a stored next-attempt time further ahead than this was set
/// by a wall clock that has since moved back, and is due now.
pub(crate) const LONGEST_WAIT_MS: i64 = 3_660_000;

/// Per-row size in SQL, the same formula as `hit::stored_size`.
pub(crate) const SIZE_SQL: &str =
    "(64 + octet_length(type) + coalesce(octet_length(url), 0) + coalesce(octet_length(body), 0))";

/// A pending row: any state but 1 (in flight, left by a schema-1 library), so a
/// damaged state (text, a blob, another number) is sent, not stuck forever.
const PENDING_SQL: &str = "state IS NOT 1";
/// Due by `?3`; a damaged next attempt (not a number) is due now.
/// Due at ?3: its time has come, the time is further ahead than any wait (?5:
/// written by a wall clock that has since moved back), or it is not a number
/// (damage).
const DUE_SQL: &str =
    "(next_attempt_ms <= ?3 OR next_attempt_ms > ?5 OR typeof(next_attempt_ms) NOT IN ('integer', 'real'))";

pub type Reply<T> = Arc<Oneshot<Result<T>>>;

/// Rows leased to a sender and not yet settled, with each row's stored size
/// (so a delivery's delete need not read the rows back).
pub type Leases = BTreeMap<u64, u64>;

/// One unit of work for the writer.
pub enum Op {
    /// Store a hit. `wait` is answered after the commit (durability on return);
    /// `done` is the host's completion (batched durability).
    Insert {
        hit: NewHit,
        done: Option<Completer>,
        wait: Option<Reply<()>>,
    },
    /// Deletes every hit; each is reported with `reason` (`Deleted` by the
    /// host, `ConsentDenied` by a consent purge).
    DeleteAll {
        reason: DropReason,
        reply: Reply<u64>,
    },
    DeleteOlderThan {
        before_ms: i64,
        reply: Reply<u64>,
    },
    /// Rows a reader could not decode.
    DeleteUndecodable {
        ids: Vec<u64>,
    },
    /// Leases pending rows (`LeaseRequest`) and returns them.
    Lease {
        request: LeaseRequest,
        reply: Reply<Vec<StoredHit>>,
    },
    /// Records what became of leased rows.
    Settle {
        settlement: Settlement,
        reply: Option<Reply<()>>,
    },
    /// Returns rows left in flight (by a sender that died) to pending.
    RecoverInFlight {
        reply: Reply<u64>,
    },
    /// The highest id stored (0 when empty): bounds a dispatch to what was stored
    /// when it started.
    MaxId {
        reply: Reply<u64>,
    },
    /// Writes tracker state (`meta` keys) in one transaction: `Some` sets a key,
    /// `None` removes it.
    PutMeta {
        entries: Vec<(String, Option<String>)>,
        reply: Option<Reply<u64>>,
    },
    /// Runs after everything queued before it is applied; `Err` when hits accepted
    /// before it are still uncommitted (the store is failing).
    Barrier {
        then: Box<dyn FnOnce(Result<()>) + Send>,
    },
}

impl Op {
    /// Whether the writer applies it at once. A batched insert and a state
    /// write nobody waits for (the session's last activity, written as hits
    /// are tracked) wait for the commit window, so they do not cut it short.
    pub(crate) fn is_urgent(&self) -> bool {
        !matches!(self, Op::Insert { wait: None, .. } | Op::PutMeta { reply: None, .. })
    }

    /// An op refused at submission: its caller gets the status, not a callback.
    pub(crate) fn disarm(self) {
        if let Op::Insert { done: Some(done), .. } = self {
            done.disarm();
        }
    }
}

/// Which rows a sender leases: up to `limit` pending rows with
/// `after < id <= max_id` (and, when `due_ms` is set, due by then; with
/// `events_only`, events), oldest first. A sender leasing batch after batch
/// passes the last id it leased as `after`, so the rows still on the wire are
/// not read again. With `check_bodies` false, an event's body is not checked
/// to be one JSON object here: the sender does it (the drain, on its own
/// thread, dropping a damaged one as `Corrupt` in its settlement).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseRequest {
    pub after: u64,
    pub max_id: u64,
    pub due_ms: Option<i64>,
    pub limit: u32,
    pub events_only: bool,
    pub check_bodies: bool,
}

/// The fate of leased rows after a send.
#[derive(Debug, Default)]
pub struct Settlement {
    /// Acknowledged by the collector: deleted.
    pub delivered: Vec<u64>,
    /// Failed after reaching the server: retry count + 1, next attempt at the time.
    pub retry: Vec<(u64, i64)>,
    /// The server was not reached: marked offline, next attempt at the time.
    pub offline: Vec<(u64, i64)>,
    /// The server asked to wait (Retry-After): next attempt at the time, no
    /// attempt counted.
    pub deferred: Vec<(u64, i64)>,
    /// Dropped by policy: deleted and reported (message id kept for the report).
    pub dropped: Vec<(u64, String, DropReason)>,
    /// Not attempted (the run stopped): back to pending, unchanged.
    pub release: Vec<u64>,
}

impl Settlement {
    /// The settlement without the rows `ids` (ids that name other rows now).
    pub fn without(&self, ids: &std::collections::HashSet<u64>) -> Settlement {
        let keep = |id: &u64| !ids.contains(id);
        Settlement {
            delivered: self.delivered.iter().copied().filter(keep).collect(),
            retry: self.retry.iter().copied().filter(|(id, _)| keep(id)).collect(),
            offline: self.offline.iter().copied().filter(|(id, _)| keep(id)).collect(),
            deferred: self.deferred.iter().copied().filter(|(id, _)| keep(id)).collect(),
            dropped: self.dropped.iter().filter(|(id, _, _)| keep(id)).cloned().collect(),
            release: self.release.iter().copied().filter(keep).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.delivered.is_empty()
            && self.retry.is_empty()
            && self.offline.is_empty()
            && self.deferred.is_empty()
            && self.dropped.is_empty()
            && self.release.is_empty()
    }
}

/// An immediate transaction on the writer's connection, with its BEGIN and
/// COMMIT prepared once (rusqlite's `Transaction` parses them on every commit,
/// a cost a single-hit commit notices). Rolled back when dropped uncommitted.
pub struct Tx<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> Tx<'c> {
    pub fn begin(conn: &'c Connection) -> rusqlite::Result<Tx<'c>> {
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        Ok(Tx { conn, open: true })
    }

    pub fn commit(mut self) -> rusqlite::Result<()> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Running figures of one transaction, applied to the writer's state on commit.
#[derive(Default)]
pub struct TxEffects {
    pub count: u64,
    pub bytes: u64,
    pub committed: u64,
    /// The highest id in the table once the transaction's inserts are in.
    pub newest: u64,
    /// Rows the transaction deleted.
    pub removed_rows: u64,
    /// Drop reports carry message ids (`Reporter::wants_ids`).
    pub keep_ids: bool,
    pub delivered: u64,
    pub dropped: Vec<(DropReason, String)>,
    /// The context row this transaction stored or used last (for the cache).
    pub context: ContextCache,
}

impl TxEffects {
    /// Records a dropped row; its message id is read only when a drop callback
    /// will receive it.
    fn drop(&mut self, reason: DropReason, message_id: impl FnOnce() -> String) {
        let id = if self.keep_ids { message_id() } else { String::new() };
        self.dropped.push((reason, id));
    }

    fn removed(&mut self, n: u64, bytes: u64) {
        self.removed_rows += n;
        self.count = self.count.saturating_sub(n);
        self.bytes = self.bytes.saturating_sub(bytes);
    }
}

/// The `contexts` row of the context a writer stored last (committed), so a
/// hit tracked under the same context finds it without a query.
pub type ContextCache = Option<(Arc<str>, i64)>;

pub fn insert(tx: &Connection, h: &NewHit, fx: &mut TxEffects, cache: &ContextCache) -> Result<u64> {
    let context_id = match &h.stamp.context {
        Some(text) => Some(context_row(tx, text, fx, cache)?),
        None => None,
    };
    tx.prepare_cached(
        "INSERT INTO hits (message_id, kind, type, url, body, created_ms, is_offline, state,
                           visitor_id, session_id, session_ms, call, user_id, context_id, sample_rate)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )
    .and_then(|mut s| {
        s.execute(params![
            h.message_id,
            h.kind.code(),
            h.hit_type,
            h.url,
            h.body,
            h.created_ms,
            h.is_offline,
            STATE_PENDING,
            h.stamp.visitor_id.as_deref(),
            h.stamp.session_id.as_deref(),
            h.stamp.session_ms,
            // Track is the column's NULL: rows stay as small as before.
            Some(h.stamp.call.code()).filter(|&c| c != 0),
            h.stamp.user_id.as_deref(),
            context_id,
            h.stamp.sample_rate,
        ])
    })
    .map_err(|e| classify(e, "storing a hit"))?;
    fx.newest = fx.newest.max(tx.last_insert_rowid().max(0) as u64);
    fx.count += 1;
    fx.bytes += h.size();
    fx.committed += 1;
    Ok(0)
}

/// Deletes the rows matching `condition`; each is reported with `reason`.
pub fn delete_where<P: rusqlite::Params>(
    tx: &Connection,
    condition: &str,
    params: P,
    reason: DropReason,
    fx: &mut TxEffects,
) -> Result<u64> {
    let fail = |e| classify(e, "deleting hits");
    let mut stmt = tx
        .prepare_cached(&format!("DELETE FROM hits WHERE {condition} RETURNING message_id, {SIZE_SQL}"))
        .map_err(fail)?;
    let mut rows = stmt.query(params).map_err(fail)?;
    let (mut n, mut bytes) = (0, 0);
    while let Some(r) = rows.next().map_err(fail)? {
        fx.drop(reason, || r.get::<_, String>(0).unwrap_or_default());
        bytes += r.get::<_, i64>(1).unwrap_or(0) as u64;
        n += 1;
    }
    fx.removed(n, bytes);
    Ok(n)
}

/// Leases up to `limit` pending rows, oldest first, skipping rows already leased.
/// The exact set lives in `leased` (the writer's memory, kept on commit); the
/// store records only its span (`queue::write_span`), so taking a batch rewrites
/// no hit. Only the store's sender leases (`SenderLock`).
pub fn lease(
    tx: &Connection,
    &LeaseRequest { after, max_id, due_ms, limit, events_only, check_bodies }: &LeaseRequest,
    batch_url: &str,
    leased: &mut Leases,
    fx: &mut TxEffects,
) -> Result<Vec<StoredHit>> {
    let fail = |e| classify(e, "leasing hits");
    let mut hits = Vec::new();
    let mut bad = Vec::new();
    {
        let mut stmt = tx
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM hits
                 WHERE {PENDING_SQL} AND id > ?1 AND id <= ?2 AND {DUE_SQL} AND (?4 = 0 OR kind = 0)
                 ORDER BY id"
            ))
            .map_err(fail)?;
        let clamp = |id: u64| id.min(i64::MAX as u64) as i64;
        let due = due_ms.unwrap_or(i64::MAX);
        // A next attempt further ahead than any wait was set by a wall clock
        // that has since moved back: it is due now.
        let stranded = due.saturating_add(LONGEST_WAIT_MS);
        let mut rows =
            stmt.query(params![clamp(after), clamp(max_id), due, events_only, stranded]).map_err(fail)?;
        let mut share = RowShare::default();
        share.check_bodies = check_bodies;
        while hits.len() < limit as usize {
            let Some(r) = rows.next().map_err(fail)? else { break };
            let id = r.get::<_, i64>(0).map_err(fail)? as u64;
            if leased.contains_key(&id) {
                continue;
            }
            match decode_row(tx, id, r, batch_url, &mut share).map_err(fail)? {
                Some(h) => hits.push(h),
                None => bad.push(id),
            }
        }
    }
    leased.extend(hits.iter().map(|h| {
        let url = (h.kind == HitKind::Url).then_some(h.url.as_str());
        (h.id, stored_size(&h.hit_type, url, h.body.as_deref()))
    }));
    for id in bad {
        delete_where(tx, "id = ?1", [id as i64], DropReason::Corrupt, fx)?;
    }
    Ok(hits)
}

/// Deletes delivered rows: with one range delete when the rows between the
/// lowest and highest id are exactly the delivered ones (the usual case), else
/// one by one. Sizes come from the lease when it has them all, so the range
/// delete returns nothing.
fn delete_delivered(tx: &Connection, delivered: &[u64], leased: &Leases, fx: &mut TxEffects) -> Result<()> {
    let fail = |e| classify(e, "recording a delivery");
    let mut ids = delivered.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let (Some(&lo), Some(&hi)) = (ids.first(), ids.last()) else { return Ok(()) };
    let (lo, hi) = (lo as i64, hi as i64);
    let present: Vec<u64> = tx
        .prepare_cached("SELECT id FROM hits WHERE id >= ?1 AND id <= ?2 ORDER BY id")
        .and_then(|mut s| s.query_map([lo, hi], |r| r.get::<_, i64>(0).map(|id| id as u64))?.collect())
        .map_err(fail)?;
    let mut remove = |sql: &str, params: &[i64]| -> Result<()> {
        let mut del = tx.prepare_cached(sql).map_err(fail)?;
        let mut rows = del.query(rusqlite::params_from_iter(params)).map_err(fail)?;
        while let Some(r) = rows.next().map_err(fail)? {
            fx.removed(1, r.get::<_, i64>(0).map_err(fail)? as u64);
            fx.delivered += 1;
        }
        Ok(())
    };
    if present == ids {
        let sizes: Option<u64> = ids.iter().map(|id| leased.get(id)).sum();
        if let Some(bytes) = sizes {
            let n = tx
                .prepare_cached("DELETE FROM hits WHERE id >= ?1 AND id <= ?2")
                .and_then(|mut del| del.execute([lo, hi]))
                .map_err(fail)? as u64;
            fx.removed(n, bytes);
            fx.delivered += n;
            return Ok(());
        }
        return remove(
            &format!("DELETE FROM hits WHERE id >= ?1 AND id <= ?2 RETURNING {SIZE_SQL}"),
            &[lo, hi],
        );
    }
    for id in ids {
        remove(&format!("DELETE FROM hits WHERE id = ?1 RETURNING {SIZE_SQL}"), &[id as i64])?;
    }
    Ok(())
}

/// Applies a settlement and ends the leases of every row it names.
pub fn settle(tx: &Connection, s: &Settlement, leased: &mut Leases, fx: &mut TxEffects) -> Result<()> {
    let fail = |e| classify(e, "recording a delivery");
    delete_delivered(tx, &s.delivered, leased, fx)?;
    let mut retry = tx
        .prepare_cached(
            "UPDATE hits SET state = ?1, retry_count = retry_count + 1, next_attempt_ms = ?2 WHERE id = ?3",
        )
        .map_err(fail)?;
    for &(id, at) in &s.retry {
        retry.execute(params![STATE_PENDING, at, id as i64]).map_err(fail)?;
    }
    let mut offline = tx
        .prepare_cached("UPDATE hits SET state = ?1, is_offline = 1, next_attempt_ms = ?2 WHERE id = ?3")
        .map_err(fail)?;
    for &(id, at) in &s.offline {
        offline.execute(params![STATE_PENDING, at, id as i64]).map_err(fail)?;
    }
    let mut deferred =
        tx.prepare_cached("UPDATE hits SET state = ?1, next_attempt_ms = ?2 WHERE id = ?3").map_err(fail)?;
    for &(id, at) in &s.deferred {
        deferred.execute(params![STATE_PENDING, at, id as i64]).map_err(fail)?;
    }
    for (id, _, reason) in &s.dropped {
        delete_where(tx, "id = ?1", [*id as i64], *reason, fx)?;
    }
    // Released rows were never changed: ending the lease makes them pending again.
    let ended = s.delivered.iter().chain(&s.release);
    let ended = ended.chain(s.retry.iter().chain(&s.offline).chain(&s.deferred).map(|(id, _)| id));
    for id in ended.chain(s.dropped.iter().map(|(id, _, _)| id)) {
        leased.remove(id);
    }
    Ok(())
}

/// Drops the oldest pending hits until the store is within its limits. Leased
/// rows (and rows an older library left in flight) and drop reports are never
/// dropped here.
pub fn enforce_limits(
    tx: &Connection,
    (max_hits, max_bytes): (u64, u64),
    leased: &Leases,
    span: Option<(u64, u64)>,
    fx: &mut TxEffects,
) -> Result<()> {
    if fx.count <= max_hits && fx.bytes <= max_bytes {
        return Ok(());
    }
    let fail = |e| classify(e, "dropping the oldest hits");
    // Runs of consecutive doomed rows, each removed with one range delete.
    let mut runs: Vec<(i64, i64)> = Vec::new();
    let mut run: Option<(i64, i64)> = None;
    {
        let mut stmt = tx
            .prepare_cached(&format!(
                "SELECT id, message_id, {SIZE_SQL}, type = ?1 FROM hits WHERE {PENDING_SQL} ORDER BY id"
            ))
            .map_err(fail)?;
        let mut rows = stmt.query([crate::store::drop_report::DROP_REPORT_EVENT]).map_err(fail)?;
        while fx.count > max_hits || fx.bytes > max_bytes {
            let Some(r) = rows.next().map_err(fail)? else { break };
            let id = r.get::<_, i64>(0).map_err(fail)?;
            let protected = span.is_some_and(|(a, b)| (a..=b).contains(&(id as u64)))
                // A drop report is never dropped to make room: the counts it
                // carries would be lost. (There are at most a few.)
                || r.get::<_, bool>(3).unwrap_or(false);
            if protected || leased.contains_key(&(id as u64)) {
                runs.extend(run.take());
                continue;
            }
            run = Some(run.map_or((id, id), |(first, _)| (first, id)));
            fx.drop(DropReason::Overflow, || r.get::<_, String>(1).unwrap_or_default());
            fx.removed(1, r.get::<_, i64>(2).map_err(fail)? as u64);
        }
    }
    runs.extend(run);
    let mut del = tx
        .prepare_cached(&format!("DELETE FROM hits WHERE {PENDING_SQL} AND id >= ?1 AND id <= ?2"))
        .map_err(fail)?;
    for (first, last) in runs {
        del.execute(params![first, last]).map_err(fail)?;
    }
    Ok(())
}

pub fn put_meta(tx: &Connection, entries: &[(String, Option<String>)]) -> Result<()> {
    let fail = |e| classify(e, "saving tracker state");
    for (key, value) in entries {
        match value {
            Some(v) => tx
                .prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![key, v])),
            None => {
                tx.prepare_cached("DELETE FROM meta WHERE key = ?1").and_then(|mut s| s.execute(params![key]))
            }
        }
        .map_err(fail)?;
    }
    Ok(())
}

/// The `contexts` row of `text`: the one this transaction or the last commit
/// used when it is the same context (compared by pointer first: hits tracked
/// under one context share its text), else found or added by `put_context`.
fn context_row(tx: &Connection, text: &Arc<str>, fx: &mut TxEffects, cache: &ContextCache) -> Result<i64> {
    let same = |c: &(Arc<str>, i64)| Arc::ptr_eq(&c.0, text) || *c.0 == **text;
    if let Some((_, id)) = fx.context.as_ref().filter(|c| same(c)).or(cache.as_ref().filter(|c| same(c))) {
        return Ok(*id);
    }
    let id = put_context(tx, text)? as i64;
    fx.context = Some((Arc::clone(text), id));
    Ok(id)
}

/// The id of the `contexts` row holding `json`, stored now if none does. The
/// table holds a few rows (one per distinct context), so a scan finds it.
pub fn put_context(tx: &Connection, json: &str) -> Result<u64> {
    let fail = |e| classify(e, "storing the event context");
    let found: Option<i64> = tx
        .prepare_cached("SELECT id FROM contexts WHERE json = ?1")
        .and_then(|mut s| s.query_row([json], |r| r.get(0)).optional())
        .map_err(fail)?;
    let id = match found {
        Some(id) => id,
        None => {
            tx.prepare_cached("INSERT INTO contexts (json) VALUES (?1)")
                .and_then(|mut s| s.execute([json]))
                .map_err(fail)?;
            tx.last_insert_rowid()
        }
    };
    Ok(id.max(0) as u64)
}

pub fn max_id(conn: &Connection) -> Result<u64> {
    conn.query_row("SELECT coalesce(max(id), 0) FROM hits", [], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .map_err(|e| classify(e, "reading the newest id"))
}
