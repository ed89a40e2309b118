-- OpenTrail schema, version 1 (SQLite).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    account_id TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created    REAL NOT NULL
);

CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    secret        TEXT NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts (account_id),
    user_name     TEXT NOT NULL,
    arn           TEXT NOT NULL,
    principal_id  TEXT NOT NULL,
    is_root       INTEGER NOT NULL,
    created       REAL NOT NULL
);

CREATE TABLE grants (
    grantee TEXT NOT NULL,
    target  TEXT NOT NULL,
    PRIMARY KEY (grantee, target)
);

CREATE TABLE buckets (
    name    TEXT PRIMARY KEY,
    account TEXT NOT NULL
);

CREATE TABLE docs (
    kind    TEXT NOT NULL,
    account TEXT NOT NULL,
    region  TEXT NOT NULL,
    name    TEXT NOT NULL,
    arn     TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (kind, account, arn)
);
CREATE UNIQUE INDEX docs_name ON docs (kind, account, region, name);

-- One stream per (account, region): history is searched per stream, so index keys start with its
-- small integer id instead of two strings.
CREATE TABLE streams (
    id      INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region  TEXT NOT NULL,
    UNIQUE (account, region)
);

-- The event log. seq is the rowid: time-ordered keys keep inserts sequential. AUTOINCREMENT so a
-- number is never issued twice, even after retention empties the table (consumers keep cursors).
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    stream       INTEGER NOT NULL,
    acct         INTEGER NOT NULL,
    kind         INTEGER NOT NULL,
    time         INTEGER NOT NULL,
    event_id     TEXT NOT NULL,
    event_name   TEXT,
    event_source TEXT,
    read_only    INTEGER,
    username     TEXT,
    access_key   TEXT,
    record       BLOB NOT NULL
);
CREATE UNIQUE INDEX events_id ON events (acct, event_id);
CREATE INDEX events_time ON events (stream, kind, time, seq);
CREATE INDEX events_name ON events (stream, kind, event_name, time, seq);
CREATE INDEX events_source ON events (stream, kind, event_source, time, seq);
CREATE INDEX events_user ON events (stream, kind, username, time, seq);
CREATE INDEX events_key ON events (stream, kind, access_key, time, seq);
CREATE INDEX events_ro ON events (stream, kind, read_only, time, seq);

-- Resource types (attr 1) and names (attr 2) of each event, one row per distinct value.
CREATE TABLE event_attrs (
    stream INTEGER NOT NULL,
    kind   INTEGER NOT NULL,
    attr   INTEGER NOT NULL,
    value  TEXT NOT NULL,
    time   INTEGER NOT NULL,
    seq    INTEGER NOT NULL
);
CREATE INDEX event_attrs_lookup ON event_attrs (stream, kind, attr, value, time, seq);

-- The first sequence number ingested on each UTC day: retention drops whole days below a mark
-- without an index on ingestion time.
CREATE TABLE day_marks (
    day       INTEGER PRIMARY KEY,
    first_seq INTEGER NOT NULL
);
