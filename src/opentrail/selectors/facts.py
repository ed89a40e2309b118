"""A record's selector facts: what CloudTrail's advanced selectors read of an event (reference §8), as
``Facts``, for the matching engine (``engine``).

Written once, at ingest: ``selector_facts`` decides a data or network activity event's facts
(``SelectorFacts``) and they are stored beside its record (``EventRow.facts``; ADR 0009). Read by
delivery and ingest's coverage from three sources that give the same facts: the row's stored columns
(eventCategory, eventSource, readOnly: all that management selectors read), the stored facts
(``stored_facts``, ``stored_decoder``), and, for rows stored before those were kept, the record bytes
(``Reader``, ``facts_of``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from opentrail.events import Kind, RecordView

# Every field an advanced selector may name (trails and event data stores).
FIELDS = (
    "eventCategory",
    "eventSource",
    "eventName",
    "eventType",
    "readOnly",
    "resources.type",
    "resources.ARN",
    "userIdentity.arn",
    "errorCode",
    "sessionCredentialFromConsole",
    "vpcEndpointId",
)
# Fields the store keeps as columns of every row, so a decision on them alone can be cached per row shape.
ROW_FIELDS = frozenset({"eventCategory", "eventSource", "readOnly"})
CATEGORY_OF_KIND: dict[int, str] = {
    Kind.MANAGEMENT: "Management",
    Kind.DATA: "Data",
    Kind.INSIGHT: "Insight",
    Kind.NETWORK: "NetworkActivity",
}
RESOURCE_FIELDS = ("resources.type", "resources.ARN")


# -- written at ingest ----------------------------------------------------------------------------------


class SelectorFacts(msgspec.Struct, array_like=True, omit_defaults=True, gc=False):
    """What advanced selectors read from a data or network activity record beyond the row's columns
    (eventCategory, eventSource, readOnly), decided once by ``index_record`` and stored beside the
    record, so delivery and ingest's coverage select data events without parsing the record's JSON
    again (ADR 0009). As msgpack (``FACTS``): an array of the record-level fields that are present, by
    selector field name, as text as selectors compare it (a map that decodes straight into the dict
    the engine matches on), and the resources[] entries as [type, ARN] pairs."""

    values: dict[str, str]
    resources: list[tuple[str | None, str | None]] = []


_ABSENT = msgspec.Raw()


class _MoreFacts(msgspec.Struct):
    """The selector fields ``RecordView`` leaves out, read from a data event's bytes a second time:
    three more fields in RecordView cost every management record 0.2 µs at ingest. Kept raw: ingest
    never refused a record for these fields, whatever they hold. An empty Raw when absent (msgspec
    takes no ``Raw | None``)."""

    errorCode: msgspec.Raw = _ABSENT
    sessionCredentialFromConsole: msgspec.Raw = _ABSENT
    vpcEndpointId: msgspec.Raw = _ABSENT


_more_facts = msgspec.json.Decoder(_MoreFacts)
FACTS = msgspec.msgpack.Encoder()
_OPTIONAL_TEXT = msgspec.json.Decoder(str | None)
_TEXT_OR_FLAG = msgspec.json.Decoder(str | bool | None)


def selector_facts(raw: bytes, view: RecordView, resources: list[Any]) -> bytes | None:
    """A data or network activity record's ``SelectorFacts`` as stored, or None when one of the fields
    ``RecordView`` leaves out holds what selectors do not expect (a number, an object): such a
    record's facts are left to the selector engine's lenient reading of the record, exactly as before
    facts were stored. ``resources``: the record's resources[] as (type, ARN) pairs."""
    values: dict[str, str] = {}
    if view.eventName is not None:
        values["eventName"] = view.eventName
    if view.eventType is not None:
        values["eventType"] = view.eventType
    identity = view.userIdentity
    if identity is not None and identity.arn is not None:
        values["userIdentity.arn"] = identity.arn
    try:
        more = _more_facts.decode(raw)
        error = _OPTIONAL_TEXT.decode(more.errorCode) if more.errorCode else None
        endpoint = _OPTIONAL_TEXT.decode(more.vpcEndpointId) if more.vpcEndpointId else None
        flag = more.sessionCredentialFromConsole
        console = _TEXT_OR_FLAG.decode(flag) if flag else None
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    if error is not None:
        values["errorCode"] = error
    if isinstance(console, bool):
        values["sessionCredentialFromConsole"] = "true" if console else "false"
    elif console is not None:
        values["sessionCredentialFromConsole"] = console
    if endpoint is not None:
        values["vpcEndpointId"] = endpoint
    # The tuple encodes as the SelectorFacts array, without building one.
    return FACTS.encode((values, resources))


