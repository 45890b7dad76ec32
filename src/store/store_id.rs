//! The store's id: a UUID made when the store is created and kept in `meta`.
//! With each hit's row id (never reused: `AUTOINCREMENT`), it names every event
//! a store ever sent (`context.attracker.store` and `.seq`), so a collector can
//! find gaps and duplicates per store.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::Result;
use crate::hit::new_message_id;
use crate::store::classify;

/// The `meta` key.
pub(crate) const KEY: &str = "store_id";

/// The store's id, made on first open. A damaged value (not text, not a
/// UUID) is replaced, and `replaced` says so: the sequence numbers continue,
/// under a new store id.
///
/// Two processes may open a new store at the same moment: the id is made with
/// an insert that keeps one already there and then read back, and a damaged
/// one is replaced inside a write transaction that reads it again, so every
/// opener ends with the id the store holds (before, the second opener's
/// `INSERT OR REPLACE` overwrote the first's, which went on sending under an
/// id the store no longer had).
pub fn load(conn: &Connection) -> Result<(String, bool)> {
    let fail = |e| classify(e, "reading the store id");
    match read(conn).map_err(fail)? {
        Some(Some(id)) => Ok((id, false)),
        None => create(conn),
        Some(None) => replace_damaged(conn),
    }
}

/// Makes the id of a store that had none, or takes the one another opener
/// stored since this one looked.
fn create(conn: &Connection) -> Result<(String, bool)> {
    let fail = |e| classify(e, "storing the store id");
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)", [KEY, &new_message_id()])
        .map_err(fail)?;
    match read(conn).map_err(fail)? {
        Some(Some(id)) => Ok((id, false)),
        _ => replace_damaged(conn),
    }
}

/// The stored id: `None` when there is none, `Some(None)` when it is damaged.
/// Read as raw bytes: a damaged value (a blob, a number, bytes that are not
/// UTF-8) is replaced, never an error.
fn read(conn: &Connection) -> rusqlite::Result<Option<Option<String>>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [KEY], |r| {
        Ok(match r.get_ref(0)? {
            ValueRef::Text(b) => std::str::from_utf8(b).ok().filter(|s| is_uuid(s)).map(str::to_owned),
            _ => None,
        })
    })
    .optional()
}

/// Replaces a damaged id, unless another opener did first.
fn replace_damaged(conn: &Connection) -> Result<(String, bool)> {
    let fail = |e| classify(e, "replacing the store id");
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(fail)?;
    let done = match read(&tx).map_err(fail)? {
        Some(Some(id)) => (id, false),
        _ => {
            let id = new_message_id();
            tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", [KEY, &id])
                .map_err(fail)?;
            (id, true)
        }
    };
    tx.commit().map_err(fail)?;
    Ok(done)
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

    /// Two openers of a new store at the same moment: the second reads no id
    /// before the first stores one, and ends with the first's.
    #[test]
    fn an_id_stored_by_another_opener_meanwhile_is_the_one_used() {
        let o = crate::store::TwoOpeners::new(
            "store-id",
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
        );
        let (a, b) = (&o.a, &o.b);
        assert_eq!(read(b).unwrap(), None, "b found no id");
        let (first, _) = load(a).unwrap();
        // b goes on from what it read: no id.
        assert_eq!(create(b).unwrap(), (first.clone(), false));
        assert_eq!(load(a).unwrap(), (first, false));
        // A damaged id another opener replaced meanwhile is kept, not replaced again.
        a.execute("UPDATE meta SET value = 'x' WHERE key = ?1", [KEY]).unwrap();
        let (fixed, replaced) = load(a).unwrap();
        assert!(replaced && is_uuid(&fixed));
        assert_eq!(replace_damaged(b).unwrap(), (fixed, false));
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
