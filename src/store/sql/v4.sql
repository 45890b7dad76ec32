-- Schema version 4: the analytics client (identify, screen, group, alias,
-- context, sessions, sampling). NULL in rows stored before it.
ALTER TABLE hits ADD COLUMN call INTEGER;          -- NULL/0 track, 1 screen, 2 identify, 3 group, 4 alias
ALTER TABLE hits ADD COLUMN user_id TEXT;          -- the user id current when tracked
ALTER TABLE hits ADD COLUMN context_id INTEGER;    -- the contexts row current when tracked
ALTER TABLE hits ADD COLUMN sample_rate REAL;      -- the remote rule's rate when the event was sampled

-- The event context (app, device, os, ...) as a snapshot shared by every hit
-- tracked while it was current: one row per distinct context, not one copy
-- per hit. Rows no hit refers to are deleted when a tracker opens the store.
CREATE TABLE contexts (
    id   INTEGER PRIMARY KEY,
    json TEXT NOT NULL                              -- a JSON object
);
