-- OpenTrail schema, version 2 (PostgreSQL): the event times and sequence numbers each ingestion day holds.
--
-- Lookups ask for events by event time, newest first, but the log is partitioned by ingestion day, so
-- every lookup planned a scan of every day's partition (a Merge Append): about 3 ms of planning with 31
-- partitions, more with 90. With the span of event times of each day, a lookup reads the days whose
-- span reaches furthest first and stops as soon as no other day can hold a newer event (live ingest:
-- usually after one day). Forward reads likewise name the days whose sequence range they cover.
-- Appends widen their day's spans in the same transaction, under the log's lock.

CREATE TABLE day_spans (
    day        integer PRIMARY KEY,
    first_time bigint NOT NULL,
    last_time  bigint NOT NULL,
    first_seq  bigint NOT NULL,
    last_seq   bigint NOT NULL
);

INSERT INTO day_spans (day, first_time, last_time, first_seq, last_seq)
SELECT day, min(time), max(time), min(seq), max(seq) FROM events GROUP BY day;
