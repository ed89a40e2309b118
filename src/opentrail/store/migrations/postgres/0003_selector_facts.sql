-- OpenTrail schema, version 3 (PostgreSQL): the selector facts of data and network activity events.
--
-- Delivery's picker and ingest's coverage decided each data event by parsing the selector fields
-- (eventName, resources[], userIdentity.arn, ...) out of its ~1.2 KB record: most of what a trail with
-- advanced selectors cost per data event (bench.selectors). Ingest decodes those fields anyway, so it
-- keeps them here as a small msgpack array (events.SelectorFacts); NULL for management and Insights
-- events, whose other columns are all selectors read. Rows stored before this version stay NULL and
-- are read from their record as before: nothing to backfill. A nullable column without a default is
-- added to the partitioned log and every day partition without rewriting them.

ALTER TABLE events ADD COLUMN facts bytea;
