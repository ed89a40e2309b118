"""A trail's selection as delivery applies it: the trail-level rules around the matching engine
(``engine``). ``Picker`` decides which rows of the event log a trail delivers, with the trail's
selection compiled once per configuration (``matcher``), global services' events left out where the
trail says so (``excluded_sources``), and the log it reads (``log_of``) and its owner (``account_of``).
"""

from __future__ import annotations

import threading

import cachetools
import msgspec

from opentrail.selectors.engine import Matcher, compile_selection
from opentrail.selectors.facts import CATEGORY_OF_KIND, READ_ONLY_TEXT, STORED, row_facts
from opentrail.selectors.model import EventSelection
from opentrail.store import LogRow
from opentrail.trails import model as trails

# Services whose events CloudTrail records in the partition's global region rather than where the caller
# was (reference §4.1: "Global services are recorded as us-east-1"). Console sign-in is regional today,
# and STS answers regionally too: only its global endpoint's events land in us-east-1, which is the
# only region this rule touches.
GLOBAL_SERVICE_SOURCES = frozenset(
    {
        "iam.amazonaws.com",
        "sts.amazonaws.com",
        "cloudfront.amazonaws.com",
        "route53.amazonaws.com",
        "waf.amazonaws.com",
        "organizations.amazonaws.com",
    }
)
GLOBAL_REGIONS = frozenset({"us-east-1", "cn-north-1", "us-gov-west-1"})


def excluded_sources(trail: trails.Trail) -> frozenset[str]:
    """The eventSources a trail leaves out whatever its selectors say: global services' events, for a
    single-region trail in the global region with IncludeGlobalServiceEvents false. (A single-region
    trail elsewhere never sees them: they are recorded in the global region; a multi-region trail must
    include them, UpdateTrail and CreateTrail refuse otherwise.)"""
    if trail.include_global_service_events or trail.is_multi_region_trail:
        return frozenset()
    return GLOBAL_SERVICE_SOURCES if trail.home_region in GLOBAL_REGIONS else frozenset()


def matcher(trail: trails.Trail) -> Matcher:
    """The trail's compiled selection, compiled once per distinct configuration (delivery asks for it
    on every pass of every trail)."""
    return _compiled(trail.event_selection, excluded_sources(trail))


def _configuration(selection: EventSelection, excluded: frozenset[str]) -> tuple[bytes, frozenset[str]]:
    # By its encoding: a selection holds lists, so it does not hash.
    return msgspec.json.encode(selection), excluded


@cachetools.cached(cachetools.LRUCache(maxsize=256), key=_configuration, lock=threading.Lock())
def _compiled(selection: EventSelection, excluded: frozenset[str]) -> Matcher:
    return compile_selection(selection, excluded)


class Picker:
    """A trail's selection over ``LogRow`` tuples ``(seq, stream, kind, read_only, event_source,
    time_ms, record, facts)``. Kinds the columns decide are answered once per distinct (kind, readOnly,
    eventSource), then by a dict lookup (a pass sees a few dozen such triples); the others (data and
    network activity events) are decided per event from the selector facts ingest stored, or for rows
    stored before those were kept, from the record bytes.

    Stored facts of a kind whose rules all name a plain resources.type (every data selector a trail
    accepts) are read by a decoder made for the fields those rules test (``facts.stored_decoder``)
    and the typed rules tested inline on its attributes (``Matcher.selects_values`` with no dict
    built per event and no call into the matcher): 1.65 µs a data event of bench.selectors' selective
    trail instead of 2.15. tests/unit/selectors/test_picker.py holds it to the engine."""

    __slots__ = ("columns", "decode", "excluded", "known", "matcher", "per_event", "row_decided", "typed")

    def __init__(self, trail: trails.Trail) -> None:
        self.matcher = found = matcher(trail)
        self.known: dict[tuple[int, int | None, str | None], bool] = {}
        self.row_decided = found.row_decided
        self.per_event = frozenset(k for k in CATEGORY_OF_KIND if found.wants_kind(k)) - found.row_decided
        self.excluded = found.excluded_sources
        self.columns = found.columns
        self.typed = found.stored_typed
        self.decode = found.stored.decode

    def __call__(self, row: LogRow) -> bool:
        kind = row[2]
        if kind in self.row_decided:
            key = (kind, row[3], row[4])
            wanted = self.known.get(key)
            if wanted is None:
                found = self.matcher
                wanted = self.known[key] = found.selects(kind, row_facts(kind, row[3], row[4]))
            return wanted
        typed = self.typed.get(kind)
        if typed is None:
            return kind in self.per_event and self._generic(row, kind)
        if row[4] in self.excluded:
            return False
        try:
            stored = row[7]
        except IndexError:
            # A row built by hand may stop at the record: it is read like a row stored before ingest
            # kept facts.
            stored = None
        if stored is None:
            return self.matcher.selects(kind, self.matcher.read(row[6], kind, row[3], row[4]))
        try:
            decoded = self.decode(stored)
        except (msgspec.ValidationError, msgspec.DecodeError):
            # damaged: the record says the same
            return self.matcher.selects(kind, self.matcher.read(row[6], kind, row[3], row[4]))
        values = decoded.values
        if self.columns:
            values.eventSource = row[4]
            values.readOnly = READ_ONLY_TEXT[row[3]]
        # ``Matcher.selects_values``'s typed rules, on attributes.
        for resource in decoded.resources:
            rules = typed.get(resource.type)
            if rules is not None:
                for arn, record in rules:
                    if arn is None or arn(resource.ARN):
                        for name, test in record:
                            if not test(getattr(values, name)):
                                break
                        else:
                            return True
        return False

    def _generic(self, row: LogRow, kind: int) -> bool:
        """A row of a kind decided per event whose rules do not all name a plain resources.type:
        through the engine's own rules."""
        if row[4] in self.excluded:
            return False
        stored = row[7] if len(row) > 7 else None
        if stored is not None:
            # ``stored_facts`` inlined, less eventCategory (rules are filed by category already).
            try:
                decoded = STORED.decode(stored)
            except (msgspec.ValidationError, msgspec.DecodeError):
                pass  # damaged: the record says the same
            else:
                values = decoded.values
                if self.columns:
                    values["eventSource"] = row[4]
                    values["readOnly"] = READ_ONLY_TEXT[row[3]]
                return self.matcher.selects_values(kind, values, decoded.resources)
        return self.matcher.selects(kind, self.matcher.read(row[6], kind, row[3], row[4]))


def account_of(trail: trails.Trail) -> str:
    """The account that owns the trail."""
    return trail.trail_arn.split(":")[4]


def log_of(trail: trails.Trail, member: str | None = None) -> tuple[str, str | None]:
    """The (account, region) of the event log a trail reads (region None: every region): its home
    region only unless it is multi-region; its own account's, or ``member``'s for an organization
    trail's member account."""
    return member or account_of(trail), None if trail.is_multi_region_trail else trail.home_region
