//! Tracker calls on the offline store: paging, export and ack, deletes, and the
//! consistency of count, listing, pages and stats.

use std::ptr::{null, null_mut};
use std::time::Instant;

use attracker::ffi::*;

use crate::arg::show_bytes;
use crate::support::{bytes_of, ENDPOINT};
use crate::tracker_fuzz::TrackerFuzz;

impl TrackerFuzz {
    pub unsafe fn op_get_page(&mut self) {
        let last = self.last_id;
        let after = match self.rng.below(8) {
            0 => 0,
            1 => 1,
            2 => last,
            3 => last + 1,
            4 => i64::MAX as u64,
            5 => i64::MAX as u64 + 1,
            6 => u64::MAX,
            _ => self.rng.next() % (last + 2),
        };
        let limit = self.rng.u32_edge(&[1, 100]);
        let t = self.t_or_null();
        let out_null = self.rng.one_in(16);
        let mut list: *mut at_hit_list = null_mut();
        let out: *mut *mut at_hit_list = if out_null { null_mut() } else { &mut list };
        let desc = || format!("at_offline_get_page(t={t:?}, after_id={after}, limit={limit}, out={out:?})");
        let (kind, allowed) = if t.is_null() || out_null {
            (
                "page: NULL argument",
                if limit == 0 {
                    vec![AT_ERR_NULL_ARGUMENT, AT_ERR_INVALID_ARGUMENT]
                } else {
                    vec![AT_ERR_NULL_ARGUMENT]
                },
            )
        } else if limit == 0 {
            ("page: limit 0", vec![AT_ERR_INVALID_ARGUMENT])
        } else if after >= i64::MAX as u64 {
            ("page: cursor past every id", vec![AT_OK])
        } else {
            ("page: valid", vec![AT_OK])
        };
        let st = self.ck.expect("at_offline_get_page", &[kind], &allowed, &desc, || {
            at_offline_get_page(t, after, limit, out)
        });
        if st != AT_OK {
            return;
        }
        let n = at_hit_list_len(list);
        let mut prev = after;
        let mut ok = n <= limit as usize && (n as u64) <= self.count;
        for i in 0..n {
            let h = at_hit_list_get(list, i);
            ok &=
                !h.is_null() && at_hit_id(h) > prev && !at_hit_type(h).is_null() && !at_hit_url(h).is_null();
            prev = at_hit_id(h);
        }
        ok &= at_hit_list_get(list, n).is_null() && at_hit_list_get(list, usize::MAX).is_null();
        if after == 0 && u64::from(limit) >= self.count {
            ok &= n as u64 == self.count;
        }
        if after >= last {
            ok &= n == 0;
        }
        at_hit_list_free(list);
        let count = self.count;
        self.ck.check(
            ok,
            || format!("page of {n} hits is inconsistent (count {count}, last id {last})"),
            &desc,
        );
    }

