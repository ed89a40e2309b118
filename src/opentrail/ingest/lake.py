"""CloudTrail Lake integration events: the PutAuditEvents payload, checked and converted.

A producer sends ``{"auditEvents": [{"id", "eventData", "eventDataChecksum"?}, ...]}`` where
``eventData`` is a JSON *string*. Each entry is checked on its own (checksum, schema, field limits,
recipient) and, when good, wrapped the way CloudTrail wraps it::

    {"eventVersion", "eventCategory": "ActivityAuditLog", "eventType": "ActivityLog", "eventID",
     "eventTime", "awsRegion", "recipientAccountId", "metadata": {"ingestionTime", "channelARN"},
     "eventData": <the producer's JSON text, byte for byte>}

The producer's text is spliced in verbatim rather than re-serialised: it is evidence, and a decode and
encode round trip could change its whitespace, number spellings, escapes or duplicate keys. Limits and
field names follow AWS's "CloudTrail Lake integrations event schema" page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from opentrail.errors import (
    DuplicatedAuditEventId,
    RecordError,
    SerializationException,
    ValidationException,
)
from opentrail.events import EVENT_VERSION, EventRow, EventTimes, encode
from opentrail.ingest.records import index_record

MAX_EVENTS_PER_CALL = 100
MAX_REQUEST_BYTES = 1024 * 1024

_ID = re.compile(r"[-_A-Za-z0-9]{1,128}", re.ASCII)
# CloudTrail documents yyyy-MM-ddTHH:mm:ss (UTC); producers commonly add the Z, so it is optional.
_EVENT_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z?", re.ASCII)
_KB = 1024


class _Entry(msgspec.Struct):
    id: str
    eventData: str
    eventDataChecksum: str | None = None


class _Request(msgspec.Struct):
    auditEvents: list[_Entry]


_request_decoder = msgspec.json.Decoder(_Request)
_MISSING = msgspec.Raw(b"")


class _Identity(msgspec.Struct):
    type: msgspec.Raw = _MISSING
    principalId: msgspec.Raw = _MISSING
    details: msgspec.Raw = _MISSING


class _EventData(msgspec.Struct):
    """The schema fields of ``eventData``, each kept raw so its size is measured on the sent text."""

    version: msgspec.Raw = _MISSING
    userIdentity: msgspec.Raw = _MISSING
    userAgent: msgspec.Raw = _MISSING
    eventSource: msgspec.Raw = _MISSING
    eventName: msgspec.Raw = _MISSING
    eventTime: msgspec.Raw = _MISSING
    UID: msgspec.Raw = _MISSING
    requestParameters: msgspec.Raw = _MISSING
    responseElements: msgspec.Raw = _MISSING
    errorCode: msgspec.Raw = _MISSING
    errorMessage: msgspec.Raw = _MISSING
    sourceIPAddress: msgspec.Raw = _MISSING
    recipientAccountId: msgspec.Raw = _MISSING
    additionalEventData: msgspec.Raw = _MISSING


_event_data_decoder = msgspec.json.Decoder(_EventData)
_identity_decoder = msgspec.json.Decoder(_Identity)

# (field, required, longest string in characters), checked after version and userIdentity.
_STRINGS: tuple[tuple[str, bool, int | None], ...] = (
    ("userAgent", False, 1024),
    ("eventSource", True, 1024),
    ("eventName", True, 1024),
    ("eventTime", True, None),
    ("UID", True, 1024),
    ("errorCode", False, 256),
    ("errorMessage", False, 256),
    ("sourceIPAddress", False, None),
    ("recipientAccountId", True, None),
)
# JSON-object fields and their size limits in bytes of the sent text.
_OBJECTS: tuple[tuple[str, int], ...] = (
    ("requestParameters", 100 * _KB),
    ("responseElements", 100 * _KB),
    ("additionalEventData", 28 * _KB),
)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One entry of ``auditEvents``: the producer's id, its eventData text and optional checksum."""

    id: str
    event_data: str
    checksum: str | None


@dataclass(frozen=True, slots=True)
class Target:
    """Where converted events go: the channel, its owner and the region of the call."""

    channel_arn: str
    account: str
    region: str
    ingestion_time: str


