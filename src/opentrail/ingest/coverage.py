"""Which trails cover an account's events, for ingest: data and network activity events that no logging
trail selects are never stored (DESIGN.md rule 5, CloudTrail's cost model).

``drop_unselected`` decides that per record from ``covering_trails`` (the account's own trails and its
organization's trails), compiled by ``selection`` and cached per (account, region); ``trails`` and the
Organizations operations clear the cache on every change (``forget``), and another process's changes are
seen within ``COVERAGE_TTL_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from opentrail.events import EventRow, Kind
from opentrail.organizations import model as organizations
from opentrail.selectors import engine as selection
from opentrail.selectors import facts
from opentrail.store import Store
from opentrail.trails import model as trails


def covering_trails(store: Store, account: str, region: str) -> list[trails.Trail]:
    """The trails that log the events of ``account`` recorded in ``region``, now.

    Only logging trails count (a stopped trail delivers nothing ingested after StopLogging). The
    account's multi-region trails cover every region; its single-region trails only their home region.
    Organization trails of the account's organization belong here too (they cover every member account,
    in every region if multi-region): this is the one place that answers the question, for ingest.
    """
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


# Another process's trail change (several nodes on one database) is seen within this many seconds;
# this process's own changes at once (``forget``).
COVERAGE_TTL_SECONDS = 5.0
_MAX_COVERAGE_ENTRIES = 10_000


@dataclass(slots=True)
class _Coverage:
    """One store's cache: (account, region) -> (loaded at, the covering trails' matchers)."""

    entries: dict[tuple[str, str], tuple[float, tuple[selection.Matcher, ...]]]
    generation: int = 0


# By the store's identity, holding the store (so the id is never reused): one entry per store a process
# ingests through, one in a server. Not a WeakKeyDictionary: a Store need not be hashable or weakly
# referable.
_coverage: dict[int, tuple[Store, _Coverage]] = {}
_coverage_lock = threading.Lock()


def _cache(store: Store) -> _Coverage:
    with _coverage_lock:
        entry = _coverage.get(id(store))
        if entry is None:
            entry = _coverage[id(store)] = (store, _Coverage({}))
        return entry[1]


def forget(store: Store, account: str | None = None) -> None:
    """A trail of ``account`` (None: of any account) changed: the next ingest reads the trails again."""
    cache = _cache(store)
    with _coverage_lock:
        cache.generation += 1
        if account is None:
            cache.entries.clear()
        else:
            for key in [k for k in cache.entries if k[0] == account]:
                del cache.entries[key]


def covering_matchers(store: Store, account: str, region: str) -> tuple[selection.Matcher, ...]:
    """``covering_trails`` compiled, cached per (account, region) until ``forget`` or the TTL."""
    cache = _cache(store)
    now = time.monotonic()
    with _coverage_lock:
        entry = cache.entries.get((account, region))
        generation = cache.generation
    if entry is not None and now - entry[0] < COVERAGE_TTL_SECONDS:
        return entry[1]
    found = tuple(selection.matcher(t) for t in covering_trails(store, account, region))
    with _coverage_lock:
        # A trail change while we read must not be overwritten by what we read before it.
        if cache.generation == generation:
            if len(cache.entries) >= _MAX_COVERAGE_ENTRIES:
                cache.entries.clear()  # records name any region they like: keep the cache bounded
            cache.entries[(account, region)] = (now, found)
    return found


def selected_somewhere(store: Store, row: EventRow) -> bool:
    """Whether some logging trail covering the row's account and region selects this event."""
    wanting = [m for m in covering_matchers(store, row.account, row.region) if m.wants_kind(row.kind)]
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


def drop_unselected(store: Store, rows: list[EventRow]) -> list[EventRow]:
    """``rows`` without the data and network activity events that no logging trail selects: CloudTrail
    does not record those at all (DESIGN.md rule 5). Management and Insights events always stay."""
    return [r for r in rows if r.kind not in _OPT_IN or selected_somewhere(store, r)]


_OPT_IN = frozenset({Kind.DATA, Kind.NETWORK})