# -- read by delivery and coverage ----------------------------------------------------------------------


class Resource(msgspec.Struct, gc=False):
    """One entry of a record's ``resources[]``, as selectors read it."""

    type: str | None = None
    ARN: str | None = None


class _RecordResource(Resource, gc=False):
    """A ``Resource`` read from a record's JSON, where S3 writes a listing's ``ARNPrefix`` (the bucket
    and the prefix listed) instead of an ARN: selectors select the listing by the objects it covers."""

    ARNPrefix: str | None = None

    def __post_init__(self) -> None:
        if self.ARN is None:
            self.ARN = self.ARNPrefix


class Facts(msgspec.Struct, gc=False):
    """A record's selector fields as text (``readOnly`` as ``"true"``/``"false"``), None when absent,
    and its ``resources[]``. A Struct outside the cycle collector: one is built per data event read,
    and it holds only text and Resources."""

    values: dict[str, str | None]
    resources: Sequence[Resource] = ()


class _IdentityArn(msgspec.Struct, gc=False):
    arn: str | None = None


def _text(value: Any) -> str | None:
    """A record value as selectors compare it: booleans as CloudTrail writes them in selectors."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def _lenient(raw: bytes, category: str | None) -> Facts:
    """The selector fields of a record with unexpected types (stored by an older, looser validation):
    scalars as text, and whatever is not an object or list where one is expected is absent."""
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        data = None
    if not isinstance(data, dict):
        return Facts({"eventCategory": category})
    identity = data.get("userIdentity")
    resources = data.get("resources")
    values = {name: _text(data.get(name)) for name in _SCALARS}
    values["eventCategory"] = category
    values["userIdentity.arn"] = _text(identity.get("arn")) if isinstance(identity, dict) else None
    entries = [
        Resource(_text(r.get("type")), _text(r["ARN"] if r.get("ARN") is not None else r.get("ARNPrefix")))
        for r in (resources if isinstance(resources, list) else ())
        if isinstance(r, dict)
    ]
    return Facts(values, entries)


_SCALARS = (
    "eventSource",
    "eventName",
    "eventType",
    "readOnly",
    "errorCode",
    "sessionCredentialFromConsole",
    "vpcEndpointId",
)


def row_facts(kind: int, read_only: int | bool | None, event_source: str | None) -> Facts:
    """The facts a store row's columns give without reading the record."""
    return Facts(
        {
            "eventCategory": CATEGORY_OF_KIND.get(kind),
            "eventSource": event_source,
            "readOnly": READ_ONLY_TEXT[read_only],
        }
    )


class Reader:
    """Reads the selector fields a matcher needs beyond the row's columns (eventCategory, eventSource,
    readOnly; with ``columns`` False, those too), with a decoder made for exactly those fields: msgspec
    then allocates nothing for the rest of the record (for S3 data events with resources.ARN
    conditions, about half the decode)."""

    def __init__(self, fields: frozenset[str], columns: bool = True) -> None:
        self.columns = columns
        self.scalars = tuple(n for n in _SCALARS if n in fields and not (columns and n in ROW_FIELDS))
        members: list[tuple[str, Any, Any]] = [(n, _SCALAR_TYPES[n], None) for n in self.scalars]
        self.identity = "userIdentity.arn" in fields
        if self.identity:
            members.append(("userIdentity", _IdentityArn | None, None))
        self.resources = not fields.isdisjoint(RESOURCE_FIELDS)
        if self.resources:
            members.append(("resources", list[_RecordResource] | None, None))
        self.decoder = msgspec.json.Decoder(msgspec.defstruct("Selected", members, gc=False))
        self.empty = not members

    def __call__(
        self,
        raw: bytes,
        kind: int,
        read_only: int | bool | None,
        event_source: str | None,
        stored: bytes | None = None,
    ) -> Facts:
        """The facts of a row: from ``stored`` (``EventRow.facts``) when ingest kept them, else from
        the record bytes (rows stored before facts were kept, or a damaged blob)."""
        if stored is not None and self.columns:
            try:
                return stored_facts(stored, kind, read_only, event_source)
            except (msgspec.ValidationError, msgspec.DecodeError):
                pass
        values = {
            "eventCategory": CATEGORY_OF_KIND.get(kind),
            "eventSource": event_source,
            "readOnly": READ_ONLY_TEXT[read_only],
        }
        if self.empty:
            return Facts(values)
        try:
            decoded: Any = self.decoder.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            full = _lenient(raw, values["eventCategory"])
            if self.columns:
                full.values.update(values)
            return full
        for name in self.scalars:
            value = getattr(decoded, name)
            values[name] = ("true" if value else "false") if value is True or value is False else value
        if self.identity:
            identity = decoded.userIdentity
            values["userIdentity.arn"] = None if identity is None else identity.arn
        return Facts(values, (decoded.resources or ()) if self.resources else ())


