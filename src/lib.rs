//! attracker: an offline-first analytics hit tracker.
//!
//! Hits are committed to a SQLite store before any send and can be inspected,
//! dispatched and deleted by the host. The safe Rust core lives in this crate's
//! private modules; what a Rust host uses is re-exported here. `ffi` translates
//! the core to the C ABI of `include/at_tracker.h` and is the only place with
//! `extern "C"`.

mod analytics;
mod clock;
mod config;
mod delivery;
mod error;
mod hit;
mod identity;
mod remote;
mod runtime;
mod store;
mod tracker;

pub mod ffi;

pub use analytics::consent::Consent;
pub use analytics::Reset;
pub use clock::{Clock, SystemClock};
pub use config::{
    AuthScheme, CallbackMode, Config, DropFn, DropReason, Durability, LogFn, LogLevel, OfflineMode,
    OptOutPolicy, RemoteConfigFn, Synchronous,
};
pub use delivery::host::{HostAnswer, HostRequest, HostSend};
pub use delivery::transport::Method;
pub use delivery::DispatchReport;
pub use error::{Error, Result, Status};
pub use hit::{HitKind, StoredHit};
pub use runtime::{Completion, StatsSnapshot};
pub use store::SalvageReport;
pub use tracker::{DispatchCompletion, ExportedBatch, OpenReport, Tracker};

/// The library version, from Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Not API: internals that tests and fuzz targets reach directly. Nothing here
/// is stable, documented for hosts, or covered by the crate's version.
#[doc(hidden)]
pub mod testing {
    pub use crate::delivery::dates::{iso8601_ms, parse_http_date};
    pub use crate::delivery::policy::retry_after;
}