def parse_request(body: bytes) -> list[AuditEvent]:
    """The entries of a PutAuditEvents body, or the request-level error CloudTrail answers."""
    if len(body) > MAX_REQUEST_BYTES:
        raise ValidationException(
            f"request body is {len(body)} bytes; PutAuditEvents accepts at most {MAX_REQUEST_BYTES} "
            "bytes (1 MB) per call"
        )
    try:
        request = _request_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ValidationException(
            'request body must be {"auditEvents": [{"id", "eventData", "eventDataChecksum"}, ...]}: '
            f"{exc}"
        ) from None
    except msgspec.DecodeError as exc:
        raise SerializationException(f"request body is not valid JSON: {exc}") from None
    except UnicodeDecodeError as exc:
        raise SerializationException(f"request body is not valid UTF-8 JSON: {exc}") from None
    except RecursionError:
        raise SerializationException("request body is nested too deeply to be read") from None
    count = len(request.auditEvents)
    if not 1 <= count <= MAX_EVENTS_PER_CALL:
        raise ValidationException(
            f"auditEvents must hold between 1 and {MAX_EVENTS_PER_CALL} events, got {count}"
        )
    seen: set[str] = set()
    for entry in request.auditEvents:
        if not _ID.fullmatch(entry.id):
            raise ValidationException(
                "auditEvents id must be 1-128 characters of letters, digits, '-' and '_', "
                f"got {entry.id[:140]!r}"
            )
        if entry.id in seen:
            raise DuplicatedAuditEventId(
                f"auditEvents holds id {entry.id!r} more than once; ids must be unique"
            )
        seen.add(entry.id)
    return [AuditEvent(e.id, e.eventData, e.eventDataChecksum) for e in request.auditEvents]


def _checksum_matches(given: str, data: bytes) -> bool:
    try:
        sent = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(sent, hashlib.sha256(data).digest())


def _string(raw: msgspec.Raw, name: str, required: bool, limit: int | None) -> str | None:
    if len(raw) == 0 or bytes(raw) == b"null":
        if required:
            raise RecordError(f"eventData is missing required field {name}", code="FieldNotFound")
        return None
    value = msgspec.json.decode(raw)
    if not isinstance(value, str):
        raise RecordError(
            f"eventData.{name} must be a string, got {type(value).__name__}", code="InvalidData"
        )
    if required and not value:
        raise RecordError(f"eventData field {name} is empty; it is required", code="FieldNotFound")
    if limit is not None and len(value) > limit:
        raise RecordError(
            f"eventData.{name} is {len(value)} characters long; the limit is {limit}", code="FieldTooLong"
        )
    return value


def _object(raw: msgspec.Raw, name: str, limit: int | None) -> None:
    if len(raw) == 0 or bytes(raw) == b"null":
        return
    if not bytes(raw).startswith(b"{"):
        raise RecordError(f"eventData.{name} must be a JSON object", code="InvalidData")
    if limit is not None and len(raw) > limit:
        raise RecordError(
            f"eventData.{name} is {len(raw)} bytes; the limit is {limit} bytes ({limit // _KB} kB)",
            code="FieldTooLong",
        )


def _identity(raw: msgspec.Raw) -> None:
    if len(raw) == 0 or bytes(raw) == b"null":
        raise RecordError("eventData is missing required field userIdentity", code="FieldNotFound")
    try:
        identity = _identity_decoder.decode(raw)
    except msgspec.ValidationError:
        raise RecordError("eventData.userIdentity must be a JSON object", code="InvalidData") from None
    _string(identity.type, "userIdentity.type", True, 128)
    _string(identity.principalId, "userIdentity.principalId", True, 1024)
    _object(identity.details, "userIdentity.details", None)


def event_time(text: str) -> str:
    """CloudTrail's ``yyyy-MM-ddTHH:mm:ss`` (UTC, optional ``Z``), returned with the ``Z``."""
    if not _EVENT_TIME.fullmatch(text):
        raise RecordError(
            f"eventData.eventTime must be a UTC time formatted yyyy-MM-ddTHH:mm:ss (optionally with Z), "
            f"got {text[:64]!r}",
            code="InvalidData",
        )
    try:
        datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")  # noqa: DTZ007 - only the calendar is checked
    except ValueError:
        raise RecordError(
            f"eventData.eventTime is not a real date and time: {text!r}", code="InvalidData"
        ) from None
    return text if text.endswith("Z") else text + "Z"