    pub unsafe fn op_export(&mut self) {
        let t = self.t;
        let desc = || "at_offline_export_batch(t, &req)".to_string();
        // What is stored, by message id: (type, is an event).
        let mut list: *mut at_hit_list = null_mut();
        self.ck.ok("at_offline_get", &desc, || at_offline_get(t, &mut list));
        let stored: std::collections::HashMap<Vec<u8>, (Vec<u8>, bool)> = (0..at_hit_list_len(list))
            .map(|i| {
                let h = at_hit_list_get(list, i);
                let mid = bytes_of(at_hit_message_id(h)).unwrap_or_default();
                (mid, (bytes_of(at_hit_type(h)).unwrap_or_default(), !at_hit_body(h).is_null()))
            })
            .collect();
        at_hit_list_free(list);
        let events = stored.values().filter(|(_, event)| *event).count();
        let mut req: *mut at_request = null_mut();
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        loop {
            self.ck.expect("at_offline_export_batch", &["export batch"], &[AT_OK], &desc, || {
                at_offline_export_batch(t, &mut req)
            });
            // Stored events may be leased for a moment by a send the delivery
            // thread started while a step had switched the mode away from ALWAYS
            // (it fails at once: nothing listens at the endpoint). A lease that
            // outlives that is a failure.
            if !req.is_null() || events == 0 || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if req.is_null() {
            self.ck.check(events == 0, || format!("no batch exported, but {events} events stored"), &desc);
            return;
        }
        let method = bytes_of(at_request_method(req));
        let url = bytes_of(at_request_url(req));
        let mut len = 0usize;
        let body = at_request_body(req, &mut len);
        let body = std::slice::from_raw_parts(body, len).to_vec();
        #[derive(serde::Deserialize)]
        struct Envelope {
            event: String,
            #[serde(rename = "messageId")]
            message_id: String,
            #[serde(rename = "anonymousId")]
            _anonymous_id: String,
            #[serde(rename = "properties")]
            _properties: serde::de::IgnoredAny,
        }
        #[derive(serde::Deserialize)]
        struct Batch {
            batch: Vec<Envelope>,
        }
        let parsed = std::str::from_utf8(&body).ok().and_then(|s| serde_json::from_str::<Batch>(s).ok());
        self.ck.check(
            method.as_deref() == Some(b"POST")
                && url.as_deref() == Some(format!("{ENDPOINT}/v1/batch").as_bytes()),
            || format!("exported request {method:?} {url:?}"),
            &desc,
        );
        self.ck.check(
            parsed.as_ref().is_some_and(|b| !b.batch.is_empty()),
            || format!("the exported body is not a JSON batch: {}", show_bytes(&body)),
            &desc,
        );
        // Each envelope names a stored event, its type escaped and read back intact.
        for e in &parsed.as_ref().unwrap().batch {
            let found = stored.get(e.message_id.as_bytes());
            self.ck.check(
                found.is_some_and(|(ty, event)| *event && ty == e.event.as_bytes()),
                || {
                    format!(
                        "exported event {:?} ({}) is not a stored event of that type ({:?})",
                        e.event,
                        e.message_id,
                        found.map(|(ty, event)| (show_bytes(ty), *event))
                    )
                },
                &desc,
            );
        }
        let events = parsed.map_or(0, |b| b.batch.len()) as u64;
        // An exported batch is not a transport request.
        self.ck.expect(
            "at_transport_complete",
            &["export: completed as transport"],
            &[AT_ERR_INVALID_ARGUMENT],
            &desc,
            || at_transport_complete(req, 200, 0, null()),
        );
        self.ck.expect(
            "at_offline_ack_batch",
            &["export: ack NULL batch"],
            &[AT_ERR_NULL_ARGUMENT],
            &desc,
            || at_offline_ack_batch(t, null_mut(), true),
        );
        let delivered = self.rng.one_in(3);
        self.ck.ok("at_offline_ack_batch", &desc, || at_offline_ack_batch(t, req, delivered));
        if delivered {
            self.count -= events;
        }
        self.check_count(&desc);
    }

    pub unsafe fn op_delete(&mut self) {
        let t = self.t;
        let mut deleted = u64::MAX;
        let out: *mut u64 = if self.rng.one_in(3) { null_mut() } else { &mut deleted };
        let before = self.count;
        let (desc, st, exact): (String, at_status, Option<u64>) = match self.rng.below(3) {
            0 => {
                let desc = format!("at_offline_delete(t, {out:?})");
                let st =
                    self.ck.expect("at_offline_delete", &["delete: all"], &[AT_OK], &|| desc.clone(), || {
                        at_offline_delete(t, out)
                    });
                (desc, st, Some(before))
            }
            1 => {
                let ms = self.rng.pick(&[i64::MIN, -1, 0, 1, 1_000_000_000_000, i64::MAX]);
                let desc = format!("at_offline_delete_older_than(t, {ms}, {out:?})");
                let st = self.ck.expect(
                    "at_offline_delete_older_than",
                    &["delete: older than (ms)"],
                    &[AT_OK],
                    &|| desc.clone(),
                    || at_offline_delete_older_than(t, ms, out),
                );
                (desc, st, Some(if ms == i64::MAX { before } else { 0 }))
            }
            _ => {
                let days = self.rng.u32_edge(&[1, 365]);
                let desc = format!("at_offline_delete_older_than_days(t, {days}, {out:?})");
                let st = self.ck.expect(
                    "at_offline_delete_older_than_days",
                    &["delete: older than (days)"],
                    &[AT_OK],
                    &|| desc.clone(),
                    || at_offline_delete_older_than_days(t, days, out),
                );
                // 0 days: every hit created before now (those of this very ms may stay).
                (desc, st, (days > 0).then_some(0))
            }
        };
        assert_eq!(st, AT_OK);
        let now = self.count_now();
        let gone = before - now.min(before);
        let desc = || desc.clone();
        self.ck.check(now <= before, || format!("a delete made the count grow to {now}"), &desc);
        if let Some(exact) = exact {
            self.ck.check(gone == exact, || format!("deleted {gone} hits, expected {exact}"), &desc);
        }
        if !out.is_null() {
            self.ck.check(
                deleted == gone,
                || format!("*deleted = {deleted}, the count fell by {gone}"),
                &desc,
            );
        }
        self.count = now;
        self.deleted += gone;
    }

    /// Count, full listing, paging and oldest/latest agree.
    pub unsafe fn op_consistency(&mut self) {
        let t = self.t;
        let desc = || "consistency of count, at_offline_get, pages, oldest and latest".to_string();
        let mut list: *mut at_hit_list = null_mut();
        self.ck.ok("at_offline_get", &desc, || at_offline_get(t, &mut list));
        let ids: Vec<u64> = (0..at_hit_list_len(list)).map(|i| at_hit_id(at_hit_list_get(list, i))).collect();
        at_hit_list_free(list);
        let limit = self.rng.range(1, 50) as u32;
        let mut paged = Vec::new();
        let mut after = 0;
        loop {
            let mut page: *mut at_hit_list = null_mut();
            self.ck.ok("at_offline_get_page", &desc, || at_offline_get_page(t, after, limit, &mut page));
            let n = at_hit_list_len(page);
            for i in 0..n {
                paged.push(at_hit_id(at_hit_list_get(page, i)));
            }
            at_hit_list_free(page);
            if n == 0 {
                break;
            }
            after = *paged.last().unwrap();
        }
        let (mut oldest, mut latest): (*mut at_hit, *mut at_hit) = (null_mut(), null_mut());
        self.ck.ok("at_offline_oldest", &desc, || at_offline_oldest(t, &mut oldest));
        self.ck.ok("at_offline_latest", &desc, || at_offline_latest(t, &mut latest));
        let (o, l) = (at_hit_id(oldest), at_hit_id(latest));
        at_hit_free(oldest);
        at_hit_free(latest);
        let count = self.count;
        let sorted = ids.windows(2).all(|w| w[0] < w[1]);
        self.ck.check(
            ids.len() as u64 == count
                && ids == paged
                && sorted
                && o == ids.first().copied().unwrap_or(0)
                && l == ids.last().copied().unwrap_or(0),
            || format!("count {count}, listed {}, paged {}, oldest {o}, latest {l}", ids.len(), paged.len()),
            &desc,
        );
        self.check_count(&desc);
    }

    pub unsafe fn op_stats(&mut self) {
        let t = self.t;
        let size = std::mem::size_of::<at_stats>();
        let out_size = self.rng.pick(&[0, 1, 7, 8, size - 1, size, size + 8, 256, usize::MAX]);
        let mut buf = [0xA5A5_A5A5_A5A5_A5A5u64; 40];
        let desc = || format!("at_tracker_stats(t, buf, {out_size})");
        self.ck.expect("at_tracker_stats", &["stats: out_size"], &[AT_OK], &desc, || {
            at_tracker_stats(t, buf.as_mut_ptr().cast(), out_size)
        });
        let written = out_size.min(size);
        let bytes: &[u8] = std::slice::from_raw_parts(buf.as_ptr().cast(), 320);
        let untouched = bytes[written..].iter().all(|&b| b == 0xA5);
        self.ck.check(untouched, || format!("at_tracker_stats wrote past {written} bytes"), &desc);
        if written == size {
            let s = *(buf.as_ptr() as *const at_stats);
            let count = self.count;
            self.ck.check(
                s.queued == count,
                || format!("stats.queued {} but {count} stored", s.queued),
                &desc,
            );
        }
    }
}
