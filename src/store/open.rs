//! Opening a store: create with mode 0600, check, migrate, recover, and the
//! corruption boundary (move aside, salvage, warn).

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};

use crate::analytics::Kept;
use crate::config::{Config, LogLevel, Synchronous};
use crate::error::{Error, Result};
use crate::hit::new_message_id;
use crate::identity::validate_visitor_id;
use crate::remote;
use crate::runtime::Reporter;
use crate::store::check::{self, AtOpen, BackgroundCheck, LogLength};
use crate::store::salvage::{self, SalvageReport};
use crate::store::{classify, is_corruption, platform, queue, schema, SenderLock};

/// Connections to a freshly opened, checked and recovered store.
pub struct OpenedStore {
    pub writer: Connection,
    pub reader: Connection,
    /// Rows returned from `in_flight` to `pending` by crash recovery.
    pub recovered_in_flight: u64,
    /// Held when this tracker is the store's sender (see `SenderLock`).
    pub sender: Option<SenderLock>,
    /// The visitor id kept in the store, created on first open.
    pub visitor_id: String,
    /// The store's id (`store_id`), sent with every event.
    pub store_id: String,
    /// The last good remote configuration document and its ETag, if any.
    pub remote_config: Option<(String, Option<String>)>,
    /// The analytics state kept in `meta` (user id, traits, consent, ...).
    pub kept: Kept,
    /// Set when the file was damaged and replaced.
    pub salvage: Option<SalvageReport>,
    /// The full integrity check of a large store, running in the background.
    pub background_check: Option<BackgroundCheck>,
    /// The log's length, for the writer to keep (the background check watches it).
    pub log_length: LogLength,
}

pub fn open(config: &Config, reporter: &Reporter, now_ms: i64) -> Result<OpenedStore> {
    let path = config.storage_path.as_deref().ok_or_else(|| Error::invalid("config has no storage path"))?;
    prepare_file(path, config.allow_world_writable_directory)?;
    let (mut writer, checked) = match open_checked(path, config) {
        Ok(opened) => opened,
        Err(Opening::Failed(e)) => return Err(e),
        Err(Opening::Corrupt(why)) => {
            salvage::replace(path, now_ms, &why, |fresh| {
                prepare_file(fresh, true)?; // the directory was checked above
                match open_checked(fresh, config) {
                    Ok((conn, _)) => Ok(conn),
                    Err(Opening::Failed(e)) => Err(e),
                    Err(Opening::Corrupt(why)) => Err(Error::storage(format!("it is damaged too: {why}"))),
                }
            })?;
            let _ = fs::remove_file(check::marker_path(path));
            match open_checked(path, config) {
                Ok((conn, _)) => (conn, Checked::Sound),
                Err(Opening::Failed(e)) => return Err(e),
                Err(Opening::Corrupt(why)) => {
                    return Err(Error::storage(format!(
                        "a fresh store at {} is damaged: {why}",
                        path.display()
                    )))
                }
            }
        }
    };
    // Salvage from a damaged store this one replaced: just now, or at an
    // earlier open that could not read the damaged file.
    let salvage = salvage::resume(&mut writer, path)?;
    if let Some(report) = &salvage {
        reporter.log(LogLevel::Warn, salvage_message(path, report));
    }
    // The running totals are derived state: checked before they are trusted.
    let exact = checked == Checked::Sound;
    if let Some(why) =
        queue::check_at_open(&writer, exact).map_err(|e| classify(e, "checking the queue totals"))?
    {
        reporter.log(LogLevel::Warn, format!("the store's queue totals were damaged ({why}); recounted"));
    }
    // Rows in flight belong to the sender; only the sender may take them back.
    let sender = SenderLock::try_acquire(path)?;
    let recovered_in_flight = match sender {
        Some(_) => queue::recover(&writer).map_err(|e| classify(e, "recovering hits left in flight"))?,
        None => 0,
    };
    renumber_non_positive_ids(&writer, reporter)?;
    sequence_past_every_id(&writer)?;
    let visitor_id = visitor_id(&writer, reporter)?;
    let remote_config = cached_remote_config(&writer, reporter)?;
    let kept = kept_analytics(&writer, reporter)?;
    forget_unused_contexts(&writer)?;
    let (store_id, replaced) = super::store_id::load(&writer)?;
    if replaced {
        reporter.log(LogLevel::Warn, "the store id was damaged; a new one was made (sequence numbers go on)");
    }
    if recovered_in_flight > 0 {
        reporter.log(
            LogLevel::Info,
            format!("{recovered_in_flight} hit(s) left in flight by an earlier process will be sent again"),
        );
    }
    if let Some(pages) = config.store_page_limit {
        writer
            .pragma_update(None, "max_page_count", pages)
            .map_err(|e| classify(e, "limiting the store size"))?;
    }
    let reader = open_reader(path, config)?;
    let log_length = LogLength::default();
    let background_check = match checked {
        Checked::Deferred => BackgroundCheck::start(
            path,
            reporter.clone(),
            Duration::from_millis(config.busy_timeout_ms.into()),
            log_length.clone(),
        ),
        Checked::Sound => None,
    };
    Ok(OpenedStore {
        writer,
        reader,
        recovered_in_flight,
        sender,
        visitor_id,
        store_id,
        remote_config,
        kept,
        salvage,
        background_check,
        log_length,
    })
}

