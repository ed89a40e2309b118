-- OpenTrail schema, version 6 (SQLite): CloudWatch Logs' log groups, their streams and events, and
-- metric filters' definitions (store/logs/). Log events are numbered by one global sequence
-- (log_event_state.high, moved by every append), so consumers read them forward from a cursor.
-- Messages are kept as UTF-8 bytes: PostgreSQL's text cannot hold NUL, which a log line may.
CREATE TABLE log_groups (
    id             INTEGER PRIMARY KEY,
    account        TEXT NOT NULL,
    region         TEXT NOT NULL,
    name           TEXT NOT NULL,
    created        INTEGER NOT NULL,
    retention_days INTEGER,
    kms_key_id     TEXT,
    group_class    TEXT NOT NULL,
    tags           TEXT NOT NULL,
    UNIQUE (account, region, name)
);

CREATE TABLE log_streams (
    id             INTEGER PRIMARY KEY,
    group_id       INTEGER NOT NULL REFERENCES log_groups (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    created        INTEGER NOT NULL,
    first_event    INTEGER,
    last_event     INTEGER,
    last_ingestion INTEGER,
    last_seq       INTEGER,
    stored_bytes   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (group_id, name)
);

CREATE TABLE log_events (
    seq       INTEGER PRIMARY KEY,
    group_id  INTEGER NOT NULL,
    stream_id INTEGER NOT NULL REFERENCES log_streams (id) ON DELETE CASCADE,
    time      INTEGER NOT NULL,
    ingested  INTEGER NOT NULL,
    size      INTEGER NOT NULL,
    message   BLOB NOT NULL,
    source_id TEXT
);
CREATE INDEX log_events_group_time ON log_events (group_id, time, seq);
CREATE INDEX log_events_stream_time ON log_events (stream_id, time, seq);
CREATE UNIQUE INDEX log_events_source ON log_events (stream_id, source_id) WHERE source_id IS NOT NULL;

CREATE TABLE log_event_state (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    high INTEGER NOT NULL
);
INSERT INTO log_event_state (id, high) VALUES (1, 0);

CREATE TABLE metric_filters (
    group_id        INTEGER NOT NULL REFERENCES log_groups (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    pattern         TEXT NOT NULL,
    transformations TEXT NOT NULL,
    created         INTEGER NOT NULL,
    PRIMARY KEY (group_id, name)
);
