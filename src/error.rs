//! The core's error type: a status kind plus a human-readable message.
//!
//! The kinds mirror the C `at_status` values one to one, so `src/ffi/` only has to
//! translate; the core never deals in raw integers.

use std::fmt;

/// What went wrong, as the host will see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    NullArgument,
    InvalidArgument,
    TooLarge,
    Suppressed,
    Storage,
    Network,
    Cancelled,
    Closed,
    Internal,
    /// The collector refused the api key (401/403): sending is paused.
    KeyRejected,
}

/// An error with its classification and a message meant for a developer's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Error { status, message: message.into() }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Status::InvalidArgument, message)
    }
    pub fn storage(message: impl Into<String>) -> Self {
        Self::new(Status::Storage, message)
    }
    pub fn closed() -> Self {
        Self::new(Status::Closed, "the tracker is closed")
    }
    pub fn cancelled() -> Self {
        Self::new(Status::Cancelled, "cancelled: the tracker closed before the work was done")
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Status::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
