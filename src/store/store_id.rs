//! The store's id: a UUID made when the store is created and kept in `meta`.
//! With each hit's row id (never reused: `AUTOINCREMENT`), it names every event
//! a store ever sent (`context.attracker.store` and `.seq`), so a collector can
//! find gaps and duplicates per store.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};

use crate::error::Result;
use crate::hit::new_message_id;
use crate::store::classify;

/// The `meta` key.
pub(crate) const KEY: &str = "store_id";

/// The store's id, made on first open. A damaged value (not text, not a
/// UUID) is replaced, and `replaced` says so: the sequence numbers continue,
/// under a new store id.
pub fn load(conn: &Connection) -> Result<(String, bool)> {
    let fail = |e| classify(e, "reading the store id");
    // Read as raw bytes: a damaged value (a blob, a number, bytes that are not
    // UTF-8) is replaced, never an error.
    let current: Option<Option<String>> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [KEY], |r| {
            Ok(match r.get_ref(0)? {
                ValueRef::Text(b) => std::str::from_utf8(b).ok().filter(|s| is_uuid(s)).map(str::to_owned),
                _ => None,
            })
        })
        .optional()
        .map_err(fail)?;
    let (replaced, keep) = match current {
        Some(Some(id)) => return Ok((id, false)),
        Some(None) => (true, new_message_id()),
        None => (false, new_message_id()),
    };
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", [KEY, &keep]).map_err(fail)?;
    Ok((keep, replaced))
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
            .unwrap();
        c
    }

    #[test]
    fn made_once_then_kept() {
        let c = meta();
        let (a, replaced) = load(&c).unwrap();
        assert!(!replaced && is_uuid(&a));
        assert_eq!(load(&c).unwrap(), (a, false));
    }

    #[test]
    fn a_damaged_value_is_replaced_not_an_error() {
        for bad in ["x'00ff'", "42", "'not-a-uuid'", "cast(x'c3' as text)"] {
            let c = meta();
            c.execute(&format!("INSERT INTO meta VALUES ('store_id', {bad})"), []).unwrap();
            let (id, replaced) = load(&c).unwrap();
            assert!(replaced && is_uuid(&id), "{bad}");
        }
    }
}
