-- OpenTrail schema, version 5 (SQLite): durable cursors of the consumers that turn one table into
-- another (a trail's events into its log group, log events into metric datapoints), moved with a
-- compare-and-set in the transaction that writes their output (store/tables.py).
CREATE TABLE cursors (
    name TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL
);
