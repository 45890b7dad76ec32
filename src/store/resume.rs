//! Reopening a store that the tracker closed for the background (see
//! `WriterHandle::suspend`): a light open of the existing file, with the
//! settings of the first open and without its checks (the file was checked and
//! migrated when the tracker started; it is the same file, or the writer
//! notices it is not and takes the full path, `writer::vanish`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::config::{Config, Synchronous};
use crate::error::Error;
use crate::store::classify;
use crate::store::writer::Reopen;

/// Opens the store at the configured path read-write, never creating it; `None`
/// for a config without a storage path.
pub(crate) fn resumer(config: &Config) -> Option<Reopen> {
    let path: PathBuf = config.storage_path.clone()?;
    let busy = Duration::from_millis(config.busy_timeout_ms.into());
    let sync = match config.synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    let pages = config.store_page_limit;
    Some(Arc::new(move || {
        let doing = format!("reopening {} after the background", path.display());
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| classify(e, &doing))?;
        conn.busy_timeout(busy).map_err(|e| classify(e, &doing))?;
        // WAL is a property of the file; a file that is not in WAL mode any
        // more is not the store this tracker opened.
        let mode: String =
            conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(|e| classify(e, &doing))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::storage(format!("{doing}: the store is not in WAL mode any more ('{mode}')")));
        }
        conn.pragma_update(None, "synchronous", sync).map_err(|e| classify(e, &doing))?;
        if let Some(pages) = pages {
            conn.pragma_update(None, "max_page_count", pages).map_err(|e| classify(e, &doing))?;
        }
        Ok(conn)
    }))
}
