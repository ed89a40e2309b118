-- OpenTrail schema, version 7 (SQLite): CloudWatch metrics at one-second resolution (store/metrics.py).
-- metric_keys: one row per metric (its name and dimensions), with the newest second it has data for,
-- so ListMetrics and RecentlyActive read one small table. metric_samples: one row per metric and
-- second, merged on put (count and sum add, min/max, the values themselves up to a bound).
-- dimensions: the metric's dimensions, sorted by name, as a JSON array of [name, value] pairs.
CREATE TABLE metric_keys (
    account     TEXT NOT NULL,
    region      TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    dimensions  TEXT NOT NULL,
    last_second INTEGER NOT NULL,
    PRIMARY KEY (account, region, namespace, name, dimensions)
);
CREATE INDEX metric_keys_last ON metric_keys (last_second);

CREATE TABLE metric_samples (
    account    TEXT NOT NULL,
    region     TEXT NOT NULL,
    namespace  TEXT NOT NULL,
    name       TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    second     INTEGER NOT NULL,
    count      REAL NOT NULL,
    total      REAL NOT NULL,
    minimum    REAL NOT NULL,
    maximum    REAL NOT NULL,
    unit       TEXT NOT NULL,
    nvalues    INTEGER NOT NULL,
    vals       TEXT NOT NULL,  -- the kept values, comma-separated ('' when none)
    PRIMARY KEY (account, region, namespace, name, dimensions, second)
);
CREATE INDEX metric_samples_second ON metric_samples (second);
