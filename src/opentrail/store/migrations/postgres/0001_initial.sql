-- OpenTrail schema, version 1 (PostgreSQL).
--
-- The same data as the SQLite schema, laid out for PostgreSQL: the event log is partitioned by ingestion
-- day, so retention drops whole partitions; event history is served by indexes on the log itself
-- (written in the acknowledged transaction, so a lookup never lags ingest). Strings taken from records
-- (eventID, eventName, ...) are bytea: a record's JSON may carry U+0000, which a text column refuses.

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE accounts (
    account_id text PRIMARY KEY,
    name       text NOT NULL,
    created    double precision NOT NULL
);

CREATE TABLE access_keys (
    access_key_id text PRIMARY KEY,
    secret        text NOT NULL,
    account_id    text NOT NULL REFERENCES accounts (account_id),
    user_name     text NOT NULL,
    arn           text NOT NULL,
    principal_id  text NOT NULL,
    is_root       boolean NOT NULL,
    created       double precision NOT NULL
);

CREATE TABLE grants (
    grantee text NOT NULL,
    target  text NOT NULL,
    PRIMARY KEY (grantee, target)
);

CREATE TABLE buckets (
    name    text PRIMARY KEY,
    account text NOT NULL
);

CREATE TABLE docs (
    kind    text NOT NULL,
    account text NOT NULL,
    region  text NOT NULL,
    name    text NOT NULL,
    arn     text NOT NULL,
    body    bytea NOT NULL,
    PRIMARY KEY (kind, account, arn)
);
CREATE UNIQUE INDEX docs_name ON docs (kind, account, region, name);

-- One stream per (account, region): index keys start with its small integer id instead of two strings.
CREATE TABLE streams (
    id      integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account text NOT NULL,
    region  text NOT NULL,
    UNIQUE (account, region)
);

-- The last sequence number given out. Appends update it under the log's advisory lock, in the same
-- transaction as their rows, so numbers are given out in commit order and never reused (a purge
-- leaves it alone).
CREATE TABLE log_state (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    high bigint NOT NULL
);
INSERT INTO log_state (one, high) VALUES (true, 0);

-- The event log, one partition per ingestion day (``day`` = epoch seconds // 86400 at commit).
CREATE TABLE events (
    day          integer NOT NULL,
    seq          bigint NOT NULL,
    stream       integer NOT NULL,
    acct         bigint NOT NULL,
    kind         smallint NOT NULL,
    time         bigint NOT NULL,
    event_id     bytea NOT NULL,
    event_name   bytea,
    event_source bytea,
    read_only    smallint,
    username     bytea,
    access_key   bytea,
    record       bytea NOT NULL,
    resources    bytea,
    PRIMARY KEY (seq, day)
) PARTITION BY RANGE (day);
-- LookupEvents: newest first within (stream, kind), by at most one attribute.
CREATE INDEX events_time ON events (stream, kind, time, seq);
CREATE INDEX events_name ON events (stream, kind, event_name, time, seq);
CREATE INDEX events_source ON events (stream, kind, event_source, time, seq);
CREATE INDEX events_user ON events (stream, kind, username, time, seq);
CREATE INDEX events_key ON events (stream, kind, access_key, time, seq);
CREATE INDEX events_ro ON events (stream, kind, read_only, time, seq);

-- Resource types (attr 1) and names (attr 2) of each event, one row per distinct value.
CREATE TABLE event_attrs (
    day    integer NOT NULL,
    stream integer NOT NULL,
    kind   smallint NOT NULL,
    attr   smallint NOT NULL,
    value  bytea NOT NULL,
    time   bigint NOT NULL,
    seq    bigint NOT NULL
) PARTITION BY RANGE (day);
CREATE INDEX event_attrs_lookup ON event_attrs (stream, kind, attr, value, time, seq);

-- Each stored event's identity, across all days: a client's retry is recognised whenever it arrives
-- (a unique index on a partitioned table would hold within one day only). Also the eventID index for
-- GetEvent and EventId lookups; retention deletes a dropped day's keys by ``day``.
CREATE TABLE event_keys (
    acct     bigint NOT NULL,
    event_id bytea NOT NULL,
    time     bigint NOT NULL,
    day      integer NOT NULL,
    seq      bigint NOT NULL,
    PRIMARY KEY (acct, event_id, time)
);
CREATE INDEX event_keys_day ON event_keys (day);
