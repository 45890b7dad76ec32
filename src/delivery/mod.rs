//! Delivery: stored and memory-only hits reach the collector through libcurl, in
//! batches, with retries and backoff.
//!
//! One delivery thread per tracker owns the transport. It leases rows from the
//! store through the writer, sends them, and hands their fate back to the writer.
//! It never runs host callbacks itself (completions go to the callback thread)
//! and never touches SQLite directly.

pub mod dates;
pub mod engine;
pub mod host;
pub mod policy;
pub mod report;
pub mod send;
pub mod settings;
pub mod tls;
pub mod transport;
pub mod wire;

pub use engine::{Delivery, RemoteNotify};
pub use report::DispatchReport;
pub use settings::DeliverySettings;
