"""Event history: ``LookupEvents``, as CloudTrail defines it.

One call returns at most ``MaxResults`` events of the caller's account and region, newest first (ties by
the store's sequence, newest first), filtered by at most one lookup attribute and an inclusive time
window. Management events by default; Insights events only with ``EventCategory=insight``. Each element
carries ``CloudTrailEvent``: the record exactly as its producer sent it, decoded as text, never
re-serialised, so fields OpenTrail does not model come back unchanged.

Pagination peeks one row beyond the page: a ``NextToken`` is returned only when another event exists,
so the last page carries none (botocore's paginators and the AWS CLI stop on its absence). The token is
sealed with the server's secret and bound to every other parameter of the call, and it freezes the
time window of the first page, so a defaulted ``EndTime`` ("now") cannot drift between pages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from opentrail import params as p
from opentrail.context import Call
from opentrail.errors import (
    InvalidEventCategory,
    InvalidLookupAttributes,
    InvalidMaxResults,
    InvalidNextToken,
    InvalidTimeRange,
    SerializationException,
)
from opentrail.events import Kind, StoredEvent
from opentrail.store import LOOKUP_ATTRIBUTES, EventQuery
from opentrail.tokens import query_fingerprint

DEFAULT_MAX_RESULTS = 50
MAX_RESULTS = 50
MAX_VALUE_LENGTH = 2000
# CloudTrail counts these characters twice towards the 2000-character limit of AttributeValue.
_DOUBLE_WIDTH = frozenset("_ ,\n")
INSIGHT_ATTRIBUTES = ("EventId", "EventName", "EventSource")
_DAY = 86_400


# -- request -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lookup:
    """A validated LookupEvents request, before defaults are applied."""

    attribute: str | None
    value: str | None
    start: float | int | None
    end: float | int | None
    category: str | None
    max_results: int
    token: str | None

    @property
    def kind(self) -> Kind:
        return Kind.INSIGHT if self.category == "insight" else Kind.MANAGEMENT


def weighted_length(value: str) -> int:
    return len(value) + sum(1 for ch in value if ch in _DOUBLE_WIDTH)


def parse_attribute(params: p.Params, category: str | None) -> tuple[str | None, str | None]:
    items = p.array(params, "LookupAttributes")
    if not items:
        return None, None
    if len(items) > 1:
        keys = [item.get("AttributeKey") if isinstance(item, dict) else item for item in items[:8]]
        raise InvalidLookupAttributes(
            f"LookupAttributes can contain only one item, got {len(items)}: {', '.join(map(repr, keys))}"
        )
    item = p.structure(items[0], "LookupAttributes[0]")
    key = p.required_string(item, "AttributeKey", error=InvalidLookupAttributes)
    value = p.required_string(item, "AttributeValue", error=InvalidLookupAttributes)
    if key not in LOOKUP_ATTRIBUTES:
        raise InvalidLookupAttributes(
            f"AttributeKey {key[:80]!r} is not a lookup attribute; "
            f"expected one of {', '.join(LOOKUP_ATTRIBUTES)}"
        )
    length = weighted_length(value)
    if not 1 <= length <= MAX_VALUE_LENGTH:
        raise InvalidLookupAttributes(
            f"AttributeValue for {key} must be 1 to {MAX_VALUE_LENGTH} characters long ('_', ' ', ',' and "
            f"newline count as two), got {length}"
        )
    if key == "ReadOnly" and value not in ("true", "false"):
        raise InvalidLookupAttributes(
            f"AttributeValue for ReadOnly must be 'true' or 'false', got {value[:80]!r}"
        )
    if category == "insight" and key not in INSIGHT_ATTRIBUTES:
        raise InvalidLookupAttributes(
            f"AttributeKey {key} cannot filter Insights events; with EventCategory insight use one of "
            f"{', '.join(INSIGHT_ATTRIBUTES)}"
        )
    return key, value


def parse_lookup(params: p.Params) -> Lookup:
    """A LookupEvents request, validated."""
    category = p.string(params, "EventCategory", error=InvalidEventCategory)
    if category is not None and category != "insight":
        raise InvalidEventCategory(f"EventCategory must be 'insight' or absent, got {category[:80]!r}")
    attribute, value = parse_attribute(params, category)
    max_results = p.integer(params, "MaxResults")
    if max_results is None:
        max_results = DEFAULT_MAX_RESULTS
    elif not 1 <= max_results <= MAX_RESULTS:
        raise InvalidMaxResults(f"MaxResults must be between 1 and {MAX_RESULTS}, got {max_results}")
    token = params.get("NextToken")
    if token is not None and not isinstance(token, str):
        raise SerializationException(f"NextToken must be a string, got {type(token).__name__}")
    return Lookup(
        attribute=attribute,
        value=value,
        start=p.time_bound(params, "StartTime"),
        end=p.time_bound(params, "EndTime"),
        category=category,
        max_results=max_results,
        token=token,
    )


def millis(seconds: float | int, *, up: bool) -> int:
    """Epoch milliseconds of ``seconds``, rounded inward so both bounds stay inclusive.

    ``repr`` gives the shortest decimal that round-trips the float, so 1704067200.123 becomes exactly
    1704067200123 ms instead of a product that floating point puts a hair to either side.
    """
    if type(seconds) is int:
        return seconds * 1000  # exact already; what the Decimal below gives for an int
    scaled = Decimal(repr(seconds)) * 1000
    return int(scaled.to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR))


def window(lookup: Lookup, now: float, retention_days: int) -> tuple[int, int]:
    """The inclusive (start_ms, end_ms) a first page searches.

    The retention period bounds only the *default* start: the window is the retention period ending at
    EndTime (or now, whichever is earlier). An explicit StartTime older than that is honoured, and an
    explicit EndTime in the past moves the default window back with it, because OpenTrail keeps what
    it was given: log files replayed from a real CloudTrail bucket carry their original, possibly
    years-old, event times and must stay findable. CloudTrail itself has nothing older than 90 days
    to find, so this widens no result it would return.
    """
    end_ms = millis(lookup.end, up=False) if lookup.end is not None else math.floor(now * 1000)
    if lookup.start is not None:
        start_ms = millis(lookup.start, up=True)
    else:
        start_ms = max(0, min(end_ms, math.floor(now * 1000)) - retention_days * _DAY * 1000)
    if start_ms > end_ms:
        raise InvalidTimeRange(
            f"StartTime {_shown(lookup.start, start_ms)} is after EndTime {_shown(lookup.end, end_ms)}; "
            "the start of the time range must be at or before its end"
        )
    return start_ms, end_ms


def _shown(given: float | int | None, ms: int) -> str:
    return f"{given!r}" if given is not None else f"{ms / 1000!r} (default)"


# -- tokens --------------------------------------------------------------------------------------------


def token_scope(call: Call, lookup: Lookup) -> str:
    """What a NextToken is bound to: the caller's stream and every parameter except the token."""
    return query_fingerprint(
        {
            "account": call.account,
            "region": call.region,
            "attribute": lookup.attribute,
            "value": lookup.value,
            # Bound as the window they select, so 1704067200 and 1704067200.0 are the same query.
            "start": None if lookup.start is None else millis(lookup.start, up=True),
            "end": None if lookup.end is None else millis(lookup.end, up=False),
            "category": lookup.category,
            "max": lookup.max_results,
        }
    )


