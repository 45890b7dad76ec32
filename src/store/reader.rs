//! Inspection reads, on their own read-only connection: they never wait for the
//! writer's transactions (WAL readers see the last commit) nor for the network.

use parking_lot::{Mutex, MutexGuard};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

use crate::error::Result;
use std::sync::Arc;

use crate::hit::{Call, HitKind, Stamp, StoredHit};
use crate::store::classify;

pub(crate) const COLUMNS: &str =
    "id, message_id, kind, type, url, body, created_ms, retry_count, is_offline, \
     visitor_id, session_id, session_ms, call, user_id, sample_rate, context_id";

pub struct Reader {
    /// `None` while the store is suspended (between two reads).
    conn: Mutex<Option<Connection>>,
    batch_url: String,
    /// The writer's store generation, and how to open the store again when it
    /// moved to a recreated file (see `writer::vanish`).
    follow: Option<Follow>,
}

type Opener = Box<dyn Fn() -> Result<Connection> + Send + Sync>;

struct Follow {
    generation: Arc<AtomicU64>,
    /// The writer's suspension (`WriterHandle::suspended`): set, the
    /// connection is closed after each read.
    suspended: Arc<AtomicBool>,
    seen: AtomicU64,
    reopen: Opener,
}

/// Hits read, plus the ids of rows that could not be decoded (to be deleted and
/// reported by the caller).
#[derive(Debug, Default)]
pub struct Read {
    pub hits: Vec<StoredHit>,
    pub undecodable: Vec<u64>,
}

impl Reader {
    pub fn new(conn: Connection, batch_url: String) -> Self {
        Reader { conn: Mutex::new(Some(conn)), batch_url, follow: None }
    }

    /// Reopens the connection (with `reopen`) whenever `generation` changes,
    /// and keeps it closed between reads while `suspended` is set.
    pub fn following(
        mut self,
        generation: Arc<AtomicU64>,
        suspended: Arc<AtomicBool>,
        reopen: impl Fn() -> Result<Connection> + Send + Sync + 'static,
    ) -> Self {
        let seen = AtomicU64::new(generation.load(SeqCst));
        self.follow = Some(Follow { generation, suspended, seen, reopen: Box::new(reopen) });
        self
    }

    /// Closes the connection now (the store is being suspended); the next read
    /// opens it again. A reader that cannot reopen keeps it.
    pub fn suspend(&self) {
        if self.follow.is_some() {
            *self.conn.lock() = None;
        }
    }

    /// Closes the connection for good (the tracker is closing): the writer's
    /// connection, closed after it, is then the store's last, which checkpoints
    /// the log into the database and deletes the `-wal` file.
    pub fn close(&self) {
        *self.conn.lock() = None;
    }

