"""Which stored events a trail delivers: the basic selectors' rules over the store's rows.

``selects`` is the one rule; ``Picker`` applies it to ``LogRow`` tuples as delivery reads them, and
``scope`` names the account and region a trail reads. The full selector engine (advanced selectors,
data events) replaces ``selects`` in a later issue.
"""

from __future__ import annotations

from . import trails
from .events import Kind
from .selectors import EventSelection
from .store import LogRow


def selects(selection: EventSelection, kind: int, read_only: bool | None, event_source: str | None) -> bool:
    """Whether a trail with ``selection`` delivers an event of this kind, readOnly and eventSource:
    management events by the basic selectors' ReadWriteType, IncludeManagementEvents and
    ExcludeManagementEventSources. Until the full engine, advanced selectors decide management events
    by their category and readOnly only."""
    if kind != Kind.MANAGEMENT:
        return False
    if selection.basic is not None:
        for selector in selection.basic:
            if not selector.include_management_events:
                continue
            if event_source in selector.exclude_management_event_sources:
                continue
            if selector.read_write_type == "ReadOnly" and read_only is False:
                continue
            if selector.read_write_type == "WriteOnly" and read_only is True:
                continue
            return True
        return False
    writes = read_only is not True
    return selection.logs_management(writes=writes)


class Picker:
    """A trail's selection over ``LogRow`` tuples: ``selects`` answered once per distinct (kind,
    readOnly, eventSource), then a dict lookup per event (a pass sees a few dozen such triples)."""

    def __init__(self, trail: trails.Trail) -> None:
        self.selection = trail.event_selection
        self.known: dict[tuple[int, int | None, str | None], bool] = {}

    def __call__(self, row: LogRow) -> bool:
        key = (row[2], row[3], row[4])
        wanted = self.known.get(key)
        if wanted is None:
            read_only = None if row[3] is None else row[3] == 1
            wanted = self.known[key] = selects(self.selection, row[2], read_only, row[4])
        return wanted


def account_of(trail: trails.Trail) -> str:
    return trail.trail_arn.split(":")[4]


def scope(trail: trails.Trail, member: str | None = None) -> tuple[str, str | None]:
    """(account, region) whose events a trail reads: its home region only unless it is multi-region; its
    own account's, or ``member``'s for an organization trail's member account."""
    return member or account_of(trail), None if trail.is_multi_region_trail else trail.home_region
