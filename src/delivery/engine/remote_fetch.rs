//! The remote configuration on the delivery thread: fetched at start and every
//! interval (with `If-None-Match`), kept in the store as the last good document,
//! and its delivery values applied over the configuration's.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use super::Engine;
use crate::config::LogLevel;
use crate::delivery::transport::{Method, Outcome, Request};
use crate::remote::{self, SCHEMA_VERSION};
use crate::store::writer::Op;

/// After a failed fetch, the next one comes this soon (or at the interval, if sooner).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

impl Engine {
    /// The time of the next fetch, when one is due at all.
    pub(super) fn config_due_ms(&self) -> Option<i64> {
        // No fetch before consent is granted: no network at all.
        self.remote_settings
            .url
            .as_ref()
            .filter(|_| self.consent.allows_network())
            .map(|_| self.next_config_ms)
    }

    /// Applies the document in force to the delivery settings when it changed.
    pub(super) fn sync_remote(&mut self) {
        let version = self.remote.version();
        if version == self.remote_version {
            return;
        }
        self.remote_version = version;
        let o = self.remote.overrides();
        let base = &self.base_settings;
        let s = &mut self.settings;
        s.flush_interval = match o.flush_interval_ms {
            Some(0) => None,
            Some(ms) => Some(Duration::from_millis(ms.into())),
            None => base.flush_interval,
        };
        s.flush_threshold = o.flush_threshold.map_or(base.flush_threshold, u64::from);
        s.max_batch_events = o.max_batch_events.unwrap_or(base.max_batch_events);
        s.batch_url = o.endpoint.map_or_else(|| base.batch_url.clone(), |e| format!("{e}/v1/batch"));
        self.shared.state.lock().threshold = s.flush_threshold;
    }

    /// One fetch: a new document is stored, put in force and announced; a
    /// failure keeps the one in force (the last good, or the built-in settings).
    pub(super) fn fetch_config(&mut self) {
        let Some(url) = self.remote_settings.url.clone().filter(|_| self.consent.allows_network()) else {
            return;
        };
        let now = self.clock.now_ms();
        let mono = self.clock.mono_ms();
        let interval = self.remote_settings.interval;
        self.next_config_ms = mono + interval.as_millis() as i64;
        let headers: Vec<(String, String)> =
            self.remote.etag().map(|e| ("If-None-Match".to_owned(), e)).into_iter().collect();
        let outcome =
            self.transport.send(&Request { method: Method::Get, url: &url, headers: &headers, body: &[] });
        self.reporter.stats.requests.fetch_add(1, Relaxed);
        let failed = |engine: &mut Engine, why: String| {
            engine.next_config_ms = mono + interval.min(RETRY_AFTER_FAILURE).as_millis() as i64;
            let keeping =
                if engine.remote.document().is_some() { "the last good one" } else { "built-in settings" };
            engine
                .reporter
                .log(LogLevel::Warn, format!("remote config fetch failed ({why}); keeping {keeping}"));
        };
        match outcome {
            Outcome::Answered { status: 200, etag, body, .. } => {
                let doc = match String::from_utf8(body) {
                    Ok(doc) => doc,
                    Err(_) => return failed(self, "the document is not UTF-8".into()),
                };
                match remote::parse(&doc, &self.remote_settings.allowed_hosts) {
                    Ok((overrides, warnings)) => {
                        warnings.into_iter().for_each(|w| self.reporter.log(LogLevel::Warn, w));
                        let entries = vec![
                            (remote::META_DOCUMENT.to_owned(), Some(doc.clone())),
                            (remote::META_ETAG.to_owned(), etag.clone()),
                            (remote::META_FETCHED_MS.to_owned(), Some(now.to_string())),
                            (remote::META_SCHEMA.to_owned(), Some(SCHEMA_VERSION.to_string())),
                        ];
                        if let Err(e) = self.writer.call(|reply| Op::PutMeta { entries, reply: Some(reply) })
                        {
                            self.reporter.log(
                                LogLevel::Warn,
                                format!(
                                    "the remote config could not be cached ({e}); it applies until restart"
                                ),
                            );
                        }
                        self.remote.apply(doc.clone(), etag, overrides);
                        self.sync_remote();
                        self.reporter.log(LogLevel::Info, "remote config applied");
                        if let Some(notify) = &self.on_remote_config {
                            notify(doc);
                        }
                    }
                    Err(why) => failed(self, format!("the document is refused: {why}")),
                }
            }
            Outcome::Answered { status: 304, .. } => {
                let entries = vec![(remote::META_FETCHED_MS.to_owned(), Some(now.to_string()))];
                let _ = self.writer.submit(Op::PutMeta { entries, reply: None });
                self.reporter.log(LogLevel::Debug, "remote config not modified");
            }
            Outcome::Answered { status, .. } => failed(self, format!("HTTP {status}")),
            Outcome::NotReached { why, .. } | Outcome::Failed(why) => failed(self, why),
            Outcome::Aborted => {}
        }
    }
}
