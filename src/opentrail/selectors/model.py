"""What a trail selects, as ``GetEventSelectors`` and ``GetInsightSelectors`` return it: basic and
advanced event selectors and Insights selectors, as frozen structs whose builtin form is exactly the
wire form, so a trail's configuration round-trips (``parsing`` validates what callers put).

The questions Insights asks of a selection (does the trail log write management events? data events?)
live here so that every caller answers them the same way.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

ReadWriteType = Literal["ReadOnly", "WriteOnly", "All"]
READ_WRITE_TYPES: tuple[str, ...] = ("ReadOnly", "WriteOnly", "All")
OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")


class _Wire(msgspec.Struct, frozen=True, rename="pascal", omit_defaults=True):
    """Field names are CloudTrail's members in PascalCase; ``msgspec.to_builtins`` gives the wire form."""


class DataResource(_Wire, frozen=True):
    type: str
    values: list[str]


class EventSelector(_Wire, frozen=True):
    """A basic selector with every member filled in (CloudTrail returns all four)."""

    read_write_type: ReadWriteType = "All"
    include_management_events: bool = True
    data_resources: list[DataResource] = msgspec.field(default_factory=list)
    exclude_management_event_sources: list[str] = msgspec.field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        # omit_defaults would drop the defaults, but CloudTrail always returns all four members.
        return {
            "ReadWriteType": self.read_write_type,
            "IncludeManagementEvents": self.include_management_events,
            "DataResources": [msgspec.to_builtins(r) for r in self.data_resources],
            "ExcludeManagementEventSources": list(self.exclude_management_event_sources),
        }


class FieldSelector(_Wire, frozen=True):
    """One condition of an advanced selector; only the operators the caller gave are set."""

    field: str
    equals: list[str] | None = None
    starts_with: list[str] | None = None
    ends_with: list[str] | None = None
    not_equals: list[str] | None = None
    not_starts_with: list[str] | None = None
    not_ends_with: list[str] | None = None

    def operators(self) -> dict[str, list[str]]:
        """The operators in use, by wire name."""
        wire: dict[str, list[str]] = msgspec.to_builtins(self)
        return {op: wire[op] for op in OPERATORS if op in wire}


class AdvancedEventSelector(_Wire, frozen=True):
    field_selectors: list[FieldSelector]
    name: str | None = None

    def field(self, name: str) -> FieldSelector | None:
        return next((f for f in self.field_selectors if f.field == name), None)

    @property
    def category(self) -> str:
        selector = self.field("eventCategory")
        # Validation guarantees eventCategory Equals exactly one value.
        return selector.equals[0] if selector is not None and selector.equals else ""

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {}
        if self.name is not None:
            wire["Name"] = self.name
        wire["FieldSelectors"] = [msgspec.to_builtins(f) for f in self.field_selectors]
        return wire


class EventSelection(msgspec.Struct, frozen=True, omit_defaults=True):
    """What a trail logs: either basic or advanced selectors, never both (putting one clears the other)."""

    basic: list[EventSelector] | None = None
    advanced: list[AdvancedEventSelector] | None = None

    def to_wire(self) -> dict[str, Any]:
        if self.advanced is not None:
            return {"AdvancedEventSelectors": [s.to_wire() for s in self.advanced]}
        return {"EventSelectors": [s.to_wire() for s in self.basic or ()]}

    def logs_management(self, *, writes: bool) -> bool:
        """Whether any management events are logged (``writes``: write management events in particular)."""
        if self.advanced is not None:
            return any(_advanced_logs_management(s, writes) for s in self.advanced)
        wanted = ("All", "WriteOnly") if writes else READ_WRITE_TYPES
        return any(s.include_management_events and s.read_write_type in wanted for s in self.basic or ())

    def logs_data(self) -> bool:
        if self.advanced is not None:
            return any(s.category == "Data" for s in self.advanced)
        return any(s.data_resources for s in self.basic or ())


def _advanced_logs_management(selector: AdvancedEventSelector, writes: bool) -> bool:
    if selector.category != "Management":
        return False
    read_only = selector.field("readOnly")
    return not writes or read_only is None or read_only.equals != ["true"]


DEFAULT_SELECTION = EventSelection(basic=[EventSelector()])


class InsightSelector(_Wire, frozen=True):
    insight_type: str
    # None when the caller left EventCategories out (it then means Management, and is not echoed back).
    event_categories: list[str] | None = None

    @property
    def categories(self) -> list[str]:
        return self.event_categories if self.event_categories is not None else ["Management"]
