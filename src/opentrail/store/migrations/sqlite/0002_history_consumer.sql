-- OpenTrail schema, version 2 (SQLite): event history becomes a consumer of the event log.
--
-- Version 1 kept seven indexes on `events`, one keyed by random eventIDs, all written by every
-- acknowledged ingest: each group commit of a few hundred rows dirtied pages across all of them, and
-- the writer thread was the bottleneck (bench.ingest). Now the acknowledged write touches only keys in
-- time or sequence order, and history lives in a file of its own (<name>.history.db), built from the
-- log behind a cursor by a second thread (store/sqlite_history.py; DESIGN.md: event history is a
-- consumer of the store). A new history file starts at cursor 0, so existing events are indexed again.

DROP INDEX events_id;
DROP INDEX events_time;
DROP INDEX events_name;
DROP INDEX events_source;
DROP INDEX events_user;
DROP INDEX events_key;
DROP INDEX events_ro;

-- A retry resends the same record, so its eventTime is part of its identity too: the dedupe key grows
-- at its right edge like the log itself.
CREATE UNIQUE INDEX events_dedupe ON events (acct, time, event_id);

-- The record's resources ([[type, ARN], ...] as JSON) for the history consumer; NULL when none.
-- Version 1 kept distinct types and names apart, so they come back as [type, null] and [null, name].
ALTER TABLE events ADD COLUMN resources BLOB;
UPDATE events SET resources = (
    SELECT json_group_array(json_array(
        CASE a.attr WHEN 1 THEN a.value END, CASE a.attr WHEN 2 THEN a.value END))
    FROM event_attrs a WHERE a.seq = events.seq
) WHERE seq IN (SELECT seq FROM event_attrs);
DROP TABLE event_attrs;