    /// Runs `f` on the connection, on the writer's current store file; while
    /// the store is suspended, the connection is closed again afterwards.
    fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut slot: MutexGuard<'_, Option<Connection>> = self.conn.lock();
        if let Some(follow) = &self.follow {
            let now = follow.generation.load(SeqCst);
            if slot.is_none() || follow.seen.load(SeqCst) != now {
                *slot = None;
                *slot = Some((follow.reopen)()?);
                follow.seen.store(now, SeqCst);
            }
        }
        let result = match slot.as_ref() {
            Some(conn) => f(conn),
            None => Err(crate::error::Error::internal("the reader's connection is closed")),
        };
        if self.follow.as_ref().is_some_and(|follow| follow.suspended.load(SeqCst)) {
            *slot = None;
        }
        result
    }

    pub fn count(&self) -> Result<u64> {
        // The queue row plus the few rows above it: not a scan.
        self.with_conn(|conn| {
            crate::store::queue::count(conn).map_err(|e| classify(e, "counting stored hits"))
        })
    }

    /// Hits with `id > after_id`, oldest first, at most `limit` of them.
    pub fn page(&self, after_id: u64, limit: u32) -> Result<Read> {
        self.select(
            &format!("SELECT {COLUMNS} FROM hits WHERE id > ?1 ORDER BY id LIMIT ?2"),
            // Ids fit in i64; a cursor beyond them is past the end, not negative.
            params![after_id.min(i64::MAX as u64) as i64, limit],
        )
    }

    pub fn all(&self) -> Result<Read> {
        self.select(&format!("SELECT {COLUMNS} FROM hits ORDER BY id"), [])
    }

    pub fn oldest(&self) -> Result<Read> {
        self.select(&format!("SELECT {COLUMNS} FROM hits ORDER BY id LIMIT 1"), [])
    }

    pub fn latest(&self) -> Result<Read> {
        self.select(&format!("SELECT {COLUMNS} FROM hits ORDER BY id DESC LIMIT 1"), [])
    }

    fn select<P: rusqlite::Params>(&self, sql: &str, params: P) -> Result<Read> {
        let fail = |e| classify(e, "reading stored hits");
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(sql).map_err(fail)?;
            let mut rows = stmt.query(params).map_err(fail)?;
            let mut read = Read::default();
            let mut share = RowShare::default();
            while let Some(r) = rows.next().map_err(fail)? {
                let id = r.get::<_, i64>(0).map_err(fail)? as u64;
                match decode_row(conn, id, r, &self.batch_url, &mut share).map_err(fail)? {
                    Some(hit) => read.hits.push(hit),
                    None => read.undecodable.push(id),
                }
            }
            Ok(read)
        })
    }
}

/// What consecutive rows of one read share, read once: each context row's
/// text (checked once), and the last visitor, session and user id (one `Arc`
/// for the rows that carry the same one).
pub(crate) struct RowShare {
    /// An event's body must be one JSON object (else the row is damaged);
    /// false when the caller checks it itself (the drain's lease).
    pub(crate) check_bodies: bool,
    contexts: HashMap<i64, Option<Arc<str>>>,
    visitor: Option<Arc<str>>,
    session: Option<Arc<str>>,
    user: Option<Arc<str>>,
}

impl Default for RowShare {
    fn default() -> RowShare {
        RowShare { check_bodies: true, contexts: HashMap::new(), visitor: None, session: None, user: None }
    }
}

