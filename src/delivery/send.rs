//! One send run: hits in, requests out, a fate for every hit back.
//!
//! Events go in `/v1/batch` POSTs within the batch limits; a batch the server
//! refuses (400/413) is bisected until the offending event is alone. URL hits go
//! one GET each. The first failure that is not about the payload stops the run;
//! the hits not attempted are released unchanged.
//!
//! A run is planned (`plan`: envelopes built, `Step`s in order), then each
//! step's request is sent and concluded (`conclude`), one at a time (`run`) or
//! side by side by the drain's pipeline (`engine/pipeline.rs`).

use std::collections::VecDeque;
use std::ops::Range;
use std::time::Duration;

use crate::config::DropReason;
use crate::delivery::dates::parse_http_date;
use crate::delivery::policy::{self, Verdict};
use crate::delivery::transport::{Cause, Method, Outcome, Request, Transport};
use crate::delivery::wire;
use crate::hit::{is_json_object, HitKind, StoredHit};

/// What becomes of one hit after a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Delivered,
    /// Reached the server and failed: retry after the pause (an attempt).
    Retry,
    /// The server asked to wait (Retry-After): retry after it, no attempt counted.
    Deferred,
    /// The server was not reached (no attempt counted).
    Offline,
    Dropped(DropReason),
    /// Not attempted.
    Release,
}

/// Why a run stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The server failed (5xx, 429, timeout, reset); `retry_after` when it said so.
    ServerFailed { retry_after: Option<Duration>, why: String },
    /// The collector was not reached (network, TLS, pinning, proxy, portal).
    NotReached { cause: Cause, why: String },
    /// 401/403: the key is refused; the hits sent are kept.
    Unauthorized(u16),
    /// The tracker is closing.
    Aborted,
}

/// What a run needs besides the transport.
pub struct SendContext<'a> {
    pub batch_url: &'a str,
    /// Headers of a batch POST (`wire::post_headers`).
    pub post_headers: &'a [(String, String)],
    pub gzip: bool,
    /// The current visitor id, for rows stored before hits carried their own.
    pub anonymous_id: &'a str,
    /// The store's id, sent with each event's sequence number (its row id).
    pub store_id: &'a str,
    pub max_batch_events: usize,
    pub max_batch_bytes: usize,
    pub now_ms: &'a dyn Fn() -> i64,
    /// The collector's clock minus ours, when learned (sent as `clockOffsetMs`).
    pub clock_offset_ms: Option<i64>,
}

pub struct Run {
    pub fates: Vec<Fate>,
    pub stop: Option<Stop>,
    pub requests: u64,
    /// The status of each answer, for logs (e.g. a refused event).
    pub refused: Vec<(usize, u16)>,
    /// The collector's clock minus ours, from the `Date` of the last success.
    pub clock_offset_ms: Option<i64>,
    /// A `Date` header of a success that could not be read (absurd or malformed).
    pub bad_date: Option<String>,
}

impl Run {
    fn new(hits: usize) -> Run {
        Run {
            fates: vec![Fate::Release; hits],
            stop: None,
            requests: 0,
            refused: Vec::new(),
            clock_offset_ms: None,
            bad_date: None,
        }
    }

    /// Keeps the first reason to stop: with requests in flight side by side,
    /// a second failure may end after the first.
    fn stop(&mut self, stop: Stop) {
        self.stop.get_or_insert(stop);
    }
}

/// One request of a run: a URL hit's GET, or a POST of consecutive events
/// (indexes into the run's hits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Get(usize),
    Post(Range<usize>),
}

/// A run's requests, in order, and its events' envelopes, each built once
/// into one buffer (hit `i`'s at `spans[i]`, consecutive events separated by
/// a comma, so a batch's body is one copy of a slice).
pub struct Plan {
    pub steps: VecDeque<Step>,
    text: String,
    spans: Vec<Range<usize>>,
}

