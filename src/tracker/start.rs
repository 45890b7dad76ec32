//! Starting a tracker, step by step: the callback thread, the transport, the
//! store, the cached remote configuration, the writer, the delivery thread and
//! the reader. A step that fails undoes the ones before it (the guards and the
//! writer's close below), so a failed `Tracker::new` leaves no thread behind.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analytics::consent::{Consent, ConsentCell};
use crate::analytics::context::{self, Contexts};
use crate::analytics::profile::Profile;
use crate::analytics::session::Sessions;
use crate::analytics::{Analytics, Kept};
use crate::clock::Clock;
use crate::config::{CallbackMode, Config, Durability, LogLevel, ModeCell};
use crate::delivery::engine::DeliveryParts;
use crate::delivery::engine::DeliveryWake;
use crate::delivery::host::HostTransport;
use crate::delivery::transport::{Abort, Transport};
use crate::delivery::{Delivery, DeliverySettings, RemoteNotify};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::remote::{self, Remote, RemoteSettings};
use crate::runtime::{CallbackQueue, Reporter};
use crate::store::writer::{Limits, Op};
use crate::store::{self, BackgroundCheck, LogLength, Reader, Writer, WriterHandle, WriterSettings};

use super::OpenReport;

/// The callback queue of a tracker being started: shut down when dropped,
/// unless the start succeeded (`disarm`).
pub(super) struct CallbacksGuard(Option<CallbackQueue>);

impl CallbacksGuard {
    /// The callback thread, or the polled queue (`CallbackMode::Polled`).
    pub(super) fn start(config: &Config) -> Result<CallbacksGuard> {
        let queue = match config.callbacks {
            CallbackMode::Thread => CallbackQueue::start("attracker-callbacks")
                .map_err(|e| Error::internal(format!("cannot start the callback thread: {e}")))?,
            CallbackMode::Polled => CallbackQueue::polled(),
        };
        Ok(CallbacksGuard(Some(queue)))
    }

    pub(super) fn queue(&self) -> &CallbackQueue {
        self.0.as_ref().expect("the queue is taken only by disarm")
    }

    pub(super) fn disarm(mut self) -> CallbackQueue {
        self.0.take().expect("disarmed once")
    }
}

impl Drop for CallbacksGuard {
    fn drop(&mut self) {
        if let Some(queue) = self.0.take() {
            queue.shutdown();
        }
    }
}

/// What a started tracker is made of, besides its configuration.
pub(super) struct Parts {
    pub writer: Arc<WriterHandle>,
    pub delivery: Delivery,
    pub reader: Reader,
    pub report: OpenReport,
    pub identity: Arc<Identity>,
    pub remote: Arc<Remote>,
    pub analytics: Analytics,
    pub check: Option<BackgroundCheck>,
}

/// A test's transport, else the host's (`Config::transport`), else libcurl.
pub(super) fn choose_transport(
    config: &Config,
    given: Option<Box<dyn Transport>>,
    callbacks: &CallbackQueue,
    abort: &Abort,
    reporter: &Reporter,
) -> Result<Box<dyn Transport>> {
    Ok(match (given, &config.transport) {
        (Some(t), _) => t,
        (None, Some(send)) => Box::new(HostTransport::new(
            Arc::clone(send),
            callbacks.clone(),
            abort.clone(),
            Duration::from_millis(config.request_timeout_ms.into()),
        )),
        (None, None) => default_transport(config, abort.clone(), reporter)?,
    })
}

/// Opens the store and starts the writer and delivery threads on it.
pub(super) fn open_and_start(
    config: &Config,
    clock: &Arc<dyn Clock>,
    mode: &Arc<ModeCell>,
    reporter: &Reporter,
    callbacks: &CallbackQueue,
    transport: Box<dyn Transport>,
    abort: Abort,
) -> Result<Parts> {
    let opened = store::open(config, reporter, clock.now_ms())?;
    let identity = Arc::new(Identity::new(&opened.visitor_id, &opened.store_id));
    let (remote, cached_is_bad) = cached_remote_config(opened.remote_config, config, reporter);
    let wake = Arc::new(Delivery::prepare(abort));
    let writer = start_writer(opened.writer, opened.log_length, config, reporter, &wake)?;
    if cached_is_bad {
        forget_cached_remote_config(&writer);
    }
    let analytics = start_analytics(config, opened.kept, reporter);
    let parts = DeliveryParts {
        writer: Arc::clone(&writer),
        identity: Arc::clone(&identity),
        remote: Arc::clone(&remote),
        remote_settings: RemoteSettings::from_config(config),
        on_remote_config: remote_notifier(config, callbacks),
        mode: Arc::clone(mode),
        clock: Arc::clone(clock),
        reporter: reporter.clone(),
        transport,
        sender: opened.sender,
        db: config.storage_path.clone().unwrap_or_default(),
        consent: Arc::clone(&analytics.consent),
    };
    let delivery = match Delivery::start(&wake, DeliverySettings::from_config(config), parts) {
        Ok(d) => d,
        Err(e) => {
            writer.close(Instant::now());
            return Err(e);
        }
    };
    let reader = following_reader(opened.reader, config, &writer);
    Ok(Parts {
        writer,
        delivery,
        reader,
        report: OpenReport { recovered_in_flight: opened.recovered_in_flight, salvage: opened.salvage },
        identity,
        remote,
        analytics,
        check: opened.background_check,
    })
}

