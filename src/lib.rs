//! attracker: an offline-first analytics hit tracker.
//!
//! Hits are committed to a SQLite store before any send and can be inspected,
//! dispatched and deleted by the host. The safe Rust core lives in this crate's
//! modules; `ffi` translates it to the C ABI of `include/at_tracker.h` and is the
//! only place with `extern "C"`.

pub mod analytics;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod error;
pub mod hit;
pub mod identity;
pub mod remote;
pub mod runtime;
pub mod store;
pub mod tracker;

pub mod ffi;

pub use analytics::consent::Consent;
pub use analytics::Reset;
pub use clock::{Clock, SystemClock};
pub use config::{
    AuthScheme, CallbackMode, Config, DropReason, Durability, LogLevel, OfflineMode, Synchronous,
};
pub use error::{Error, Result, Status};
pub use hit::{HitKind, StoredHit};
pub use runtime::StatsSnapshot;
pub use tracker::{OpenReport, Tracker};

/// The library version, from Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
