-- OpenTrail schema, version 7 (PostgreSQL): CloudWatch Logs' log groups, their streams and events, and
-- metric filters' definitions (store/logs/). Log events are numbered by one global sequence
-- (log_event_state.high): every append locks its one row before numbering, so numbers are given out
-- in commit order and a reader of seq > cursor never misses a later commit (DESIGN.md rule 3).
-- Messages are kept as UTF-8 bytes: text cannot hold NUL, which a log line may.
CREATE TABLE log_groups (
    id             bigserial PRIMARY KEY,
    account        text NOT NULL,
    region         text NOT NULL,
    name           text NOT NULL,
    created        bigint NOT NULL,
    retention_days integer,
    kms_key_id     text,
    group_class    text NOT NULL,
    tags           text NOT NULL,
    UNIQUE (account, region, name)
);

CREATE TABLE log_streams (
    id             bigserial PRIMARY KEY,
    group_id       bigint NOT NULL REFERENCES log_groups (id) ON DELETE CASCADE,
    name           text NOT NULL,
    created        bigint NOT NULL,
    first_event    bigint,
    last_event     bigint,
    last_ingestion bigint,
    last_seq       bigint,
    stored_bytes   bigint NOT NULL DEFAULT 0,
    UNIQUE (group_id, name)
);

CREATE TABLE log_events (
    seq       bigint PRIMARY KEY,
    group_id  bigint NOT NULL,
    stream_id bigint NOT NULL REFERENCES log_streams (id) ON DELETE CASCADE,
    time      bigint NOT NULL,
    ingested  bigint NOT NULL,
    size      integer NOT NULL,
    message   bytea NOT NULL,
    source_id text
);
CREATE INDEX log_events_group_time ON log_events (group_id, time, seq);
CREATE INDEX log_events_stream_time ON log_events (stream_id, time, seq);
CREATE UNIQUE INDEX log_events_source ON log_events (stream_id, source_id) WHERE source_id IS NOT NULL;

CREATE TABLE log_event_state (
    id   integer PRIMARY KEY CHECK (id = 1),
    high bigint NOT NULL
);
INSERT INTO log_event_state (id, high) VALUES (1, 0);

CREATE TABLE metric_filters (
    group_id        bigint NOT NULL REFERENCES log_groups (id) ON DELETE CASCADE,
    name            text NOT NULL,
    pattern         text NOT NULL,
    transformations text NOT NULL,
    created         bigint NOT NULL,
    PRIMARY KEY (group_id, name)
);