/// The WARN after salvage: what was saved and lost, or why nothing was read yet.
fn salvage_message(path: &Path, r: &SalvageReport) -> String {
    let head = format!(
        "store {} was damaged ({}); moved aside to {}",
        path.display(),
        r.reason,
        r.moved_to.display()
    );
    if let Some(why) = &r.retry {
        return format!(
            "{head}; its rows could not be read now ({why}): salvage will be retried at the next open"
        );
    }
    let lost = if r.lost_is_exact {
        r.lost.to_string()
    } else if r.salvaged == 0 && r.lost == 0 {
        "an unknown number (nothing in the damaged file could be read or counted)".to_owned()
    } else {
        format!("about {} (the damaged file could not be counted)", r.lost)
    };
    format!("{head}; salvaged {} hit(s), lost {lost}", r.salvaged)
}

/// Rows whose id is not positive (set through SQL: the library never writes
/// one) are numbered after the newest row, so they are leased and sent like
/// the others instead of waiting below every lease. A cheap range read on the
/// primary key when there are none.
fn renumber_non_positive_ids(conn: &Connection, reporter: &Reporter) -> Result<()> {
    let fail = |e| classify(e, "renumbering rows with ids that are not positive");
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM hits WHERE id <= 0 ORDER BY id")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(fail)?;
    if ids.is_empty() {
        return Ok(());
    }
    let tx =
        rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate).map_err(fail)?;
    for id in &ids {
        tx.execute("UPDATE hits SET id = (SELECT max(id) FROM hits) + 1 WHERE id = ?1", [id])
            .map_err(fail)?;
    }
    queue::recount(&tx).map_err(fail)?;
    tx.commit().map_err(fail)?;
    reporter.log(
        LogLevel::Warn,
        format!(
            "{} hit(s) had ids that were not positive (a damaged store); they were renumbered",
            ids.len()
        ),
    );
    Ok(())
}

