-- Schema version 2: running totals, so counting the queue is not a scan.
-- The library updates the row in the same transaction as every change to hits.
-- After editing hits by hand, delete the row: the next open recounts.
CREATE TABLE totals (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    hits  INTEGER NOT NULL,  -- rows in hits
    bytes INTEGER NOT NULL   -- their size, as counted against max_store_bytes
);

INSERT INTO totals (id, hits, bytes)
SELECT 1, count(*),
       coalesce(sum(64 + octet_length(type) + coalesce(octet_length(url), 0) + coalesce(octet_length(body), 0)), 0)
FROM hits;
