//! The sender election: of all processes that open one store (an app and its
//! extension), only the holder of an exclusive lock on `<db>.sender-lock` sends
//! stored hits and recovers rows left in flight. The lock dies with its process,
//! so a crashed sender never blocks the others.

use std::fs::{File, TryLockError};
use std::path::Path;

use crate::error::{Error, Result};
use crate::store::open::with_suffix;
use crate::store::platform;

pub struct SenderLock {
    _file: File,
}

impl SenderLock {
    /// `Ok(None)` when another process (or another tracker) holds the lock.
    pub fn try_acquire(db: &Path) -> Result<Option<SenderLock>> {
        let path = with_suffix(db, ".sender-lock");
        let file = platform::open_lock_file(&path)
            .map_err(|e| Error::storage(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(SenderLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => {
                Err(Error::storage(format!("cannot lock {}: {e}", path.display())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_holder_at_a_time_and_released_on_drop() {
        let dir = std::env::temp_dir().join(format!("attracker-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("x.db");
        let first = SenderLock::try_acquire(&db).unwrap();
        assert!(first.is_some());
        assert!(SenderLock::try_acquire(&db).unwrap().is_none(), "a second opener is not the sender");
        drop(first);
        assert!(SenderLock::try_acquire(&db).unwrap().is_some(), "free again once the holder is gone");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