# readOnly as the store keeps it (1, 0 or NULL) or as a record has it, in selector text.
READ_ONLY_TEXT: dict[int | bool | None, str | None] = {None: None, 0: "false", 1: "true"}


_SCALAR_TYPES: dict[str, Any] = {
    "eventSource": str | None,
    "eventName": str | None,
    "eventType": str | None,
    "readOnly": bool | None,
    "errorCode": str | None,
    "sessionCredentialFromConsole": str | bool | None,
    "vpcEndpointId": str | None,
}
_EVERY_FIELD = Reader(frozenset(FIELDS), columns=False)


def facts_of(raw: bytes, kind: int) -> Facts:
    """Every selector field of a stored record, all read from its bytes. ``kind`` is the store's
    category, which also covers records older than eventVersion 1.07 (no eventCategory;
    ``managementEvent: false`` means Data)."""
    return _EVERY_FIELD(raw, kind, None, None)


class _StoredResource(Resource, array_like=True, gc=False):
    """A ``Resource`` as ``SelectorFacts`` stores it: a [type, ARN] pair."""


class StoredSelectorFacts(msgspec.Struct, array_like=True, gc=False):
    """``SelectorFacts`` as selectors read it back: its resources as Resources."""

    values: dict[str, str | None]
    resources: list[_StoredResource] = []


STORED = msgspec.msgpack.Decoder(StoredSelectorFacts)


def attribute(name: str) -> str:
    """The attribute ``stored_decoder``'s values carry selector field ``name`` as."""
    return name.replace(".", "_")


def stored_decoder(fields: Iterable[str]) -> msgspec.msgpack.Decoder[Any]:
    """A decoder of ``SelectorFacts`` blobs made for the selector fields a trail's rules test: its
    ``values`` a Struct with exactly those fields (by ``attribute``, None when absent), its
    ``resources`` as ``STORED`` reads them. msgspec then skips the values no rule reads and builds no
    dict (0.43 µs a blob against 0.55). eventSource and readOnly, when named, are never in the blob:
    the row's columns hold them, and the caller sets them."""
    names = sorted(set(fields) - {"eventCategory", *RESOURCE_FIELDS})
    values = msgspec.defstruct(
        "StoredValues",
        [(attribute(n), str | None, None) for n in names],
        rename={attribute(n): n for n in names},
        gc=False,
    )
    return msgspec.msgpack.Decoder(
        msgspec.defstruct(
            "StoredFacts",
            [("values", values), ("resources", list[_StoredResource], [])],
            array_like=True,
            gc=False,
        )
    )


def stored_facts(blob: bytes, kind: int, read_only: int | bool | None, event_source: str | None) -> Facts:
    """Every selector field of a data or network activity event from the row's columns and the facts
    ingest stored for it (``EventRow.facts``): a msgpack decode of ~200 bytes, straight into the
    values dict, instead of a JSON decode of the ~1.2 KB record. Raises ``msgspec.DecodeError`` (or
    its ``ValidationError``) for a damaged blob."""
    found = STORED.decode(blob)
    values = found.values
    values["eventCategory"] = CATEGORY_OF_KIND.get(kind)
    values["eventSource"] = event_source
    values["readOnly"] = READ_ONLY_TEXT[read_only]
    return Facts(values, found.resources)