/// New ids come from SQLite's sequence for `hits` (AUTOINCREMENT: the largest
/// id ever handed out). A row moved past it by an UPDATE of its id (a hand
/// edit, or `renumber_non_positive_ids`) leaves it behind: once that row is
/// gone, the next hit would reuse an id at or under the queue totals'
/// `counted_to` and go uncounted (fuzz finding F8). Raised to the newest id.
fn sequence_past_every_id(conn: &Connection) -> Result<()> {
    let fail = |e| classify(e, "keeping new ids past every stored one");
    let newest = "coalesce((SELECT max(id) FROM hits), 0)";
    // Read first: an open that finds it right (every open but a damaged
    // store's) takes no write lock for it.
    let behind: bool = conn
        .query_row(
            &format!(
                "SELECT {newest} > 0 AND coalesce((SELECT typeof(seq) <> 'integer' OR seq < {newest}
                                                   FROM sqlite_sequence WHERE name = 'hits'), 1)"
            ),
            [],
            |r| r.get(0),
        )
        .map_err(fail)?;
    if !behind {
        return Ok(());
    }
    conn.execute_batch(&format!(
        "UPDATE sqlite_sequence SET seq = {newest}
          WHERE name = 'hits' AND (typeof(seq) <> 'integer' OR seq < {newest});
         INSERT INTO sqlite_sequence (name, seq) SELECT 'hits', {newest}
          WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'hits') AND {newest} > 0;"
    ))
    .map_err(fail)
}

/// The store's visitor id (sent as `anonymousId`), created on first open. A
/// stored value that is not a valid visitor id (a blob, text that is not UTF-8,
/// empty, too long, control characters) is damage: a new id replaces it, with a
/// WARN.
fn visitor_id(conn: &Connection, reporter: &Reporter) -> Result<String> {
    let fail = |e| classify(e, "reading the visitor id");
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('visitor_id', ?1)", [new_message_id()])
        .map_err(fail)?;
    if let Ok(id) = stored_visitor_id(conn)? {
        return Ok(id);
    }
    let (id, why) = replace_damaged_visitor_id(conn)?;
    if let Some(why) = why {
        reporter.log(
            LogLevel::Warn,
            format!("the stored visitor id was damaged ({why}); a new visitor id is used from now on"),
        );
    }
    Ok(id)
}

/// The stored visitor id, or why it is not one.
fn stored_visitor_id(conn: &Connection) -> Result<std::result::Result<String, String>> {
    let fail = |e| classify(e, "reading the visitor id");
    Ok(match meta_text(conn, "visitor_id").map_err(fail)? {
        Some(Ok(id)) => validate_visitor_id(&id).map(|()| id).map_err(|e| e.message),
        Some(Err(what)) => Err(format!("it is {what}")),
        None => Err("it is missing".to_owned()),
    })
}

/// Replaces a damaged visitor id in a write transaction that looks again:
/// another process opening the store at the same moment may have replaced it
/// already, and both must end with the same id. Returns the id, and why the
/// old one was replaced when this call replaced it.
fn replace_damaged_visitor_id(conn: &Connection) -> Result<(String, Option<String>)> {
    let fail = |e| classify(e, "replacing the visitor id");
    let tx =
        rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate).map_err(fail)?;
    let done = match stored_visitor_id(&tx)? {
        Ok(id) => (id, None),
        Err(why) => {
            let id = new_message_id();
            tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('visitor_id', ?1)", [&id])
                .map_err(fail)?;
            (id, Some(why))
        }
    };
    tx.commit().map_err(fail)?;
    Ok(done)
}

/// The remote configuration document kept by the last successful fetch. A
/// document or ETag that is not UTF-8 text is damage: the cached configuration
/// is dropped (the next fetch brings a new one), with a WARN.
fn cached_remote_config(conn: &Connection, reporter: &Reporter) -> Result<Option<(String, Option<String>)>> {
    let fail = |e| classify(e, "reading the cached remote config");
    let doc = meta_text(conn, remote::META_DOCUMENT).map_err(fail)?;
    let etag = meta_text(conn, remote::META_ETAG).map_err(fail)?;
    let why = match (doc, etag) {
        (None, _) => return Ok(None),
        (Some(Ok(doc)), None) => return Ok(Some((doc, None))),
        (Some(Ok(doc)), Some(Ok(etag))) => return Ok(Some((doc, Some(etag)))),
        (Some(Err(what)), _) => format!("the document is {what}"),
        (_, Some(Err(what))) => format!("its ETag is {what}"),
    };
    for key in [remote::META_DOCUMENT, remote::META_ETAG, remote::META_FETCHED_MS, remote::META_SCHEMA] {
        conn.execute("DELETE FROM meta WHERE key = ?1", [key]).map_err(fail)?;
    }
    reporter.log(
        LogLevel::Warn,
        format!("the cached remote config was damaged ({why}); it was dropped, built-in settings apply"),
    );
    Ok(None)
}