impl Plan {
    /// Plans `hits`: envelopes built, events split into batches within the
    /// limits (an event too large even alone is dropped in `run`), URL hits
    /// one GET each, in the hits' order.
    pub fn new(ctx: &SendContext<'_>, hits: &[StoredHit], run: &mut Run) -> Plan {
        let mut plan = Plan { steps: VecDeque::new(), text: String::new(), spans: vec![0..0; hits.len()] };
        let events: usize = hits.iter().filter_map(|h| h.body.as_ref()).map(|b| b.len() + 400).sum();
        plan.text.reserve(events);
        let mut i = 0;
        while i < hits.len() {
            if hits[i].kind == HitKind::Url {
                plan.steps.push_back(Step::Get(i));
                i += 1;
                continue;
            }
            let end = (i..hits.len()).find(|&j| hits[j].kind != HitKind::Event).unwrap_or(hits.len());
            // A body is spliced into the batch as it is: one that is not a
            // JSON object (damage) would make the whole batch unreadable.
            let damaged: Vec<bool> =
                hits[i..end].iter().map(|h| !h.body.as_deref().is_some_and(is_json_object)).collect();
            let mut sizes = Vec::with_capacity(end - i);
            for (k, h) in hits.iter().enumerate().take(end).skip(i) {
                if damaged[k - i] {
                    // In no batch: split sets it apart as too large.
                    sizes.push(usize::MAX / 2);
                    continue;
                }
                if !plan.text.is_empty() {
                    plan.text.push(',');
                }
                let at = plan.text.len();
                wire::push_envelope(&mut plan.text, h, ctx.anonymous_id, ctx.store_id);
                plan.spans[k] = at..plan.text.len();
                sizes.push(plan.spans[k].len());
            }
            let (batches, apart) = wire::split(&sizes, ctx.max_batch_events, ctx.max_batch_bytes);
            for k in apart {
                let reason = if damaged[k] { DropReason::Corrupt } else { DropReason::TooLarge };
                run.fates[i + k] = Fate::Dropped(reason);
            }
            plan.steps.extend(batches.into_iter().map(|r| Step::Post(i + r.start..i + r.end)));
            i = end;
        }
        plan
    }

    /// The body of a POST of the events `range`, sent now.
    pub fn body(&self, ctx: &SendContext<'_>, range: &Range<usize>) -> Vec<u8> {
        let (first, last) = (&self.spans[range.start], &self.spans[range.end - 1]);
        let json = wire::body_joined(&self.text[first.start..last.end], (ctx.now_ms)(), ctx.clock_offset_ms);
        if ctx.gzip {
            wire::gzip(&json)
        } else {
            json
        }
    }
}

/// The request of `step` (its body, for a POST, in `body`).
pub fn request<'a>(
    ctx: &SendContext<'a>,
    hits: &'a [StoredHit],
    plan: &Plan,
    step: &Step,
    body: &'a mut Vec<u8>,
) -> Request<'a> {
    match step {
        // URL hits go exactly as the host built them: no headers of ours.
        Step::Get(i) => Request { method: Method::Get, url: &hits[*i].url, headers: &[], body: &[] },
        Step::Post(range) => {
            *body = plan.body(ctx, range);
            Request { method: Method::Post, url: ctx.batch_url, headers: ctx.post_headers, body }
        }
    }
}

/// Records what one request of `step` came to; returns the steps to take
/// next, before the rest: the two halves of a batch the server refused
/// (400/413), bisected until the offending event is alone.
pub fn conclude(outcome: Outcome, step: &Step, run: &mut Run, ctx: &SendContext<'_>) -> Option<[Step; 2]> {
    run.requests += 1;
    match step {
        Step::Get(i) => apply(outcome, &[*i], false, run, ctx),
        Step::Post(range) => {
            if let Outcome::Answered { status, .. } = &outcome {
                if policy::verdict(*status) == Verdict::Refused && range.len() > 1 {
                    let mid = range.start + range.len() / 2;
                    return Some([Step::Post(range.start..mid), Step::Post(mid..range.end)]);
                }
            }
            let indexes: Vec<usize> = range.clone().collect();
            apply(outcome, &indexes, true, run, ctx);
        }
    }
    None
}

/// A new run over `hits` and its plan (events too large already dropped).
pub fn plan(ctx: &SendContext<'_>, hits: &[StoredHit]) -> (Run, Plan) {
    let mut run = Run::new(hits.len());
    let plan = Plan::new(ctx, hits, &mut run);
    (run, plan)
}

