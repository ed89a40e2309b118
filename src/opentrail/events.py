"""The CloudTrail record: what OpenTrail reads from it, and how it is kept.

A record is kept as the exact bytes its producer sent (they are evidence, and CloudTrail keeps adding
fields). Only the few fields that history indexes and selectors need are decoded, into ``RecordView``;
everything else passes through untouched. ``index_record`` turns raw bytes into an ``EventRow`` ready for
the store, or raises ``RecordError`` naming the field and what was wrong.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from typing import Any

import msgspec

from opentrail.clock import parse_time, to_millis
from opentrail.errors import RecordError

MAX_RECORD_BYTES = 256 * 1024  # CloudTrail's event size limit since eventVersion 1.05
EVENT_VERSION = "1.11"
_REGION = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class Kind(enum.IntEnum):
    """Event category, as stored. Event history shows MANAGEMENT (and INSIGHT on request)."""

    MANAGEMENT = 0
    DATA = 1
    INSIGHT = 2
    NETWORK = 3


class _SessionIssuer(msgspec.Struct):
    userName: str | None = None


class _SessionContext(msgspec.Struct):
    sessionIssuer: _SessionIssuer | None = None


class _Identity(msgspec.Struct):
    type: str | None = None
    principalId: str | None = None
    arn: str | None = None
    accountId: str | None = None
    accessKeyId: str | None = None
    userName: str | None = None
    sessionContext: _SessionContext | None = None


class _Resource(msgspec.Struct):
    ARN: str | None = None
    type: str | None = None


class _InsightDetails(msgspec.Struct):
    eventSource: str | None = None
    eventName: str | None = None


class _ActivityData(msgspec.Struct):
    """``eventData`` of a CloudTrail Lake integration (PutAuditEvents) record. Producers shape their
    identity freely beyond ``type`` and ``principalId``, so it is read leniently."""

    eventSource: str | None = None
    eventName: str | None = None
    userIdentity: dict[str, Any] | None = None


def _lenient_identity(raw: dict[str, Any] | None) -> _Identity | None:
    if raw is None:
        return None
    fields = ("type", "principalId", "arn", "accountId", "accessKeyId", "userName")
    return _Identity(**{f: raw[f] for f in fields if isinstance(raw.get(f), str)})


class RecordView(msgspec.Struct):
    """The fields OpenTrail reads; unknown fields are ignored here and kept in the raw bytes."""

    eventVersion: str | None = None
    eventTime: str | None = None
    eventSource: str | None = None
    eventName: str | None = None
    awsRegion: str | None = None
    eventID: str | None = None
    readOnly: bool | None = None
    eventType: str | None = None
    eventCategory: str | None = None
    managementEvent: bool | None = None
    userIdentity: _Identity | None = None
    resources: list[_Resource] | None = None
    insightDetails: _InsightDetails | None = None
    eventData: _ActivityData | None = None


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


def selector_facts(
    raw: bytes, view: RecordView, identity: _Identity | None, resources: list[Any]
) -> bytes | None:
    """A data or network activity record's ``SelectorFacts`` as stored, or None when one of the fields
    ``RecordView`` leaves out holds what selectors do not expect (a number, an object): such a
    record's facts are left to the selector engine's lenient reading of the record, exactly as before
    facts were stored."""
    values: dict[str, str] = {}
    if view.eventName is not None:
        values["eventName"] = view.eventName
    if view.eventType is not None:
        values["eventType"] = view.eventType
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


_view_decoder = msgspec.json.Decoder(RecordView)


class EventRow(msgspec.Struct, gc=False):
    """One record ready for the store: index fields plus the raw bytes. A msgspec Struct: built for
    every record ingested and every row read, where a slotted dataclass cost 1.6 µs to build (0.4)
    and untracked by the cycle collector (it holds only strings, numbers and tuples)."""

    account: str
    region: str
    kind: Kind
    time_ms: int
    event_id: str
    event_name: str | None
    event_source: str | None
    read_only: bool | None
    username: str | None
    access_key_id: str | None
    record: bytes
    # The record's resources[] as (type, ARN) pairs, as ingest reads them; () when it names none.
    resources: Sequence[tuple[str | None, str | None]] = ()
    # ``SelectorFacts`` as msgpack for data and network activity events; None for the other kinds
    # (their stored columns are all selectors read) and for rows stored before the facts were kept.
    facts: bytes | None = None


class StoredEvent(msgspec.Struct, gc=False):
    seq: int
    row: EventRow


def kind_of(view: RecordView) -> Kind:
    category = view.eventCategory
    if category == "Insight" or view.eventType == "AwsCloudTrailInsight":
        return Kind.INSIGHT
    if category == "Data":
        return Kind.DATA
    if category == "NetworkActivity":
        return Kind.NETWORK
    if category is None and view.managementEvent is False:
        return Kind.DATA  # records before eventVersion 1.07 carry no category
    # Management, and ActivityAuditLog (Lake integrations) until event data stores exist.
    return Kind.MANAGEMENT


def username_of(identity: _Identity | None) -> str | None:
    """The ``Username`` LookupEvents reports: user name, role session name, or ``root``."""
    if identity is None:
        return None
    if identity.userName:
        return identity.userName
    if identity.type == "Root":
        return "root"
    if identity.type in ("AssumedRole", "FederatedUser") and identity.arn:
        return identity.arn.rsplit("/", 1)[-1]
    if identity.sessionContext and identity.sessionContext.sessionIssuer:
        return identity.sessionContext.sessionIssuer.userName
    return None


def _require(value: str | None, name: str) -> str:
    if value is None or value == "":
        raise RecordError(f"record is missing required field {name}", code="FieldNotFound")
    return value


def decode_view(raw: bytes) -> RecordView:
    try:
        return _view_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise RecordError(f"record field has the wrong type: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"record is not valid JSON: {exc}") from None
    except RecursionError:
        raise RecordError("record is nested too deeply") from None


# eventTime text -> epoch ms: the records of a batch mostly share a few seconds, and a dict lookup costs
# a tenth of parsing. Cleared when full; a race between threads at worst parses a time twice.
_millis: dict[str, int] = {}
_MILLIS_CACHED = 4096


def _event_millis(text: str) -> int:
    millis = _millis.get(text)
    if millis is None:
        if len(_millis) >= _MILLIS_CACHED:
            _millis.clear()
        millis = _millis[text] = to_millis(parse_time(text))
    return millis


# A set, not ``kind is Kind.DATA or ...``: an enum member's attribute lookup costs 0.1 µs on Python
# 3.11, and management ingest pays it per record.
_WITH_FACTS = frozenset({Kind.DATA, Kind.NETWORK})


def index_record(raw: bytes, account: str) -> EventRow:
    """Validate one record and extract what the store indexes. ``account`` owns the event stream."""
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(
            f"record is {len(raw)} bytes; CloudTrail records are at most {MAX_RECORD_BYTES} bytes",
            code="FieldTooLong",
        )
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Stored bytes are returned as JSON text by history and log files, which must be UTF-8.
        raise RecordError(f"record is not valid UTF-8 JSON text: {exc}") from None
    view = decode_view(raw)
    if view.eventVersion is None:
        raise RecordError("record is missing required field eventVersion", code="FieldNotFound")
    event_id = _require(view.eventID, "eventID")
    if len(event_id) > 1024:
        raise RecordError(f"eventID is {len(event_id)} characters; at most 1024", code="FieldTooLong")
    region = _require(view.awsRegion, "awsRegion")
    if not _REGION.match(region):
        raise RecordError(f"awsRegion must look like a region name such as us-east-1, got {region!r}")
    time_ms = _event_millis(_require(view.eventTime, "eventTime"))
    kind = kind_of(view)
    identity = view.userIdentity
    name, source = view.eventName, view.eventSource
    if kind is Kind.INSIGHT and view.insightDetails is not None:
        name = name or view.insightDetails.eventName
        source = source or view.insightDetails.eventSource
    elif view.eventData is not None and view.eventCategory == "ActivityAuditLog":
        name, source = view.eventData.eventName, view.eventData.eventSource
        identity = _lenient_identity(view.eventData.userIdentity)
    else:
        _require(source, "eventSource")
        _require(name, "eventName")
    resources = [(r.type, r.ARN) for r in view.resources or ()]
    facts = selector_facts(raw, view, identity, resources) if kind in _WITH_FACTS else None
    return EventRow(
        account=account,
        region=region,
        kind=kind,
        time_ms=time_ms,
        event_id=event_id,
        event_name=name,
        event_source=source,
        read_only=view.readOnly,
        username=username_of(identity),
        access_key_id=identity.accessKeyId if identity else None,
        record=raw,
        resources=resources,
        facts=facts,
    )


_encoder = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def decode(raw: bytes | str) -> Any:
    return msgspec.json.decode(raw)
