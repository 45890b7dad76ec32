//! The durable hit store: one SQLite file per tracker.
//!
//! Owns the database file, its schema and the rules for SQLite errors. Exactly one
//! writer connection (`Writer`, on its own thread) changes the store; inspection
//! reads use their own read-only connection (`Reader`). Nothing here touches the
//! network, and nothing here ever deletes or moves the store because of an error
//! that is not corruption.

pub mod check;
pub mod drop_report;
mod open;
pub mod ops;
mod platform;
pub mod queue;
pub mod reader;
mod resume;
mod salvage;
pub mod sender_lock;
pub mod schema;
pub mod store_id;
pub mod writer;

use rusqlite::ErrorCode;

use crate::error::{Error, Status};

pub use check::{BackgroundCheck, LogLength};
pub use open::open;
pub(crate) use open::{open_reader, reopener};
pub use reader::Reader;
pub(crate) use resume::resumer;
pub use salvage::SalvageReport;
pub use sender_lock::SenderLock;
pub use writer::{Writer, WriterHandle, WriterSettings};

/// Row state: waiting to be sent. Every row is written with it; a schema-1
/// library marked leased rows 1 (in flight), which the next sender resets.
pub(crate) const STATE_PENDING: i64 = 0;

/// True for the errors that mean the file itself is damaged.
pub(crate) fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase))
}

/// True for rusqlite's errors about a stored value it could not convert.
fn is_damaged_value(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..)
    )
}

/// Maps a SQLite error to a host-facing error. Only corruption is ever treated as
/// damage; busy, full, I/O, read-only and can't-open are conditions that pass.
pub(crate) fn classify(e: rusqlite::Error, doing: &str) -> Error {
    let what = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            "the store is locked by another connection beyond the busy timeout"
        }
        Some(ErrorCode::DiskFull) => "the disk is full",
        Some(ErrorCode::SystemIoFailure) => "an I/O error occurred (the device may be locked)",
        Some(ErrorCode::ReadOnly) => "the store is read-only",
        Some(ErrorCode::CannotOpen) => "the store cannot be opened",
        Some(ErrorCode::PermissionDenied) => "access to the store was denied",
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => "the store is damaged",
        Some(_) => "SQLite failed",
        // A value of the wrong type, range or encoding that no reader handled
        // where it read it: damage to the store's contents, not a library fault.
        None if is_damaged_value(&e) => "the store holds a damaged value",
        // The library's SQL is constant and tested: when SQLite cannot
        // prepare it, the schema in the file is not the library's (damage).
        None if matches!(e, rusqlite::Error::SqlInputError { .. }) => "the store's schema is damaged",
        None => return Error::new(Status::Internal, format!("{doing}: {e}")),
    };
    Error::new(Status::Storage, format!("{doing}: {what} ({e})"))
}

/// For unit tests: two connections to one new file, as two processes opening
/// a store at the same moment would hold; the file goes with it.
#[cfg(test)]
pub(crate) struct TwoOpeners {
    dir: std::path::PathBuf,
    pub a: rusqlite::Connection,
    pub b: rusqlite::Connection,
}

#[cfg(test)]
impl TwoOpeners {
    /// `sql` runs on `a` first (the schema the test needs).
    pub(crate) fn new(tag: &str, sql: &str) -> TwoOpeners {
        let dir = std::env::temp_dir().join(format!("attracker-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.db");
        let (a, b) = (rusqlite::Connection::open(&path).unwrap(), rusqlite::Connection::open(&path).unwrap());
        a.execute_batch(sql).unwrap();
        TwoOpeners { dir, a, b }
    }
}

#[cfg(test)]
impl Drop for TwoOpeners {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