def check_event_data(entry: AuditEvent, owner: str) -> tuple[bytes, str]:
    """Validate one entry; return the eventData text as UTF-8 and its normalised eventTime."""
    try:
        data = entry.event_data.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError("eventData is not valid UTF-8 text (it holds an unpaired surrogate)") from None
    if entry.checksum is not None and not _checksum_matches(entry.checksum, data):
        raise RecordError(
            "eventDataChecksum does not match eventData: expected base64(SHA-256(eventData)) = "
            f"{base64.b64encode(hashlib.sha256(data).digest()).decode()}",
            code="InvalidChecksum",
        )
    try:
        fields = _event_data_decoder.decode(data)
    except msgspec.ValidationError:
        raise RecordError("eventData must be a JSON object encoded as a string", code="InvalidData") from None
    except msgspec.DecodeError as exc:
        raise RecordError(f"eventData is not valid JSON: {exc}", code="InvalidData") from None
    _string(fields.version, "version", True, 256)
    _identity(fields.userIdentity)
    values = {
        name: _string(getattr(fields, name), name, required, limit) for name, required, limit in _STRINGS
    }
    for name, size in _OBJECTS:
        _object(getattr(fields, name), name, size)
    when = event_time(values["eventTime"] or "")
    recipient = values["recipientAccountId"]
    if recipient != owner:
        raise RecordError(
            f"eventData.recipientAccountId is {recipient!r}; it must be {owner}, the account that owns "
            "the channel",
            code="InvalidRecipient",
        )
    return data, when


def convert(event_data: bytes, when: str, event_id: str, target: Target) -> bytes:
    """The stored record: CloudTrail's envelope with the producer's eventData text spliced in."""
    envelope: dict[str, Any] = {
        # AWS documents the field but not the value it writes for integration events; OpenTrail writes
        # its own record version so readers see one version across all its records.
        "eventVersion": EVENT_VERSION,
        "eventCategory": "ActivityAuditLog",
        "eventType": "ActivityLog",
        "eventID": event_id,
        "eventTime": when,
        "awsRegion": target.region,
        "recipientAccountId": target.account,
        "metadata": {"ingestionTime": target.ingestion_time, "channelARN": target.channel_arn},
    }
    head = encode(envelope)
    return head[:-1] + b',"eventData":' + event_data + b"}"


@dataclass(slots=True)
class Conversion:
    """What ``convert_all`` made of a request: the rows to store, the per-entry answers, and what the
    channel's IngestionStatus records of the attempt."""

    rows: list[EventRow]
    successful: list[dict[str, str]]
    failed: list[dict[str, str]]
    last_event_id: str | None = None
    last_success_id: str | None = None
    last_error: str | None = None


def _row(entry: AuditEvent, event_id: str, target: Target, times: EventTimes | None) -> EventRow:
    try:
        data, when = check_event_data(entry, target.account)
        return index_record(convert(data, when, event_id, target), target.account, times)
    except RecursionError:
        # msgspec decodes nested values recursively; a pathological depth is bad data, not a failure.
        raise RecordError("eventData is nested too deeply to be read", code="InvalidData") from None


def convert_all(
    entries: list[AuditEvent], target: Target, new_id: Callable[[], str], times: EventTimes | None = None
) -> Conversion:
    """Check and convert every entry; bad ones are reported, good ones become rows."""
    conversion = Conversion(rows=[], successful=[], failed=[])
    for entry in entries:
        event_id = new_id()
        conversion.last_event_id = event_id
        try:
            row = _row(entry, event_id, target, times)
        except RecordError as err:
            conversion.failed.append(
                {"id": entry.id, "errorCode": err.code, "errorMessage": err.message[:1024]}
            )
            conversion.last_error = err.code
            continue
        conversion.rows.append(row)
        conversion.successful.append({"id": entry.id, "eventID": event_id})
        conversion.last_success_id = event_id
    return conversion
