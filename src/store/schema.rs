//! Schema versions and forward migrations, keyed by `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};
use crate::store::classify;

/// Migration `i` takes a store from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("sql/v1.sql"),
    include_str!("sql/v2.sql"),
    include_str!("sql/v3.sql"),
    include_str!("sql/v4.sql"),
];

/// The schema version this library writes.
pub(crate) const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the store to `SCHEMA_VERSION`. Every step runs in one exclusive
/// transaction that first reads the version again, so two processes creating or
/// migrating one store at the same moment take turns (within the busy timeout)
/// and the second finds the work done. A store written by a newer library is
/// left untouched and refused.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    if version(conn)? == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Exclusive)
        .map_err(|e| classify(e, "starting a migration"))?;
    let current = version(&tx)?;
    if current > SCHEMA_VERSION {
        return Err(Error::storage(format!(
            "the store has schema version {current}, newer than this library's {SCHEMA_VERSION}; \
             it was left untouched"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let next = version + 1;
        tx.execute_batch(sql)
            .and_then(|_| tx.pragma_update(None, "user_version", next as i64))
            .map_err(|e| classify(e, &format!("migrating the store to schema version {next}")))?;
    }
    tx.commit().map_err(|e| classify(e, "committing the migration"))
}

fn version(conn: &Connection) -> Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| classify(e, "reading the schema version"))
}
