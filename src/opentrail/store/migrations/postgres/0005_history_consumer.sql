-- OpenTrail schema, version 5 (PostgreSQL): event history is a consumer of the log (ADR 0010).
--
-- The lookup indexes and resource attributes were written in the acknowledged transaction, more than
-- half of PostgreSQL's CPU per appended event, all of it on the one backend a group's transaction runs
-- on. History is now a table of its own (the lookup columns of management and Insights events, no
-- record), and it and event_attrs (now of those events only: LookupEvents asks for no other) are
-- filled behind a cursor by one indexer at a time, in passes on another connection, so another core
-- builds them while groups commit. Lookups read the cursor, history up to it and the log rows above it (postgres_events.lookup),
-- so they never see the lag; appends wait while history is far behind (postgres.MAX_LAG).

CREATE TABLE history (
    day          integer NOT NULL,
    stream       integer NOT NULL,
    kind         smallint NOT NULL,
    time         bigint NOT NULL,
    seq          bigint NOT NULL,
    event_name   bytea,
    event_source bytea,
    username     bytea,
    access_key   bytea,
    read_only    smallint
) PARTITION BY RANGE (day);
-- LookupEvents: newest first within (stream, kind), by at most one attribute. Attribute indexes hold
-- only events that have the attribute; ReadOnly "false" (the sparse answer) has its own index.
CREATE INDEX history_time ON history (stream, kind, time, seq);
CREATE INDEX history_name ON history (stream, kind, event_name, time, seq) WHERE event_name IS NOT NULL;
CREATE INDEX history_source ON history (stream, kind, event_source, time, seq) WHERE event_source IS NOT NULL;
CREATE INDEX history_user ON history (stream, kind, username, time, seq) WHERE username IS NOT NULL;
CREATE INDEX history_key ON history (stream, kind, access_key, time, seq) WHERE access_key IS NOT NULL;
CREATE INDEX history_writes ON history (stream, kind, time, seq) WHERE read_only = 0;

-- Every event numbered up to ``cursor`` that belongs in history is in it.
CREATE TABLE history_state (
    one    boolean PRIMARY KEY DEFAULT true CHECK (one),
    cursor bigint NOT NULL
);

DO $$
DECLARE
    d integer;
BEGIN
    FOR d IN
        SELECT substring(c.relname FROM '^events_d([0-9]+)$')::integer
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'events'::regclass
    LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF history FOR VALUES FROM (%s) TO (%s)',
                       'history_d' || d, d, d + 1);
    END LOOP;
END
$$;

INSERT INTO history (day, stream, kind, time, seq, event_name, event_source, username, access_key, read_only)
SELECT day, stream, kind, time, seq, event_name, event_source, username, access_key, read_only
FROM events WHERE kind IN (0, 2);
INSERT INTO history_state (one, cursor) SELECT true, high FROM log_state;

DELETE FROM event_attrs WHERE kind NOT IN (0, 2);
DROP INDEX events_time, events_name, events_source, events_user, events_key, events_writes;
