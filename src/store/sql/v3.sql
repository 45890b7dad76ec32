-- Schema version 3: who tracked each hit and when, beyond the wall clock.
-- NULL in rows stored before it (they are sent with the current visitor id).
ALTER TABLE hits ADD COLUMN visitor_id TEXT;        -- the visitor id current when tracked
ALTER TABLE hits ADD COLUMN session_id TEXT;        -- UUID of the tracker start (session)
ALTER TABLE hits ADD COLUMN session_ms INTEGER;     -- monotonic ms since that session began
