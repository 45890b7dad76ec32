//! Loss accounting per store, from the events received: every stored event
//! carries `context.attracker.store` (the store's id) and `.seq` (its sequence
//! number in that store, never reused); drops are reported by the tracker as
//! events named "Attracker Hits Dropped" whose properties count them. So, per
//! store, once its queue has drained: the sequence numbers missing from what
//! arrived are exactly as many as the reports say were dropped.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// The event name of a tracker's drop report.
pub const DROP_REPORT_EVENT: &str = "Attracker Hits Dropped";

/// What arrived from one store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreAccount {
    /// Distinct sequence numbers received.
    pub received: BTreeSet<u64>,
    /// Events received again (same sequence number, e.g. resent after a
    /// timeout that hid a success).
    pub duplicates: u64,
    /// Hits the store reported dropped, by reason, summed over its reports.
    pub dropped: BTreeMap<String, u64>,
    /// Drop reports received (distinct).
    pub reports: u64,
}

impl StoreAccount {
    /// The total the store reported dropped.
    pub fn reported_dropped(&self) -> u64 {
        self.dropped.values().sum()
    }

    /// Received sequence numbers as inclusive ranges, e.g. [(1, 40), (45, 50)].
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for &s in &self.received {
            match out.last_mut() {
                Some((_, hi)) if *hi + 1 == s => *hi = s,
                _ => out.push((s, s)),
            }
        }
        out
    }

    /// Sequence numbers missing below the highest received, as ranges.
    pub fn gaps(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut next = 1;
        for (lo, hi) in self.ranges() {
            if lo > next {
                out.push((next, lo - 1));
            }
            next = hi + 1;
        }
        out
    }

    /// How many sequence numbers `gaps` covers.
    pub fn missing(&self) -> u64 {
        self.gaps().iter().map(|(lo, hi)| hi - lo + 1).sum()
    }

    /// Received plus reported dropped covers every sequence number up to the
    /// highest received.
    pub fn balanced(&self) -> bool {
        self.missing() == self.reported_dropped()
    }
}

/// Accounts `events` (in arrival order) per store id. Events without
/// `context.attracker` (memory-only hits, other libraries) are skipped.
pub fn account(events: &[Value]) -> BTreeMap<String, StoreAccount> {
    let mut stores: BTreeMap<String, StoreAccount> = BTreeMap::new();
    for e in events {
        let tag = &e["context"]["attracker"];
        let (Some(store), Some(seq)) = (tag["store"].as_str(), tag["seq"].as_u64()) else { continue };
        let a = stores.entry(store.to_owned()).or_default();
        if !a.received.insert(seq) {
            a.duplicates += 1;
            continue;
        }
        if e["event"] == DROP_REPORT_EVENT {
            a.reports += 1;
            if let Some(by_reason) = e["properties"]["dropped"].as_object() {
                for (reason, n) in by_reason {
                    *a.dropped.entry(reason.clone()).or_default() += n.as_u64().unwrap_or(0);
                }
            }
        }
    }
    stores
}

/// "1-40, 45-50" (at most `max` ranges, then "…").
pub fn show_ranges(ranges: &[(u64, u64)], max: usize) -> String {
    let mut parts: Vec<String> = ranges
        .iter()
        .take(max)
        .map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
        .collect();
    if ranges.len() > max {
        parts.push(format!("… ({} more)", ranges.len() - max));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}