/// Sends `hits` in order, one request at a time; `fates[i]` is the fate of
/// `hits[i]`.
pub fn run(transport: &mut dyn Transport, ctx: &SendContext<'_>, hits: &[StoredHit]) -> Run {
    let (mut run, mut plan) = plan(ctx, hits);
    while run.stop.is_none() {
        let Some(step) = plan.steps.pop_front() else { break };
        let mut body = Vec::new();
        let outcome = transport.send(&request(ctx, hits, &plan, &step, &mut body));
        if let Some([left, right]) = conclude(outcome, &step, &mut run, ctx) {
            plan.steps.push_front(right);
            plan.steps.push_front(left);
        }
    }
    run
}

/// Records the fate of the hits at `indexes` after one request (`batch`: a
/// batch POST, whose 2xx must be the collector's, not a portal's page).
fn apply(outcome: Outcome, indexes: &[usize], batch: bool, run: &mut Run, ctx: &SendContext<'_>) {
    let set = |run: &mut Run, fate| indexes.iter().for_each(|&i| run.fates[i] = fate);
    let outcome = match outcome {
        Outcome::Answered { status, ref content_type, .. }
            if batch && (200..300).contains(&status) && policy::is_portal_page(content_type.as_deref()) =>
        {
            let why = format!("HTTP {status} with an HTML page on the batch endpoint");
            Outcome::NotReached { cause: Cause::Portal, why }
        }
        Outcome::Answered { status, .. } if matches!(policy::verdict(status), Verdict::NotReached(_)) => {
            let Verdict::NotReached(cause) = policy::verdict(status) else { unreachable!() };
            Outcome::NotReached { cause, why: format!("HTTP {status}") }
        }
        other => other,
    };
    match outcome {
        Outcome::Answered { status, retry_after, date, .. } => match policy::verdict(status) {
            Verdict::Delivered => {
                set(run, Fate::Delivered);
                match date.as_deref().map(|d| (d, parse_http_date(d))) {
                    // The Date header has whole seconds: the server's clock was
                    // half a second past it, on average.
                    Some((_, Some(server_ms))) => {
                        run.clock_offset_ms =
                            Some(server_ms.saturating_add(500).saturating_sub((ctx.now_ms)()))
                    }
                    Some((bad, None)) => run.bad_date = Some(bad.to_owned()),
                    None => {}
                }
            }
            Verdict::Refused => {
                // Alone (bisection ends here): only this hit goes.
                run.refused.extend(indexes.iter().map(|&i| (i, status)));
                set(run, Fate::Dropped(DropReason::Rejected));
            }
            Verdict::Unauthorized => {
                // The hits carry no key: a corrected key delivers them.
                set(run, Fate::Release);
                run.stop(Stop::Unauthorized(status));
            }
            Verdict::Retry => {
                let retry_after = policy::retry_after(retry_after.as_deref(), (ctx.now_ms)());
                // A server that says when to come back asked for a wait: no attempt.
                set(run, if retry_after.is_some() { Fate::Deferred } else { Fate::Retry });
                run.stop(Stop::ServerFailed { retry_after, why: format!("HTTP {status}") });
            }
            Verdict::NotReached(_) => unreachable!("mapped to Outcome::NotReached above"),
        },
        Outcome::NotReached { cause, why } => {
            set(run, Fate::Offline);
            run.stop(Stop::NotReached { cause, why });
        }
        Outcome::Failed(why) => {
            set(run, Fate::Retry);
            run.stop(Stop::ServerFailed { retry_after: None, why });
        }
        Outcome::Aborted => {
            set(run, Fate::Release);
            run.stop(Stop::Aborted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Answer = Box<dyn FnMut(&Request<'_>) -> Outcome + Send>;

    /// A transport that answers from a script and records what it was sent.
    struct Scripted {
        answers: Vec<Answer>,
        sent: Vec<(Method, usize)>,
    }

    impl Transport for Scripted {
        fn send(&mut self, r: &Request<'_>) -> Outcome {
            let events = if r.method == Method::Post {
                let v: serde_json::Value = serde_json::from_slice(r.body).unwrap();
                v["batch"].as_array().unwrap().len()
            } else {
                1
            };
            self.sent.push((r.method, events));
            let mut answer = self.answers.remove(0);
            answer(r)
        }
    }

    fn ok() -> Answer {
        Box::new(|_| Outcome::Answered {
            status: 200,
            retry_after: None,
            date: None,
            etag: None,
            content_type: None,
            body: Vec::new(),
        })
    }

    /// 400 whenever the batch contains event "poison".
    fn poison_check() -> Answer {
        Box::new(|r| {
            let body = String::from_utf8_lossy(r.body);
            let status = if body.contains("\"event\":\"poison\"") { 400 } else { 200 };
            Outcome::Answered {
                status,
                retry_after: None,
                date: None,
                etag: None,
                content_type: None,
                body: Vec::new(),
            }
        })
    }

    fn event(id: u64, name: &str) -> StoredHit {
        StoredHit {
            id,
            message_id: format!("m{id}"),
            kind: HitKind::Event,
            hit_type: name.into(),
            url: "http://c/v1/batch".into(),
            body: Some("{}".into()),
            created_ms: 0,
            retry_count: 0,
            is_offline: false,
            stamp: crate::hit::Stamp::default(),
        }
    }

    fn url_hit(id: u64) -> StoredHit {
        StoredHit { kind: HitKind::Url, url: format!("http://c/hit?{id}"), body: None, ..event(id, "screen") }
    }

    fn ctx(now: &dyn Fn() -> i64) -> SendContext<'_> {
        SendContext {
            batch_url: "http://c/v1/batch",
            post_headers: &[],
            gzip: false,
            anonymous_id: "v",
            store_id: "s",
            max_batch_events: 500,
            max_batch_bytes: 500_000,
            now_ms: now,
            clock_offset_ms: None,
        }
    }

    #[test]
    fn a_poison_event_is_bisected_out_and_its_batch_mates_are_delivered() {
        let now = || 0;
        let mut hits: Vec<StoredHit> = (0..8).map(|i| event(i, "fine")).collect();
        hits[5].hit_type = "poison".into();
        let mut t = Scripted { answers: (0..20).map(|_| poison_check()).collect(), sent: vec![] };
        let run = run(&mut t, &ctx(&now), &hits);
        assert_eq!(run.stop, None);
        for (i, fate) in run.fates.iter().enumerate() {
            let want = if i == 5 { Fate::Dropped(DropReason::Rejected) } else { Fate::Delivered };
            assert_eq!(*fate, want, "hit {i}");
        }
        // 8 refused → 0..4 ok, 4..8 refused → 4..6 refused → 4 ok, 5 refused → 6..8 ok.
        assert_eq!(t.sent.iter().map(|s| s.1).collect::<Vec<_>>(), vec![8, 4, 4, 2, 1, 1, 2]);
    }

    #[test]
    fn a_server_failure_stops_the_run_and_releases_what_was_not_tried() {
        let now = || 0;
        let hits = vec![url_hit(1), url_hit(2), url_hit(3)];
        let fail: Answer = Box::new(|_| Outcome::Answered {
            status: 503,
            retry_after: Some("5".into()),
            date: None,
            etag: None,
            content_type: None,
            body: Vec::new(),
        });
        let mut t = Scripted { answers: vec![ok(), fail], sent: vec![] };
        let run = run(&mut t, &ctx(&now), &hits);
        assert_eq!(run.fates, vec![Fate::Delivered, Fate::Deferred, Fate::Release], "a wait is no attempt");
        assert_eq!(
            run.stop,
            Some(Stop::ServerFailed { retry_after: Some(Duration::from_secs(5)), why: "HTTP 503".into() })
        );
    }

    #[test]
    fn unreachable_marks_offline_and_401_keeps_what_was_sent() {
        let now = || 0;
        let hits = vec![event(1, "a"), event(2, "b")];
        let mut t = Scripted { answers: vec![Box::new(|_| Outcome::unreachable("refused"))], sent: vec![] };
        let r = run(&mut t, &ctx(&now), &hits);
        assert_eq!(r.fates, vec![Fate::Offline, Fate::Offline]);
        let mut t = Scripted {
            answers: vec![Box::new(|_| Outcome::Answered {
                status: 401,
                retry_after: None,
                date: None,
                etag: None,
                content_type: None,
                body: Vec::new(),
            })],
            sent: vec![],
        };
        let r = run(&mut t, &ctx(&now), &hits);
        assert_eq!(r.fates, vec![Fate::Release; 2]);
        assert_eq!(r.stop, Some(Stop::Unauthorized(401)));
    }

    fn answer(status: u16, content_type: Option<&'static str>, date: Option<&'static str>) -> Answer {
        Box::new(move |_| Outcome::Answered {
            status,
            retry_after: None,
            date: date.map(Into::into),
            etag: None,
            content_type: content_type.map(Into::into),
            body: Vec::new(),
        })
    }

    #[test]
    fn portals_redirects_and_proxies_are_not_reached_and_count_no_attempt() {
        let now = || 0;
        let hits = vec![event(1, "a"), event(2, "b")];
        for (status, ct, cause) in [
            (200, Some("text/html; charset=utf-8"), Cause::Portal),
            (302, None, Cause::Portal),
            (307, Some("text/html"), Cause::Portal),
            (511, Some("text/html"), Cause::Portal),
            (407, None, Cause::Proxy),
        ] {
            let mut t = Scripted { answers: vec![answer(status, ct, None)], sent: vec![] };
            let r = run(&mut t, &ctx(&now), &hits);
            assert_eq!(r.fates, vec![Fate::Offline; 2], "HTTP {status}");
            assert!(
                matches!(r.stop, Some(Stop::NotReached { cause: c, .. }) if c == cause),
                "HTTP {status}: {:?}",
                r.stop
            );
        }
        // A URL hit's GET may be answered with HTML: only the batch endpoint is judged by it.
        let mut t = Scripted { answers: vec![answer(200, Some("text/html"), None)], sent: vec![] };
        let r = run(&mut t, &ctx(&now), &[url_hit(3)]);
        assert_eq!(r.fates, vec![Fate::Delivered]);
    }

    #[test]
    fn an_absurd_date_is_reported_and_sets_no_clock_offset() {
        let now = || 1_795_366_000_000;
        for bad in [
            "Sun, 06 Nov 99999999999999 08:49:37 GMT",
            "Sun, 06 Nov -9223372036854775807 08:49:37 GMT",
            "soon",
        ] {
            let mut t = Scripted { answers: vec![answer(200, None, Some(bad))], sent: vec![] };
            let r = run(&mut t, &ctx(&now), &[event(1, "a")]);
            assert_eq!(r.fates, vec![Fate::Delivered]);
            assert_eq!(r.clock_offset_ms, None, "{bad}");
            assert_eq!(r.bad_date.as_deref(), Some(bad));
        }
        let mut t = Scripted {
            answers: vec![answer(200, None, Some("Sun, 22 Nov 2026 16:46:41 GMT"))],
            sent: vec![],
        };
        let r = run(&mut t, &ctx(&now), &[event(1, "a")]);
        assert_eq!(r.clock_offset_ms, Some(1_500));
    }

    #[test]
    fn a_damaged_body_is_dropped_as_corrupt_and_never_joins_a_batch() {
        let now = || 0;
        let mut hits: Vec<StoredHit> = (0..4).map(|i| event(i, "e")).collect();
        hits[1].body = Some("{\"cut\": ".into());
        hits[2].body = Some("[1]".into());
        let mut t = Scripted { answers: (0..4).map(|_| ok()).collect(), sent: vec![] };
        let r = run(&mut t, &ctx(&now), &hits);
        let corrupt = Fate::Dropped(DropReason::Corrupt);
        assert_eq!(r.fates, vec![Fate::Delivered, corrupt, corrupt, Fate::Delivered]);
        assert_eq!(t.sent, vec![(Method::Post, 1), (Method::Post, 1)], "each batch parsed as JSON");
    }

    #[test]
    fn events_and_url_hits_keep_their_order_and_batches_split_at_500() {
        let now = || 0;
        let mut hits: Vec<StoredHit> = (0..1200).map(|i| event(i, "e")).collect();
        hits.insert(600, url_hit(9999));
        let mut t = Scripted { answers: (0..10).map(|_| ok()).collect(), sent: vec![] };
        let r = run(&mut t, &ctx(&now), &hits);
        assert!(r.fates.iter().all(|f| *f == Fate::Delivered));
        let sent: Vec<(Method, usize)> = t.sent.clone();
        assert_eq!(
            sent,
            vec![
                (Method::Post, 500),
                (Method::Post, 100),
                (Method::Get, 1),
                (Method::Post, 500),
                (Method::Post, 100)
            ]
        );
    }
}
