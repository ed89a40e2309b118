-- OpenTrail schema, version 9 (PostgreSQL): metric alarms and their history (CloudWatch's
-- DescribeAlarms and DescribeAlarmHistory; store/alarms.py).
-- An alarm's configuration and state are one JSON body, changed only by a compare-and-set on
-- ``version``, in the same transaction as its history rows and the notices its transition queues.
-- ``lease_node``/``lease_until``: the node evaluating it, when several share one database.
CREATE TABLE alarms (
    account     text NOT NULL,
    region      text NOT NULL,
    name        text NOT NULL,
    body        text NOT NULL,
    version     bigint NOT NULL,
    lease_node  text,
    lease_until double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (account, region, name)
);

-- History outlives its alarm (CloudWatch keeps a deleted alarm's history), so it is not keyed to it.
CREATE TABLE alarm_history (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account    text NOT NULL,
    region     text NOT NULL,
    name       text NOT NULL,
    alarm_type text NOT NULL,
    item_type  text NOT NULL,
    at         double precision NOT NULL,
    summary    text NOT NULL,
    data       text NOT NULL
);
CREATE INDEX alarm_history_time ON alarm_history (account, region, at, id);
CREATE INDEX alarm_history_alarm ON alarm_history (account, region, name, at, id);
