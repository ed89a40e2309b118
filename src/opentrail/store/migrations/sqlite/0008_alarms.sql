-- OpenTrail schema, version 8 (SQLite): metric alarms and their history (CloudWatch's
-- DescribeAlarms and DescribeAlarmHistory; store/alarms.py).
-- An alarm's configuration and state are one JSON body, changed only by a compare-and-set on
-- ``version``, in the same transaction as its history rows and the notices its transition queues.
-- ``lease_node``/``lease_until``: the node evaluating it, when several share one database.
CREATE TABLE alarms (
    account     TEXT NOT NULL,
    region      TEXT NOT NULL,
    name        TEXT NOT NULL,
    body        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    lease_node  TEXT,
    lease_until REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (account, region, name)
);

-- History outlives its alarm (CloudWatch keeps a deleted alarm's history), so it is not keyed to it.
CREATE TABLE alarm_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account    TEXT NOT NULL,
    region     TEXT NOT NULL,
    name       TEXT NOT NULL,
    alarm_type TEXT NOT NULL,
    item_type  TEXT NOT NULL,
    at         REAL NOT NULL,
    summary    TEXT NOT NULL,
    data       TEXT NOT NULL
);
CREATE INDEX alarm_history_time ON alarm_history (account, region, at, id);
CREATE INDEX alarm_history_alarm ON alarm_history (account, region, name, at, id);
