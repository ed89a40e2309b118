-- OpenTrail schema, version 8 (PostgreSQL): CloudWatch metrics at one-second resolution (store/metrics.py).
-- metric_keys: one row per metric (its name and dimensions), with the newest second it has data for,
-- so ListMetrics and RecentlyActive read one small table. metric_samples: one row per metric and
-- second, merged on put (count and sum add, min/max, the values themselves up to a bound).
-- dimensions: the metric's dimensions, sorted by name, as a JSON array of [name, value] pairs.
CREATE TABLE metric_keys (
    account     text NOT NULL,
    region      text NOT NULL,
    namespace   text NOT NULL,
    name        text NOT NULL,
    dimensions  text NOT NULL,
    last_second bigint NOT NULL,
    PRIMARY KEY (account, region, namespace, name, dimensions)
);
CREATE INDEX metric_keys_last ON metric_keys (last_second);

CREATE TABLE metric_samples (
    account    text NOT NULL,
    region     text NOT NULL,
    namespace  text NOT NULL,
    name       text NOT NULL,
    dimensions text NOT NULL,
    second     bigint NOT NULL,
    count      double precision NOT NULL,
    total      double precision NOT NULL,
    minimum    double precision NOT NULL,
    maximum    double precision NOT NULL,
    unit       text NOT NULL,
    nvalues    bigint NOT NULL,
    vals       text NOT NULL,  -- the kept values, comma-separated ('' when none)
    PRIMARY KEY (account, region, namespace, name, dimensions, second)
);
CREATE INDEX metric_samples_second ON metric_samples (second);