/// The analytics state kept in `meta`. A value that is not text (damage) is
/// dropped with a WARN; `Profile::restore` and the others check the text.
fn kept_analytics(conn: &Connection, reporter: &Reporter) -> Result<Kept> {
    let fail = |e| classify(e, "reading the kept analytics state");
    let mut values = Vec::with_capacity(Kept::KEYS.len());
    for key in Kept::KEYS {
        values.push(match meta_text(conn, key).map_err(fail)? {
            Some(Ok(v)) => Some(v),
            Some(Err(what)) => {
                reporter.log(LogLevel::Warn, format!("the kept {key} was {what}; it was dropped"));
                None
            }
            None => None,
        });
    }
    let mut v = values.into_iter();
    let mut next = || v.next().flatten();
    Ok(Kept { user_id: next(), traits: next(), super_properties: next(), consent: next(), session: next() })
}

/// Contexts no hit refers to any more, once there are enough of them to matter
/// (a context changes rarely; the check is a scan of the hits).
fn forget_unused_contexts(conn: &Connection) -> Result<()> {
    const KEEP_UNCHECKED: i64 = 16;
    let fail = |e| classify(e, "forgetting unused event contexts");
    let n: i64 = conn.query_row("SELECT count(*) FROM contexts", [], |r| r.get(0)).map_err(fail)?;
    if n > KEEP_UNCHECKED {
        conn.execute(
            "DELETE FROM contexts WHERE id NOT IN \
             (SELECT DISTINCT context_id FROM hits WHERE context_id IS NOT NULL)",
            [],
        )
        .map_err(fail)?;
    }
    Ok(())
}

/// A `meta` value: `Ok` when it is UTF-8 text, else `Err` saying what it is.
fn meta_text(conn: &Connection, key: &str) -> rusqlite::Result<Option<std::result::Result<String, String>>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| {
        Ok(match r.get_ref(0)? {
            ValueRef::Text(t) => {
                String::from_utf8(t.to_vec()).map_err(|_| "text that is not UTF-8".to_owned())
            }
            ValueRef::Blob(_) => Err("a blob".to_owned()),
            ValueRef::Null => Err("NULL".to_owned()),
            ValueRef::Integer(i) => Ok(i.to_string()),
            ValueRef::Real(f) => Ok(f.to_string()),
        })
    })
    .optional()
}

/// Creates the parent directory (0700) and an empty file (0600) when missing, so
/// SQLite's -wal and -shm files inherit the restrictive mode. A parent directory
/// anyone may write to (e.g. /tmp) is refused unless `allow_world_writable`:
/// another user could read the store or plant one. (Windows: privacy by
/// location and inherited ACLs, see `platform`.)
fn prepare_file(path: &Path, allow_world_writable: bool) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.exists() {
        platform::create_private_dir(dir)
            .map_err(|e| Error::storage(format!("cannot create directory {}: {e}", dir.display())))?;
    }
    if let Some(mode) = platform::world_writable(dir).filter(|_| !allow_world_writable) {
        return Err(Error::invalid(format!(
            "the store's directory {} is world-writable (mode {mode:o}): use the app's private directory, \
             or allow it with at_config_set_allow_world_writable_directory",
            dir.display(),
        )));
    }
    match platform::private_file_options().write(true).create_new(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::storage(format!("cannot create store {}: {e}", path.display()))),
    }
}

