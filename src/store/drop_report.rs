//! Drop reports: hits that leave the store unacknowledged are reported to the
//! collector too, as an event of their own (`DROP_REPORT_EVENT`) queued in the
//! same transaction as the drops, so a collector can prove that what it
//! received plus what was reported dropped is everything the store accepted.
//!
//! One report stands for a period: while it waits unsent, later drops are
//! added to it in place (so a full queue dropping a hit per commit does not
//! fill itself with reports); once it is leased to be sent, the next drop opens
//! a new one.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use crate::clock::{Clock, SystemClock};
use crate::config::DropReason;
use crate::error::Result;
use crate::hit::NewHit;
use crate::store::classify;
use crate::store::ops::{self, Leases, TxEffects, SIZE_SQL};

/// The event name of a drop report.
pub const DROP_REPORT_EVENT: &str = "Attracker Hits Dropped";

/// The wire name of a drop reason in a report's `dropped` object.
pub fn reason_name(reason: DropReason) -> &'static str {
    match reason {
        DropReason::Overflow => "overflow",
        DropReason::Corrupt => "corrupt",
        DropReason::Deleted => "deleted",
        DropReason::StorageFailed => "storage_failed",
        DropReason::Unsent => "unsent",
        DropReason::Rejected => "rejected",
        DropReason::AttemptsExhausted => "attempts_exhausted",
        DropReason::Unreachable => "unreachable",
        DropReason::TooLarge => "too_large",
        DropReason::Expired => "expired",
        DropReason::ConsentDenied => "consent_denied",
    }
}

/// Adds this transaction's drops (`fx.dropped`, stored hits only) to the open
/// report, `pending` (a row id this writer inserted), or queues a new one when
/// that one may be on the wire: leased here (`leased`) or inside a lease span
/// the store records (`spans`, which covers a sender in another process).
/// Returns the report's row id.
pub fn record(
    tx: &Connection,
    fx: &mut TxEffects,
    pending: Option<u64>,
    leased: &Leases,
    spans: [Option<(u64, u64)>; 2],
) -> Result<Option<u64>> {
    // Deletions by the host (`at_offline_delete*`, an opt-out purge) are its
    // own decision, told to it by the drop callback; they are not reported to
    // the collector (a deleted store stays empty, and a purge sends nothing;
    // a user who denied consent is sent nothing at all).
    if fx.dropped.iter().all(|(r, _)| r.is_hosts_decision()) {
        return Ok(pending);
    }
    let fail = |e| classify(e, "recording a drop report");
    let now_ms = SystemClock.now_ms();
    let mut counts: Vec<(DropReason, u64)> = Vec::new();
    for (reason, _) in fx.dropped.iter().filter(|(r, _)| !r.is_hosts_decision()) {
        match counts.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += 1,
            None => counts.push((*reason, 1)),
        }
    }
    // The open report, if it is still there, unsent and not on the wire.
    let in_flight =
        |id: &u64| leased.contains_key(id) || spans.iter().flatten().any(|(lo, hi)| (lo..=hi).contains(&id));
    let open = match pending.filter(|id| !in_flight(id)) {
        Some(id) => tx
            .query_row(
                &format!("SELECT body, {SIZE_SQL} FROM hits WHERE id = ?1 AND type = ?2"),
                params![id as i64, DROP_REPORT_EVENT],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()
            .map_err(fail)?
            .and_then(|(body, size)| Some((id, serde_json::from_str::<Value>(&body).ok()?, size))),
        None => None,
    };
    let (id, mut body, old_size) = match open {
        Some((id, body, size)) => (Some(id), body, size),
        None => (None, serde_json::json!({ "dropped": {}, "total": 0, "firstMs": now_ms }), 0),
    };
    let dropped = body["dropped"].as_object_mut().map(std::mem::take).unwrap_or_default();
    let mut dropped: Map<String, Value> = dropped;
    let mut total = body["total"].as_u64().unwrap_or(0);
    for (reason, n) in counts {
        let name = reason_name(reason);
        let before = dropped.get(name).and_then(Value::as_u64).unwrap_or(0);
        dropped.insert(name.to_owned(), Value::from(before + n));
        total += n;
    }
    body["dropped"] = Value::Object(dropped);
    body["total"] = Value::from(total);
    body["lastMs"] = Value::from(now_ms);
    let text = body.to_string();
    match id {
        Some(id) => {
            let new_size: i64 = tx
                .query_row(
                    &format!("UPDATE hits SET body = ?1 WHERE id = ?2 RETURNING {SIZE_SQL}"),
                    params![text, id as i64],
                    |r| r.get(0),
                )
                .map_err(fail)?;
            fx.bytes = (fx.bytes + new_size as u64).saturating_sub(old_size as u64);
            Ok(Some(id))
        }
        None => {
            // A report is a few hundred bytes: far below any event limit.
            let hit = NewHit::event(DROP_REPORT_EVENT, Some(&text), now_ms, 64 * 1024)?;
            ops::insert(tx, &hit, fx, &None)?;
            Ok(Some(tx.last_insert_rowid() as u64))
        }
    }
}
