"""The metric-filter consumer: log events, read after a durable cursor, through their group's metric
filters into one-second metric samples.

Every pass reads the next log events of every group (``store.logs.events_after``), tests each against
its group's filters at once (a ``PatternSet`` decodes a JSON event once for all of them), and writes
the samples and the new cursor in one transaction (``store.metrics.put(..., cursor=...)``): a crash
before it commits reads the same events again, one after it never sees them again, and two nodes that
read past the same cursor cannot both write. So each log event is counted exactly once.

A filter applies to the events ingested after it was created, as CloudWatch Logs' do; filters are
compiled once per definition and looked up again each pass, so a new, changed or deleted filter
applies from the next pass.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

from opentrail.errors import ConflictError, StoreError
from opentrail.store import Store
from opentrail.store.logs import LogEvent
from opentrail.store.tables import read_cursor
from opentrail.streams.metric_filters.transform import CompiledFilter, Point, compile_filter, merge
from opentrail.streams.patterns import PatternSet

log = logging.getLogger("opentrail.streams")

CURSOR = "metric-filters"
READ_BATCH = 5_000
TICK_SECONDS = 0.2

GroupKey = tuple[str, str, str]  # (account, region, log group name)


@dataclass
class GroupFilters:
    filters: list[CompiledFilter]
    created: list[int]  # each filter's creation time (ms): it counts the events ingested since
    patterns: PatternSet
    defaults: frozenset[int] = frozenset()  # the filters with a defaultValue (they publish on no match)

    def points(self, event: LogEvent) -> list[Point]:
        """What the group's filters publish for ``event``: only the filters it matched, and those with a
        default value, are asked (the others publish nothing; most events match none of 15 CIS filters)."""
        matched = self.patterns.matching(event.message)
        asked = sorted(self.defaults.union(matched)) if self.defaults else matched
        hit = set(matched)
        second = event.timestamp // 1000
        points: list[Point] = []
        for index in asked:
            if event.ingestion_time >= self.created[index]:
                points.extend(self.filters[index].points(event.message, second, index in hit))
        return points


@dataclass
class MetricFilterWorker:
    store: Store
    # Compiled filters by their definition, kept while the definition stays.
    _compiled: dict[tuple[Any, ...], CompiledFilter] = field(default_factory=dict)
    # Each group's pattern set, by the definitions of its filters.
    _sets: dict[tuple[tuple[Any, ...], ...], PatternSet] = field(default_factory=dict)

    def run_once(self) -> int:
        """One pass; how many log events it consumed."""
        tables = self.store.metrics
        cursor = tables.read(lambda conn: read_cursor(conn, tables.dialect, CURSOR))
        events = self.store.logs.events_after(cursor, READ_BATCH)
        if not events:
            return 0
        groups = self._groups()
        points: list[Point] = []
        for event in events:
            found = groups.get((event.account, event.region, event.group))
            if found is not None:
                points.extend(found.points(event))
        try:
            tables.put(merge(points), cursor=(CURSOR, cursor, events[-1].seq))
        except ConflictError:
            return 0  # another node consumed these events first
        return len(events)

    def _groups(self) -> dict[GroupKey, GroupFilters]:
        groups: dict[GroupKey, GroupFilters] = {}
        idents: dict[GroupKey, list[tuple[Any, ...]]] = {}
        live: dict[tuple[Any, ...], CompiledFilter] = {}
        for stored in self.store.logs.metric_filters():
            transformation = stored.transformations[0]
            ident = (
                stored.account,
                stored.region,
                stored.group,
                stored.name,
                stored.pattern,
                repr(transformation),
            )
            compiled = self._compiled.get(ident)
            if compiled is None:
                compiled = compile_filter(
                    stored.account, stored.region, stored.group, stored.name, stored.pattern, transformation
                )
            live[ident] = compiled
            group = groups.setdefault(
                (stored.account, stored.region, stored.group), GroupFilters([], [], PatternSet([]))
            )
            group.filters.append(compiled)
            group.created.append(stored.created)
            idents.setdefault((stored.account, stored.region, stored.group), []).append(ident)
        sets = {}
        for key, group in groups.items():
            definition = tuple(idents[key])
            found = self._sets.get(definition)
            group.patterns = found or PatternSet([f.pattern for f in group.filters])
            group.defaults = frozenset(i for i, f in enumerate(group.filters) if f.default is not None)
            sets[definition] = group.patterns
        self._compiled, self._sets = live, sets
        return groups


async def run_worker(store: Store) -> None:
    """Consume log events every tick, blocking work in a thread; a full batch goes round again at once."""
    worker = MetricFilterWorker(store)
    while True:
        consumed = 0
        try:
            consumed = await run_in_threadpool(worker.run_once)
        except StoreError as err:
            log.warning("metric filter pass failed, will retry: %s", err)
        except Exception:
            log.exception("metric filter pass failed unexpectedly, will retry")
        if consumed < READ_BATCH:
            await asyncio.sleep(TICK_SECONDS)