/// The analytics state the store kept (a damaged value is dropped with a
/// WARN), and the context of this start.
fn start_analytics(config: &Config, kept: Kept, reporter: &Reporter) -> Analytics {
    let (profile, warnings) = Profile::restore(kept.user_id, kept.traits, kept.super_properties);
    warnings.into_iter().for_each(|w| reporter.log(LogLevel::Warn, w));
    let consent = match kept.consent.as_deref().map(|c| (c, Consent::from_meta(c))) {
        Some((_, Some(c))) => c,
        Some((raw, None)) => {
            reporter.log(
                LogLevel::Warn,
                format!(
                    "the kept consent '{}' is not one this library wrote; the initial consent applies",
                    crate::hit::shorten(raw)
                ),
            );
            config.initial_consent
        }
        None => config.initial_consent,
    };
    Analytics {
        profile,
        sessions: Sessions::new(
            config.session_foreground_timeout_ms,
            config.session_background_timeout_ms,
            kept.session.as_deref(),
        ),
        contexts: Contexts::new(context::library_context(), config.context.clone()),
        consent: Arc::new(ConsentCell::new(consent)),
        track_session_events: config.track_session_events,
        changes: Default::default(),
    }
}

/// The last good remote configuration, in force until a fetch brings a newer
/// one; true when the cached one is no longer valid (and is to be forgotten).
fn cached_remote_config(
    cached: Option<(String, Option<String>)>,
    config: &Config,
    reporter: &Reporter,
) -> (Arc<Remote>, bool) {
    let remote = Arc::new(Remote::default());
    let Some((doc, etag)) = cached else { return (remote, false) };
    match remote::parse(&doc, &config.allowed_endpoint_hosts) {
        Ok((overrides, warnings)) => {
            warnings.into_iter().for_each(|w| reporter.log(LogLevel::Warn, w));
            remote.apply(doc, etag, overrides);
            (remote, false)
        }
        Err(why) => {
            reporter.log(
                LogLevel::Warn,
                format!("the cached remote config is dropped ({why}); built-in settings apply"),
            );
            (remote, true)
        }
    }
}

/// Removes the cached remote configuration from the store. Best effort: if it
/// fails, the next start drops it again.
fn forget_cached_remote_config(writer: &WriterHandle) {
    let entries = [remote::META_DOCUMENT, remote::META_ETAG, remote::META_FETCHED_MS, remote::META_SCHEMA]
        .map(|key| (key.to_owned(), None))
        .to_vec();
    let _ = writer.submit(Op::PutMeta { entries, reply: None });
}

/// Announces a newly applied remote configuration on the callback thread.
fn remote_notifier(config: &Config, callbacks: &CallbackQueue) -> Option<RemoteNotify> {
    config.on_remote_config.clone().map(|f| {
        let queue = callbacks.clone();
        let notify: RemoteNotify = Arc::new(move |doc: String| {
            let f = Arc::clone(&f);
            queue.post(move || f(&doc));
        });
        notify
    })
}

/// The writer thread on the store's write connection; its commits wake the
/// delivery thread.
fn start_writer(
    conn: rusqlite::Connection,
    log_length: LogLength,
    config: &Config,
    reporter: &Reporter,
    wake: &Arc<DeliveryWake>,
) -> Result<Arc<WriterHandle>> {
    let hook = Arc::clone(wake);
    let settings = WriterSettings {
        limits: Limits {
            max_hits: config.max_queue_size.into(),
            max_bytes: config.max_store_bytes,
            report_drops: config.report_drops,
        },
        window: Duration::from_millis(config.commit_window_ms.into()),
        batched: config.durability == Durability::Batched,
        batch_url: config.batch_url(),
        on_commit: Some(Arc::new(move |stored| hook.stored(stored))),
        reopen: store::reopener(config),
        resume: store::resumer(config),
        log_length,
    };
    Writer::start(conn, reporter.clone(), settings).map(Arc::new)
}

/// The inspection reader, reopened when the writer moves to a recreated store.
fn following_reader(conn: rusqlite::Connection, config: &Config, writer: &WriterHandle) -> Reader {
    let config = config.clone();
    let batch_url = config.batch_url();
    Reader::new(conn, batch_url).following(writer.generation(), writer.suspended(), move || {
        store::open_reader(config.storage_path.as_deref().unwrap_or(Path::new("")), &config)
    })
}

#[cfg(feature = "curl-transport")]
fn default_transport(config: &Config, abort: Abort, reporter: &Reporter) -> Result<Box<dyn Transport>> {
    let curl = crate::delivery::transport::CurlTransport::new(
        Duration::from_millis(config.connect_timeout_ms.into()),
        Duration::from_millis(config.request_timeout_ms.into()),
        abort,
    )
    .with_trust(config.ca_bundle.clone(), config.pinned_public_keys.clone())
    .with_reporter(reporter.clone());
    Ok(Box::new(if config.insecure_tls_for_development { curl.insecure_for_development() } else { curl }))
}

#[cfg(not(feature = "curl-transport"))]
fn default_transport(_: &Config, _: Abort, _: &Reporter) -> Result<Box<dyn Transport>> {
    Err(Error::invalid(
        "this build has no libcurl (feature curl-transport): set a transport with at_config_set_transport",
    ))
}