impl RowShare {
    /// The context text of `context_id`: `None` for no row (or not a number),
    /// and for a text that is not one JSON object (damage: the hit goes with
    /// the library's own context rather than break its batch).
    fn context(&mut self, conn: &Connection, context_id: ValueRef<'_>) -> rusqlite::Result<Option<Arc<str>>> {
        let ValueRef::Integer(id) = context_id else { return Ok(None) };
        if let Some(text) = self.contexts.get(&id) {
            return Ok(text.clone());
        }
        let json: Option<String> = conn
            .prepare_cached("SELECT json FROM contexts WHERE id = ?1")?
            .query_row([id], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten();
        let text: Option<Arc<str>> = json.filter(|c| crate::hit::is_json_object(c)).map(Arc::from);
        self.contexts.insert(id, text.clone());
        Ok(text)
    }
}

/// A text or NULL column as a shared string: the `Arc` in `last` when it holds
/// the same text, else a new one (kept in `last`). `None` for another type.
fn shared_text(last: &mut Option<Arc<str>>, value: ValueRef<'_>) -> Option<Option<Arc<str>>> {
    let text = match value {
        ValueRef::Null => return Some(None),
        ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok()?,
        _ => return None,
    };
    match last {
        Some(arc) if **arc == *text => Some(Some(Arc::clone(arc))),
        _ => {
            let arc: Arc<str> = Arc::from(text);
            *last = Some(Arc::clone(&arc));
            Some(Some(arc))
        }
    }
}

/// Decodes a row selected with `COLUMNS` on `conn`; `None` when it is damaged.
pub(crate) fn decode_row(
    conn: &Connection,
    id: u64,
    r: &rusqlite::Row<'_>,
    batch_url: &str,
    share: &mut RowShare,
) -> rusqlite::Result<Option<StoredHit>> {
    let context = share.context(conn, r.get_ref(15)?)?;
    Ok(decode_fields(id, r, batch_url, share, context))
}

fn decode_fields(
    id: u64,
    r: &rusqlite::Row<'_>,
    batch_url: &str,
    share: &mut RowShare,
    context: Option<Arc<str>>,
) -> Option<StoredHit> {
    // Row ids the library writes are positive; another id (set through SQL,
    // read as i64 and cast) would name no row and break the lease order.
    if id == 0 || id > i64::MAX as u64 {
        return None;
    }
    let kind = HitKind::from_code(r.get(2).ok()?)?;
    let url: Option<String> = r.get(4).ok()?;
    let body: Option<String> = r.get(5).ok()?;
    let url = match kind {
        HitKind::Url => url?,
        HitKind::Event => {
            // Spliced into the batch as it is: a body that is not a JSON
            // object (damage) would make the whole batch unreadable.
            let text = body.as_deref()?;
            if share.check_bodies && !crate::hit::is_json_object(text) {
                return None;
            }
            batch_url.to_owned()
        }
    };
    Some(StoredHit {
        id,
        message_id: r.get(1).ok()?,
        kind,
        hit_type: r.get(3).ok()?,
        url,
        body,
        created_ms: r.get(6).ok()?,
        retry_count: u32::try_from(r.get::<_, i64>(7).ok()?).ok()?,
        is_offline: r.get::<_, i64>(8).ok()? != 0,
        stamp: Stamp {
            visitor_id: shared_text(&mut share.visitor, r.get_ref(9).ok()?)?,
            session_id: shared_text(&mut share.session, r.get_ref(10).ok()?)?,
            session_ms: r.get(11).ok()?,
            call: Call::from_code(r.get(12).ok()?)?,
            user_id: shared_text(&mut share.user, r.get_ref(13).ok()?)?,
            context,
            sample_rate: r.get::<_, Option<f64>>(14).ok()?.filter(|r| (0.0..=1.0).contains(r)),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A migrated in-memory store with two context rows (one damaged) and
    /// rows pointing at each, at none, at a missing row and at a text id.
    fn store() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut c).unwrap();
        c.execute_batch(
            r#"INSERT INTO contexts (id, json) VALUES (1, '{"app":{"name":"a"}}'), (2, '{"app":');
               INSERT INTO hits (message_id, kind, type, body, created_ms, state, visitor_id, context_id)
               VALUES ('m1', 0, 'e', '{}', 1, 0, 'v1', 1), ('m2', 0, 'e', '{}', 2, 0, 'v1', 1),
                      ('m3', 0, 'e', '{}', 3, 0, 'v2', 2), ('m4', 0, 'e', '{}', 4, 0, 'v2', NULL),
                      ('m5', 0, 'e', '{}', 5, 0, 'v2', 9), ('m6', 0, 'e', '{}', 6, 0, NULL, 'one');"#,
        )
        .unwrap();
        c
    }

    #[test]
    fn rows_share_their_context_and_ids_and_damage_falls_back_to_no_context() {
        let reader = Reader::new(store(), "http://c/v1/batch".into());
        let read = reader.all().unwrap();
        assert!(read.undecodable.is_empty(), "a context problem never makes a row undecodable");
        let contexts: Vec<Option<&str>> = read.hits.iter().map(|h| h.stamp.context.as_deref()).collect();
        let good = Some(r#"{"app":{"name":"a"}}"#);
        assert_eq!(contexts, vec![good, good, None, None, None, None]);
        let (a, b) = (&read.hits[0].stamp, &read.hits[1].stamp);
        assert!(Arc::ptr_eq(a.context.as_ref().unwrap(), b.context.as_ref().unwrap()), "read once");
        assert!(Arc::ptr_eq(a.visitor_id.as_ref().unwrap(), b.visitor_id.as_ref().unwrap()));
        let visitors: Vec<Option<&str>> = read.hits.iter().map(|h| h.stamp.visitor_id.as_deref()).collect();
        assert_eq!(visitors, vec![Some("v1"), Some("v1"), Some("v2"), Some("v2"), Some("v2"), None]);
    }
}
