-- OpenTrail schema, version 4 (PostgreSQL): fewer index entries per appended event.
--
-- Appends are bounded by PostgreSQL's CPU in the acknowledged transaction (ADR 0007): one group's
-- statement spent most of its time inserting index entries, about ten per event (the log's key and six
-- lookup indexes, two on event_keys, one per resource attribute). This version drops the entries that
-- serve nothing or little:
-- * Lookup indexes hold only what LookupEvents can ask for: management and Insights events (kind 0
--   and 2). Data and network activity events, usually the bulk of a busy trail, enter none of them.
-- * ReadOnly "true" is most events (CloudTrail's own mix: ~85% reads), so it is served by events_time
--   with a filter; only writes (read_only = 0), the sparse answer, keep an index of their own.
-- * event_keys_day served only retention, which now deletes a dropped day's keys through the day's own
--   rows (postgres_events.drop_day), once a day instead of one index entry per event.
-- * An attribute index holds only events that have the attribute (service events carry no username
--   or access key): a lookup asks for a value, and `col = $1` proves `col IS NOT NULL`.
-- Lookups name kind and read_only as literals, so the planner can prove these predicates.

DROP INDEX event_keys_day;
DROP INDEX events_time, events_name, events_source, events_user, events_key, events_ro;
CREATE INDEX events_time ON events (stream, kind, time, seq) WHERE kind IN (0, 2);
CREATE INDEX events_name ON events (stream, kind, event_name, time, seq)
    WHERE kind IN (0, 2) AND event_name IS NOT NULL;
CREATE INDEX events_source ON events (stream, kind, event_source, time, seq)
    WHERE kind IN (0, 2) AND event_source IS NOT NULL;
CREATE INDEX events_user ON events (stream, kind, username, time, seq)
    WHERE kind IN (0, 2) AND username IS NOT NULL;
CREATE INDEX events_key ON events (stream, kind, access_key, time, seq)
    WHERE kind IN (0, 2) AND access_key IS NOT NULL;
CREATE INDEX events_writes ON events (stream, kind, time, seq) WHERE kind IN (0, 2) AND read_only = 0;
