-- OpenTrail schema, version 6 (PostgreSQL): durable cursors of the consumers that turn one table into
-- another (a trail's events into its log group, log events into metric datapoints), moved with a
-- compare-and-set in the transaction that writes their output (store/tables.py).
CREATE TABLE cursors (
    name text PRIMARY KEY,
    seq  bigint NOT NULL
);