enum Opening {
    Corrupt(String),
    Failed(Error),
}

/// Whether the full integrity check still has to run (in the background).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Checked {
    Sound,
    Deferred,
}

fn open_checked(path: &Path, config: &Config) -> std::result::Result<(Connection, Checked), Opening> {
    let fail = |e: rusqlite::Error, doing: &str| {
        if is_corruption(&e) {
            Opening::Corrupt(e.to_string())
        } else {
            Opening::Failed(classify(e, &format!("{doing} {}", path.display())))
        }
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| fail(e, "opening"))?;
    conn.busy_timeout(Duration::from_millis(config.busy_timeout_ms.into()))
        .map_err(|e| fail(e, "configuring"))?;
    // Switching a new store to WAL takes an exclusive lock, and SQLite answers
    // "busy" at once rather than calling the busy handler: wait here instead.
    let busy = Duration::from_millis(config.busy_timeout_ms.into());
    let mode: String = retry_busy(busy, || conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)))
        .map_err(|e| fail(e, "enabling WAL on"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Opening::Failed(Error::storage(format!(
            "{} cannot use WAL mode (got '{mode}')",
            path.display()
        ))));
    }
    let sync = match config.synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync).map_err(|e| fail(e, "configuring"))?;
    let checked = match check::at_open(&conn, path).map_err(|e| fail(e, "checking"))? {
        AtOpen::Damaged(why) => return Err(Opening::Corrupt(why)),
        AtOpen::Sound => Checked::Sound,
        AtOpen::Deferred => Checked::Deferred,
    };
    schema::migrate(&mut conn).map_err(Opening::Failed)?;
    Ok((conn, checked))
}

/// Runs `f` again while it fails with "busy" or "locked", for up to `timeout`.
fn retry_busy<T>(timeout: Duration, mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match f() {
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                ) && Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Opens the store at the configured path again, creating the file and its
/// directory when missing (the writer's `Reopen`, for a file deleted under it).
pub(crate) fn reopener(config: &Config) -> Option<crate::store::writer::Reopen> {
    let path = config.storage_path.clone()?;
    let config = config.clone();
    Some(std::sync::Arc::new(move || {
        prepare_file(&path, config.allow_world_writable_directory)?;
        match open_checked(&path, &config) {
            Ok((conn, _)) => Ok(conn),
            Err(Opening::Failed(e)) => Err(e),
            Err(Opening::Corrupt(why)) => {
                Err(Error::storage(format!("the file now at {} is damaged: {why}", path.display())))
            }
        }
    }))
}

pub(crate) fn open_reader(path: &Path, config: &Config) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| classify(e, &format!("opening a reader on {}", path.display())))?;
    conn.busy_timeout(Duration::from_millis(config.busy_timeout_ms.into()))
        .map_err(|e| classify(e, "configuring the reader"))?;
    Ok(conn)
}

/// `<path><suffix>`, e.g. the -wal file beside a database.
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two processes open a store whose visitor id is damaged at the same
    /// moment: both saw the damage; the second to replace it finds the
    /// first's id and keeps it.
    #[test]
    fn a_damaged_visitor_id_replaced_by_another_opener_meanwhile_is_kept() {
        let o = crate::store::TwoOpeners::new(
            "visitor",
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
             INSERT INTO meta VALUES ('visitor_id', X'00FF');",
        );
        let (a, b) = (&o.a, &o.b);
        assert!(stored_visitor_id(a).unwrap().is_err() && stored_visitor_id(b).unwrap().is_err());
        let (first, why) = replace_damaged_visitor_id(a).unwrap();
        assert!(why.is_some_and(|w| w.contains("blob")));
        assert_eq!(replace_damaged_visitor_id(b).unwrap(), (first.clone(), None), "b keeps a's id");
        assert_eq!(stored_visitor_id(b).unwrap(), Ok(first));
    }
}
