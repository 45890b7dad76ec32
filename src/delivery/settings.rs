//! The delivery part of a tracker's configuration.

use std::time::Duration;

use crate::config::{AuthScheme, Config};

/// The delivery part of the tracker's configuration.
#[derive(Clone)]
pub struct DeliverySettings {
    pub batch_url: String,
    pub api_key: Option<String>,
    pub auth: AuthScheme,
    pub gzip: bool,
    pub max_batch_events: u32,
    pub max_batch_bytes: u32,
    pub max_attempts: u32,
    pub max_hit_age_ms: u64,
    pub flush_interval: Option<Duration>,
    pub flush_threshold: u64,
}

impl DeliverySettings {
    pub fn from_config(c: &Config) -> Self {
        DeliverySettings {
            batch_url: c.batch_url(),
            api_key: c.api_key.clone(),
            auth: c.auth,
            gzip: c.gzip,
            max_batch_events: c.max_batch_events,
            max_batch_bytes: c.max_batch_bytes,
            max_attempts: c.max_attempts,
            max_hit_age_ms: c.max_hit_age_ms,
            flush_interval: (c.flush_interval_ms > 0)
                .then(|| Duration::from_millis(c.flush_interval_ms.into())),
            flush_threshold: c.flush_threshold.into(),
        }
    }
}
