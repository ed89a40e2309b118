"""Which events a selection selects: CloudTrail's event selectors as one matching engine (the trail-level
rules around it, and delivery's ``Picker``, are in ``picker``; ingest asks the engine through
``ingest.coverage``).

The engine follows CloudTrail's rules (reference §8), for basic and advanced selectors alike:

- an event is selected when ANY selector matches (OR across selectors), and a selector matches when ALL
  its field selectors hold (AND across fields);
- within a field, the values of the positive operators (Equals, StartsWith, EndsWith) are OR-ed, and a
  negative operator (NotEquals, NotStartsWith, NotEndsWith) excludes the event when any of its values
  matches; with both kinds on one field, both must hold;
- a field missing from the record fails every positive operator and passes every negative one;
- ``resources.type`` and ``resources.ARN`` are tested against the record's ``resources[]`` entries: the
  event matches when SOME entry satisfies both (so the ARN conditions apply to resources of the selected
  type only).

Basic selectors are first rewritten into the advanced selectors CloudTrail documents as their
equivalent (``advanced_equivalent``), so there is one evaluator. A selection is compiled once per trail
configuration; evaluation is set membership and ``str.startswith(tuple)`` / ``str.endswith(tuple)``.

Records are read through ``Facts`` (module ``facts``): the row's stored columns when the selectors
need no more (management selectors on trails use only eventCategory, eventSource and readOnly, so
``Picker`` caches one decision per (kind, readOnly, eventSource)); for data and network activity events,
the selector facts ingest decided once and stored beside the record (``facts.SelectorFacts``); for rows
stored before those were kept, a msgspec decoder that reads only the selector fields out of the record
bytes. Both give the same facts (tests/unit/selectors/test_facts.py).

"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from opentrail.selectors.facts import (
    CATEGORY_OF_KIND,
    RESOURCE_FIELDS,
    ROW_FIELDS,
    STORED,
    Facts,
    Reader,
    Resource,
    attribute,
    stored_decoder,
)
from opentrail.selectors.model import (
    AdvancedEventSelector,
    DataResource,
    EventSelection,
    EventSelector,
    FieldSelector,
)

# -- compiled conditions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """One field selector, ready to test a value."""

    equals: frozenset[str] = frozenset()
    starts: tuple[str, ...] = ()
    ends: tuple[str, ...] = ()
    not_equals: frozenset[str] = frozenset()
    not_starts: tuple[str, ...] = ()
    not_ends: tuple[str, ...] = ()

    @classmethod
    def of(cls, selector: FieldSelector) -> Condition:
        return cls(
            equals=frozenset(selector.equals or ()),
            starts=tuple(selector.starts_with or ()),
            ends=tuple(selector.ends_with or ()),
            not_equals=frozenset(selector.not_equals or ()),
            not_starts=tuple(selector.not_starts_with or ()),
            not_ends=tuple(selector.not_ends_with or ()),
        )

    @property
    def positive(self) -> bool:
        return bool(self.equals or self.starts or self.ends)

    def tester(self) -> Callable[[str | None], bool]:
        """``holds``, or for a single operator (most conditions) a cheaper callable that answers the same
        (a set's ``__contains__`` is False for None, as a missing field fails Equals)."""
        equals, starts, ends = self.equals, self.starts, self.ends
        not_equals, not_starts, not_ends = self.not_equals, self.not_starts, self.not_ends
        used = [bool(x) for x in (equals, starts, ends, not_equals, not_starts, not_ends)]
        if sum(used) != 1:
            return self.holds
        if equals:
            return equals.__contains__
        if starts:
            return _prefix_test(starts)
        if ends:
            return lambda value: value is not None and value.endswith(ends)
        if not_equals:
            return lambda value: value not in not_equals
        if not_starts:
            has = _prefix_test(not_starts)
            return lambda value: not has(value)  # has(None) is False: a missing field passes
        return lambda value: value is None or not value.endswith(not_ends)

    def holds(self, value: str | None) -> bool:
        if value is None:
            return not self.positive
        if (self.equals or self.starts or self.ends) and not (
            value in self.equals or value.startswith(self.starts) or value.endswith(self.ends)
        ):
            return False
        # An empty tuple never matches startswith/endswith, so unused negative operators cost one call.
        return not (
            value in self.not_equals or value.startswith(self.not_starts) or value.endswith(self.not_ends)
        )


Test = Callable[[str | None], bool]


def _prefix_test(prefixes: tuple[str, ...]) -> Test:
    """Whether a value starts with one of ``prefixes`` (a missing one does not). ``str.startswith``
    with a tuple compares every prefix in turn (98 bucket prefixes: 0.64 µs a value); when the
    prefixes come in few lengths (a trail's bucket or key prefixes usually do), the value cut to each
    length is looked up in a set instead (0.18 µs), after one comparison with what every prefix
    starts with (a value without it, as most are, then costs 0.1 µs)."""
    by_length: dict[int, set[str]] = {}
    for prefix in prefixes:
        by_length.setdefault(len(prefix), set()).add(prefix)
    # A set lookup per length costs about what a dozen prefix comparisons do.
    if len(by_length) * 12 >= len(prefixes):
        return lambda value: value is not None and value.startswith(prefixes)
    lengths = tuple((length, frozenset(found)) for length, found in sorted(by_length.items()))
    common = os.path.commonprefix(prefixes)  # noqa: RUF071 - character by character is what is meant

    def test(value: str | None) -> bool:
        if value is None or not value.startswith(common):
            return False
        for length, found in lengths:  # noqa: SIM110 - a loop: no generator per value
            if value[:length] in found:
                return True
        return False

    return test


@dataclass(frozen=True, slots=True)
class Rule:
    """One advanced selector: its eventCategory condition (answered per stored kind when compiling),
    record-level conditions, and the conditions on one resources[] entry, each as a ``Test``."""

    category: Condition | None
    record: tuple[tuple[str, Test], ...]
    resource_type: Test | None
    resource_arn: Test | None
    # resources.type as a plain Equals (the only form a trail allows): a record with no resource of
    # these types is passed over before any other condition is tested.
    resource_types: frozenset[str] | None
    fields: frozenset[str]

    @classmethod
    def of(cls, selector: AdvancedEventSelector) -> Rule:
        conditions = {f.field: Condition.of(f) for f in selector.field_selectors}
        skipped = ("eventCategory", *RESOURCE_FIELDS)
        record = tuple((name, c.tester()) for name, c in conditions.items() if name not in skipped)
        kind = conditions.get("resources.type")
        arn = conditions.get("resources.ARN")
        plain = kind is not None and kind == Condition(equals=kind.equals)
        return cls(
            conditions.get("eventCategory"),
            record,
            None if kind is None else kind.tester(),
            None if arn is None else arn.tester(),
            kind.equals if plain and kind is not None else None,
            frozenset(conditions),
        )

    def allows(self, category: str) -> bool:
        return self.category is None or self.category.holds(category)

    def matches(self, facts: Facts) -> bool:
        """Whether the record matches, its category aside (``Matcher`` keeps rules by category)."""
        resources = facts.resources
        types = self.resource_types
        if types is not None:
            for resource in resources:
                if resource.type in types:
                    break
            else:
                return False
        values = facts.values
        for name, test in self.record:
            if not test(values.get(name)):
                return False
        arn = self.resource_arn
        if types is not None:
            if arn is None:
                return True
            # A loop, not any(generator): this runs for every data event and a generator costs more.
            for resource in resources:  # noqa: SIM110
                if resource.type in types and arn(resource.ARN):
                    return True
            return False
        kind_of = self.resource_type
        if kind_of is None and arn is None:
            return True
        # A record naming no resources has neither field: it passes only all-negative conditions.
        if not resources:
            return (kind_of is None or kind_of(None)) and (arn is None or arn(None))
        return any((kind_of is None or kind_of(r.type)) and (arn is None or arn(r.ARN)) for r in resources)


# -- basic selectors as their advanced equivalent ---------------------------------------------------------

_ALL_OF_TYPE = {
    "AWS::S3::Object": ("arn:aws:s3", "arn:aws:s3:::"),
    "AWS::Lambda::Function": ("arn:aws:lambda",),
    "AWS::DynamoDB::Table": ("arn:aws:dynamodb",),
}


def _is_all(kind: str, value: str) -> bool:
    """``arn:<partition>:s3`` (and the other services' bare forms): every resource of the type."""
    parts = value.split(":")
    if len(parts) > 2:
        parts[1] = "aws"  # every partition's bare form
    return ":".join(parts) in _ALL_OF_TYPE.get(kind, ())


def _field(name: str, **operators: list[str]) -> FieldSelector:
    return FieldSelector(field=name, **operators)


def _read_only(rw: str) -> list[FieldSelector]:
    if rw == "ReadOnly":
        return [_field("readOnly", equals=["true"])]
    if rw == "WriteOnly":
        return [_field("readOnly", equals=["false"])]
    return []


def _data_selector(kind: str, resources: list[DataResource], rw: str) -> AdvancedEventSelector:
    values = [v for r in resources for v in r.values]
    fields = [_field("eventCategory", equals=["Data"]), _field("resources.type", equals=[kind])]
    if not any(_is_all(kind, v) for v in values):
        if kind == "AWS::S3::Object":
            # arn:aws:s3:::bucket/ and arn:aws:s3:::bucket/prefix both name a prefix of object ARNs.
            fields.append(_field("resources.ARN", starts_with=list(dict.fromkeys(values))))
        else:
            # A function or table ARN names exactly that resource: helloworld does not select helloworld2.
            fields.append(_field("resources.ARN", equals=list(dict.fromkeys(values))))
    return AdvancedEventSelector(field_selectors=fields + _read_only(rw))


def advanced_equivalent(basic: Iterable[EventSelector]) -> list[AdvancedEventSelector]:
    """The advanced selectors that select exactly what ``basic`` does (CloudTrail's own conversion):
    one for the management events of each selector that includes them, one per resource type of its
    DataResources."""
    out: list[AdvancedEventSelector] = []
    for selector in basic:
        rw = selector.read_write_type
        if selector.include_management_events:
            fields = [_field("eventCategory", equals=["Management"]), *_read_only(rw)]
            if selector.exclude_management_event_sources:
                fields.append(
                    _field("eventSource", not_equals=list(selector.exclude_management_event_sources))
                )
            out.append(AdvancedEventSelector(field_selectors=fields))
        by_type: dict[str, list[DataResource]] = {}
        for resource in selector.data_resources:
            by_type.setdefault(resource.type, []).append(resource)
        out.extend(_data_selector(kind, resources, rw) for kind, resources in by_type.items())
    return out


# -- a whole selection -------------------------------------------------------------------------------------


TypedRule = tuple[tuple[tuple[str, Test], ...], Test | None]
StoredRule = tuple[Test | None, tuple[tuple[str, Test], ...]]


@dataclass(frozen=True, slots=True)
class Matcher:
    """A trail's selection compiled: the rules that can match each stored kind of event, and which kinds
    the row's columns alone decide."""

    by_kind: dict[int, tuple[Rule, ...]]
    row_decided: frozenset[int]
    # What the rules of the other kinds need read out of the record bytes.
    read: Reader
    # eventSources the trail leaves out whatever its selectors say (global services).
    excluded_sources: frozenset[str] = frozenset()
    # Per kind, the rules with a plain resources.type by each type they name, and the other rules: a
    # data event is tested only against the rules of the resource types it names (an S3 object read is
    # never tested against a trail's Lambda and DynamoDB selectors). A typed rule is kept as its record
    # tests and its resources.ARN test, applied to the one resource it was found by (``selects_values``).
    by_type: dict[int, dict[str | None, tuple[TypedRule, ...]]] = field(default_factory=dict)
    untyped: dict[int, tuple[Rule, ...]] = field(default_factory=dict)
    # Whether a rule tests eventSource or readOnly beyond its category: only then do stored facts
    # need the row's columns added.
    columns: bool = False
    # For stored facts (``Picker``): a decoder of the fields the rules test, and per kind whose rules
    # all name a plain resources.type, ``by_type`` with record tests by the decoder's attributes.
    stored: msgspec.msgpack.Decoder[Any] = STORED
    stored_typed: dict[int, dict[str | None, tuple[StoredRule, ...]]] = field(default_factory=dict)

    def selects(self, kind: int, facts: Facts) -> bool:
        if self.excluded_sources and facts.values.get("eventSource") in self.excluded_sources:
            return False
        return self.selects_values(kind, facts.values, facts.resources)

    def selects_values(self, kind: int, values: dict[str, str | None], resources: Sequence[Resource]) -> bool:
        """``selects`` on a record's facts as parts (no ``Facts`` built), its eventSource known not to
        be excluded. Loops, not any(generator), and no empty defaults built: this runs for every data
        event delivery reads."""
        typed = self.by_type.get(kind)
        if typed:
            # A typed rule matches when SOME resource of its types passes its ARN test and the record
            # passes its record tests: every such resource comes by here once, the rule filed under
            # its type, so testing the resource in hand is enough (and loops over resources once).
            for resource in resources:
                rules = typed.get(resource.type)
                if rules is not None:
                    for record, arn in rules:
                        if arn is None or arn(resource.ARN):
                            for name, test in record:
                                if not test(values.get(name)):
                                    break
                            else:
                                return True
        untyped = self.untyped.get(kind)
        if untyped:
            facts = Facts(values, resources)
            for rule in untyped:
                if rule.matches(facts):
                    return True
        return False

    def wants_kind(self, kind: int) -> bool:
        return bool(self.by_kind.get(kind))


def compile_selection(selection: EventSelection, excluded_sources: Iterable[str] = ()) -> Matcher:
    """Compile a trail's selection (basic or advanced) once; ``Matcher.selects`` then tests events."""
    advanced = (
        selection.advanced if selection.advanced is not None else advanced_equivalent(selection.basic or ())
    )
    rules = [Rule.of(s) for s in advanced]
    by_kind: dict[int, tuple[Rule, ...]] = {}
    by_type: dict[int, dict[str | None, tuple[TypedRule, ...]]] = {}
    untyped: dict[int, tuple[Rule, ...]] = {}
    row_decided: set[int] = set()
    needed: set[str] = set()
    for kind, category in CATEGORY_OF_KIND.items():
        wanted = tuple(r for r in rules if r.allows(category))
        by_kind[kind] = wanted
        untyped[kind] = tuple(r for r in wanted if r.resource_types is None)
        types: dict[str, list[Rule]] = {}
        for rule in wanted:
            for name in sorted(rule.resource_types or ()):
                types.setdefault(name, []).append(rule)
        by_type[kind] = {
            name: tuple((r.record, r.resource_arn) for r in found) for name, found in types.items()
        }
        if all(r.fields <= ROW_FIELDS for r in wanted):
            row_decided.add(kind)
        else:
            needed.update(*(r.fields for r in wanted))
    tested = {name for r in rules for name, _ in r.record}
    columns = not tested.isdisjoint(("eventSource", "readOnly"))
    stored_typed = {
        kind: {
            name: tuple((arn, tuple((attribute(n), t) for n, t in record)) for record, arn in found)
            for name, found in by_type[kind].items()
        }
        for kind in CATEGORY_OF_KIND
        if by_kind[kind] and kind not in row_decided and not untyped[kind]
    }
    read = tested | ({"eventSource", "readOnly"} if columns else set())
    decoder = stored_decoder(read) if stored_typed else STORED
    return Matcher(
        by_kind,
        frozenset(row_decided),
        Reader(frozenset(needed)),
        frozenset(excluded_sources),
        by_type,
        untyped,
        columns,
        decoder,
        stored_typed,
    )
