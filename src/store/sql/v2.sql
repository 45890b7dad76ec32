-- Schema version 2: the queue's running state in one row, so counting is not a
-- scan and taking a batch rewrites no hit.
CREATE TABLE queue (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    hits         INTEGER NOT NULL,  -- rows in hits
    bytes        INTEGER NOT NULL,  -- their size, as counted against max_store_bytes
    -- Rows leased to the store's sender lie in [leased_first, leased_last]; NULL
    -- when none. The sender holds the exact set in memory. A sender that dies
    -- leaves the span behind; the next sender clears it (crash recovery).
    leased_first INTEGER,
    leased_last  INTEGER
);

-- The library updates the row in the same transaction as every change to hits.
-- After editing hits by hand, delete the row: the next open recounts.
INSERT INTO queue (id, hits, bytes)
SELECT 1, count(*),
       coalesce(sum(64 + octet_length(type) + coalesce(octet_length(url), 0) + coalesce(octet_length(body), 0)), 0)
FROM hits;
