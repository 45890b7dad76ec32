//! The C ABI: the only module with `extern "C"`. Each export checks its arguments,
//! calls the safe core, and translates the result to an `at_status`; nothing here
//! holds state or policy of its own.
//!
//! Every export's body is one `export!` / `export_value!` (see `export.rs`), so
//! no panic crosses the boundary and every failure names its function;
//! tests/ffi_exports.rs checks it.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

#[macro_use]
mod export;
#[macro_use]
pub mod c_enum;
mod args;
// Declaration order is the header's order (see examples/header/layout.rs).
pub mod status;
pub mod types;
pub mod config;
pub mod config_callbacks;
pub mod config_analytics;
pub mod tracker;
pub mod identity;
pub mod analytics;
pub mod offline;
pub mod hit;
pub mod request;

pub use analytics::*;
pub use config::*;
pub use config_analytics::*;
pub use config_callbacks::*;
pub use hit::*;
pub use identity::*;
pub use offline::*;
pub use request::*;
pub use status::*;
pub use tracker::*;
pub use types::*;
