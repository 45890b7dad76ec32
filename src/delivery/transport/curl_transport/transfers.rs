//! The transfers of a `CurlTransport` on its libcurl multi handle: started
//! side by side (at most `LANES`, each on a kept-alive connection of its own),
//! ended in whatever order the server answers, each handed back with its tag.
//! The multi handle is driven on the delivery thread only, in waits of at
//! most `POLL`, so an abort ends every transfer within about that long.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use curl::easy::Easy2;
use curl::multi::{Easy2Handle, Multi};

use super::{classify, Collect};
use crate::delivery::transport::{Abort, Outcome, LANES};

/// Poll interval while transfers run: bounds how late an abort takes effect.
const POLL: Duration = Duration::from_millis(50);

struct Running {
    tag: u64,
    handle: Easy2Handle<Collect>,
    started: Instant,
}

pub(super) struct Transfers {
    multi: Multi,
    running: Vec<Running>,
    /// Ended transfers not yet handed back (and requests that never started).
    ended: VecDeque<(u64, Outcome)>,
    /// Easy handles of ended transfers, reused (their buffers, not their
    /// connections: those live in the multi handle's cache).
    spare: Vec<Easy2<Collect>>,
}

impl Transfers {
    pub(super) fn new() -> Transfers {
        Transfers { multi: Multi::new(), running: Vec::new(), ended: VecDeque::new(), spare: Vec::new() }
    }

    /// A reset easy handle with an empty `Collect`.
    pub(super) fn easy(&mut self) -> Easy2<Collect> {
        match self.spare.pop() {
            Some(mut e) => {
                e.reset();
                *e.get_mut() = Collect::default();
                e
            }
            None => Easy2::new(Collect::default()),
        }
    }

    pub(super) fn keep(&mut self, easy: Easy2<Collect>) {
        if self.spare.len() < LANES {
            self.spare.push(easy);
        }
    }

    /// An outcome decided without a transfer.
    pub(super) fn ended(&mut self, tag: u64, outcome: Outcome) {
        self.ended.push_back((tag, outcome));
    }

    pub(super) fn in_flight(&self) -> usize {
        self.running.len()
    }

    pub(super) fn start(&mut self, tag: u64, easy: Easy2<Collect>) {
        match self.multi.add2(easy) {
            Ok(handle) => self.running.push(Running { tag, handle, started: Instant::now() }),
            Err(e) => self.ended.push_back((tag, Outcome::Failed(format!("libcurl: {e}")))),
        }
    }

    /// Waits until a transfer ends (or one already has); `None` when none
    /// is running or waiting to be handed back. `limit` bounds a transfer's
    /// life beyond libcurl's own timeout.
    pub(super) fn finish(&mut self, abort: &Abort, limit: Duration) -> Option<(u64, Outcome)> {
        loop {
            if let Some(done) = self.ended.pop_front() {
                return Some(done);
            }
            if self.running.is_empty() {
                return None;
            }
            if let Err(e) = self.multi.perform() {
                let why = format!("libcurl: {e}");
                self.end_all(|| Outcome::Failed(why.clone()));
                continue;
            }
            self.collect();
            if !self.ended.is_empty() {
                continue;
            }
            if abort.is_set() {
                self.end_all(|| Outcome::Aborted);
                continue;
            }
            let late: Vec<u64> =
                self.running.iter().filter(|r| r.started.elapsed() > limit).map(|r| r.tag).collect();
            for tag in late {
                self.end(tag, None, || Outcome::Failed("the request timed out".into()));
            }
            if self.ended.is_empty() {
                let _ = self.multi.wait(&mut [], POLL);
            }
        }
    }

    /// Moves the transfers libcurl reports done to `ended`.
    fn collect(&mut self) {
        let mut done: Vec<(u64, Result<(), curl::Error>)> = Vec::new();
        let running = &self.running;
        self.multi.messages(|m| {
            for r in running {
                if let Some(result) = m.result_for2(&r.handle) {
                    done.push((r.tag, result));
                }
            }
        });
        for (tag, result) in done {
            self.end(tag, Some(result), || Outcome::Failed("the request timed out".into()));
        }
    }

    /// Removes the transfer `tag` and records its outcome: from libcurl's
    /// `result` when it has one, else `otherwise` (aborted, timed out).
    fn end(
        &mut self,
        tag: u64,
        result: Option<Result<(), curl::Error>>,
        otherwise: impl FnOnce() -> Outcome,
    ) {
        let Some(at) = self.running.iter().position(|r| r.tag == tag) else { return };
        let running = self.running.remove(at);
        let mut easy = match self.multi.remove2(running.handle) {
            Ok(e) => e,
            Err(e) => {
                self.ended.push_back((tag, Outcome::Failed(format!("libcurl: {e}"))));
                return;
            }
        };
        let outcome = match result {
            None => otherwise(),
            Some(Ok(())) => answered(&mut easy),
            // An answer cut for its size still answered: its status stands.
            Some(Err(e)) if e.is_write_error() && easy.get_ref().too_long => answered(&mut easy),
            Some(Err(e)) => classify(&e, &mut easy),
        };
        if !matches!(outcome, Outcome::Aborted) {
            self.keep(easy);
        }
        self.ended.push_back((tag, outcome));
    }

    /// Ends every running transfer, in the order they started.
    fn end_all(&mut self, outcome: impl Fn() -> Outcome) {
        let tags: Vec<u64> = self.running.iter().map(|r| r.tag).collect();
        for tag in tags {
            self.end(tag, None, &outcome);
        }
    }
}

fn answered(easy: &mut Easy2<Collect>) -> Outcome {
    let status = easy.response_code().unwrap_or(0) as u16;
    let c = std::mem::take(easy.get_mut());
    Outcome::Answered {
        status,
        retry_after: c.retry_after,
        date: c.date,
        etag: c.etag,
        content_type: c.content_type,
        body: c.body,
    }
}
