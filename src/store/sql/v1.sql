-- Schema version 1. Part of the public contract (see README "Store schema"):
-- a change here is a new migration file, never an edit.
CREATE TABLE hits (
    id              INTEGER PRIMARY KEY AUTOINCREMENT, -- store order, never reused
    message_id      TEXT    NOT NULL,                  -- UUID v4, the collector's dedup key
    kind            INTEGER NOT NULL,                  -- 0 = event, 1 = URL hit
    type            TEXT    NOT NULL,                  -- event name or hit type
    url             TEXT,                              -- URL hits only
    body            TEXT,                              -- events only: JSON properties as given
    created_ms      INTEGER NOT NULL,                  -- Unix ms at creation
    retry_count     INTEGER NOT NULL DEFAULT 0,        -- failed attempts that reached the server
    is_offline      INTEGER NOT NULL DEFAULT 0,        -- 1 when stored because it could not be sent
    state           INTEGER NOT NULL DEFAULT 0,        -- 0 = pending, 1 = in flight (leased)
    next_attempt_ms INTEGER NOT NULL DEFAULT 0         -- earliest Unix ms of the next send
);

-- Small by construction (only leased rows), so crash recovery at open is not a scan.
CREATE INDEX hits_in_flight ON hits (id) WHERE state = 1;

-- Tracker state that is not a hit: visitor id, cached remote config, ...
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
