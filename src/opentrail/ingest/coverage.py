"""Which trails cover an account's events, for ingest: data and network activity events that no logging
trail selects are never stored (DESIGN.md rule 5, CloudTrail's cost model).

``Coverage.drop_unselected`` decides that per record from the covering trails (the account's own trails
and its organization's trails), compiled by the selector engine and cached per (account, region); the
app factory's trail listeners clear the cache on every change (``Coverage.forget``), and another
process's changes are seen within ``COVERAGE_TTL_SECONDS``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

import cachetools

from opentrail.events import EventRow, Kind
from opentrail.organizations import model as organizations
from opentrail.selectors import facts, picker
from opentrail.selectors.engine import Matcher
from opentrail.store import Store
from opentrail.trails import model as trails

# Another process's trail change (several nodes on one database) is seen within this many seconds;
# this process's own changes at once (``forget``).
COVERAGE_TTL_SECONDS = 5.0
# Records name any region they like: the cache is bounded.
MAX_COVERAGE_ENTRIES = 10_000
_OPT_IN = frozenset({Kind.DATA, Kind.NETWORK})

Matchers = tuple[Matcher, ...]


class Coverage:
    """One store's covering trails, compiled and cached per (account, region) for ``ttl`` seconds (of
    ``timer``) and until ``forget``. Held by ``Services``; thread-safe (ingest runs in a thread pool)."""

    def __init__(
        self,
        store: Store,
        ttl: float = COVERAGE_TTL_SECONDS,
        size: int = MAX_COVERAGE_ENTRIES,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._cache: cachetools.TTLCache[tuple[str, str], Matchers] = cachetools.TTLCache(
            size, ttl, timer=timer
        )
        self._lock = threading.Lock()
        # Counts ``forget`` calls, so a read that a trail change overtook is not cached.
        self._generation = 0

    def forget(self, account: str | None = None) -> None:
        """A trail of ``account`` (None: of any account) changed: the next ingest reads the trails again."""
        with self._lock:
            self._generation += 1
            if account is None:
                self._cache.clear()
                return
            for key in [k for k in self._cache if k[0] == account]:
                # An entry may expire between the listing and here: it is gone either way.
                with contextlib.suppress(KeyError):
                    del self._cache[key]

    def covering_trails(self, account: str, region: str) -> list[trails.Trail]:
        """The trails that log the events of ``account`` recorded in ``region``, now (uncached).

        Only logging trails count (a stopped trail delivers nothing ingested after StopLogging). The
        account's multi-region trails cover every region; its single-region trails only their home
        region. Organization trails of the account's organization belong here too (they cover every
        member account, in every region if multi-region): this is the one place that answers the
        question, for ingest.
        """
        store = self.store
        candidates = [trails.decode(doc) for doc in store.list_docs(trails.KIND, account)]
        org = organizations.of_account(store, account)
        if org is not None and org.management != account:
            candidates += [
                trail
                for trail in map(trails.decode, store.list_docs(trails.KIND, org.management))
                if trail.is_organization_trail
            ]
        return [
            trail
            for trail in candidates
            if trail.is_logging and (trail.is_multi_region_trail or trail.home_region == region)
        ]

    def matchers(self, account: str, region: str) -> Matchers:
        """``covering_trails`` compiled, cached per (account, region) until ``forget`` or the TTL."""
        with self._lock:
            found = self._cache.get((account, region))
            generation = self._generation
        if found is not None:
            return found
        found = tuple(picker.matcher(t) for t in self.covering_trails(account, region))
        with self._lock:
            # A trail change while we read must not be overwritten by what we read before it.
            if self._generation == generation:
                self._cache[(account, region)] = found
        return found

    def drop_unselected(self, rows: list[EventRow]) -> list[EventRow]:
        """``rows`` without the data and network activity events that no logging trail selects: CloudTrail
        does not record those at all (DESIGN.md rule 5). Management and Insights events always stay.
        The covering trails are looked up once per (account, region) of the batch."""
        kept: list[EventRow] = []
        batch: dict[tuple[str, str], Matchers] = {}
        for row in rows:
            if row.kind in _OPT_IN:
                where = (row.account, row.region)
                matchers = batch.get(where)
                if matchers is None:
                    matchers = batch[where] = self.matchers(*where)
                if not selected_somewhere(row, matchers):
                    continue
            kept.append(row)
        return kept


def selected_somewhere(row: EventRow, matchers: Matchers) -> bool:
    """Whether one of ``matchers`` (those covering the row's account and region) selects the event."""
    wanting = [m for m in matchers if m.wants_kind(row.kind)]
    if not wanting:
        return False
    if len(wanting) == 1:
        only = wanting[0]
        return only.selects(
            row.kind, only.read(row.record, row.kind, row.read_only, row.event_source, row.facts)
        )
    # Read once for all the trails: from the facts index_record just decided, not the record again.
    if row.facts is None:
        found = facts.facts_of(row.record, row.kind)
    else:
        found = facts.stored_facts(row.facts, row.kind, row.read_only, row.event_source)
    return any(m.selects(row.kind, found) for m in wanting)
