-- Schema version 2: the queue's running state in one row, so counting is not a
-- scan and taking a batch rewrites no hit.
CREATE TABLE queue (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    -- hits and bytes count the rows with id <= counted_to; rows above it (at
    -- most a few hundred: inserts rewrite this row only now and then, deletes
    -- always) are counted when read.
    hits         INTEGER NOT NULL,  -- rows
    bytes        INTEGER NOT NULL,  -- their size, as counted against max_store_bytes
    counted_to   INTEGER NOT NULL,
    -- Rows leased to the store's sender lie in [leased_first, leased_last]; NULL
    -- when none. The sender holds the exact set in memory. A sender that dies
    -- leaves the span behind; the next sender clears it (crash recovery).
    leased_first INTEGER,
    leased_last  INTEGER
);

-- The library keeps the row true in the same transactions that change hits.
-- After editing hits by hand, delete the row: the next open recounts.
INSERT INTO queue (id, counted_to, hits, bytes)
SELECT 1, coalesce(max(id), 0), count(*),
       coalesce(sum(64 + octet_length(type) + coalesce(octet_length(url), 0) + coalesce(octet_length(body), 0)), 0)
FROM hits;