def open_token(
    call: Call, lookup: Lookup, token: str, bound: str | None = None
) -> tuple[int, int, tuple[int, int]]:
    """(start_ms, end_ms, cursor) frozen in a token issued for this very query (``bound``: its
    ``token_scope``, when the caller has it already)."""
    position = call.services.sealer.open(token, bound or token_scope(call, lookup))
    if not (
        isinstance(position, list)
        and len(position) == 4
        and all(isinstance(v, int) and not isinstance(v, bool) for v in position)
    ):
        # Only reachable with the server's secret; refuse rather than trust a malformed payload.
        raise InvalidNextToken("NextToken is not a token this server issued")
    start_ms, end_ms, time_ms, seq = position
    return start_ms, end_ms, (time_ms, seq)


# -- response ------------------------------------------------------------------------------------------


def resources(pairs: Sequence[tuple[str | None, str | None]]) -> list[dict[str, str]]:
    """``Resources`` of an element: the record's ``resources[]`` as the store keeps them, (type, ARN)
    pairs read at ingest (so a page does not parse every record again to show them)."""
    out = []
    for kind, arn in pairs:
        item = {}
        if kind is not None:
            item["ResourceType"] = kind
        if arn is not None:
            item["ResourceName"] = arn
        out.append(item)
    return out


def element(event: StoredEvent) -> dict[str, Any]:
    """One ``Event`` of the response, members in the model's order, absent ones omitted."""
    row = event.row
    out: dict[str, Any] = {"EventId": row.event_id}
    if row.event_name is not None:
        out["EventName"] = row.event_name
    if row.read_only is not None:
        out["ReadOnly"] = "true" if row.read_only else "false"
    if row.access_key_id is not None:
        out["AccessKeyId"] = row.access_key_id
    out["EventTime"] = row.time_ms / 1000
    if row.event_source is not None:
        out["EventSource"] = row.event_source
    if row.username is not None:
        out["Username"] = row.username
    # CloudTrail sends an empty list for events that name no resource.
    out["Resources"] = resources(row.resources)
    # The bytes as sent. Ingest checks UTF-8 only in the fields it reads, so invalid bytes in another
    # field would make a strict decode fail every page holding the record; they show as U+FFFD.
    out["CloudTrailEvent"] = row.record.decode("utf-8", errors="replace")
    return out


# -- the operation -------------------------------------------------------------------------------------


def lookup_events(call: Call, params: p.Params) -> dict[str, Any]:
    call.services.throttle.check(call.account, call.region, call.now)
    lookup = parse_lookup(params)
    bound: str | None = None
    if lookup.token is not None:
        bound = token_scope(call, lookup)
        start_ms, end_ms, before = open_token(call, lookup, lookup.token, bound)
    else:
        start_ms, end_ms = window(lookup, call.now, call.services.settings.retention_days)
        before = None
    found = call.store.lookup(
        EventQuery(
            account=call.account,
            region=call.region,
            kind=lookup.kind,
            start_ms=start_ms,
            end_ms=end_ms,
            limit=lookup.max_results + 1,  # one more than the page, to know whether another page exists
            attribute=lookup.attribute,
            value=lookup.value,
            before=before,
        )
    )
    page = found[: lookup.max_results]
    result: dict[str, Any] = {"Events": [element(event) for event in page]}
    if len(found) > lookup.max_results:
        last = page[-1]
        result["NextToken"] = call.services.sealer.seal(
            bound or token_scope(call, lookup), [start_ms, end_ms, last.row.time_ms, last.seq]
        )
    return result


OPERATIONS = {"LookupEvents": lookup_events}
