//! Bytes per event on the wire: what the tracker sends the test collector for
//! the events of the storage figure (300-byte properties, an identified
//! user, the host context of `storage::CONTEXT`), JSON and gzip.

use std::path::Path;

use attracker::ffi::AT_OFFLINE_ALWAYS;

use crate::capi::{self, Config};
use crate::collector::Collector;

pub struct Wire {
    /// Events sent in each run (the identify call's included).
    pub events: usize,
    /// Request body bytes per event, uncompressed.
    pub json: f64,
    /// The same with gzip.
    pub gzip: f64,
    /// Request line and headers, per request.
    pub head_per_request: f64,
    /// Events per request.
    pub per_request: usize,
}

/// Tracks `n` events and dispatches them, once without and once with gzip.
pub fn bytes_per_event(scratch: &Path, n: usize) -> Wire {
    let (mut json, mut gzip, mut head, mut per_request) = (0.0, 0.0, 0.0, 0);
    for compress in [false, true] {
        let collector = Collector::start();
        let db = crate::fresh(scratch, "wire.db");
        {
            let t = Config::new(&db, &collector.url())
                .offline_mode(AT_OFFLINE_ALWAYS)
                .gzip(compress)
                .context(crate::storage::CONTEXT)
                .open();
            t.identify("user-1234567");
            let (ty, props) = (capi::event_type(), capi::properties_300());
            for _ in 0..n {
                capi::check(t.track(&ty, &props), "track");
            }
            let r = t.dispatch();
            assert_eq!(r.sent as usize, n + 1, "every event sent");
        }
        crate::fresh(scratch, "wire.db");
        let batches = collector.batches();
        let events: usize = batches.iter().map(|b| b.events().len()).sum();
        assert_eq!(events, n + 1, "the collector has every event");
        assert!(batches.iter().all(|b| b.gzip == compress), "gzip {compress} on every batch");
        let body: usize = batches.iter().map(|b| b.body_bytes).sum();
        if compress {
            gzip = body as f64 / events as f64;
        } else {
            json = body as f64 / events as f64;
            let requests = collector.requests();
            let heads: usize = requests
                .iter()
                .map(|r| {
                    let line = r.method.len() + r.path.len() + " HTTP/1.1\r\n".len() + 1;
                    line + r.headers.iter().map(|(k, v)| k.len() + v.len() + 4).sum::<usize>() + 2
                })
                .sum();
            head = heads as f64 / requests.len() as f64;
            per_request = events.div_ceil(requests.len());
        }
    }
    Wire { events: n + 1, json, gzip, head_per_request: head, per_request }
}
