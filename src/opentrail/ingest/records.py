"""One CloudTrail record checked and indexed: ``index_record`` turns raw bytes into the ``EventRow`` the
store keeps (the fields history indexes, the selector facts of a data event, the bytes as sent), or
raises ``RecordError`` naming the field and what was wrong. Native ingest, PutAuditEvents and the
service's own audit events all store their records through it.
"""

from __future__ import annotations

import re

from opentrail.clock import parse_time, to_millis
from opentrail.errors import RecordError
from opentrail.events import (
    EventRow,
    EventTimes,
    Kind,
    decode_view,
    kind_of,
    lenient_identity,
    username_of,
)
from opentrail.selectors.facts import selector_facts

MAX_RECORD_BYTES = 256 * 1024  # CloudTrail's event size limit since eventVersion 1.05
_REGION = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# A set, not ``kind is Kind.DATA or ...``: an enum member's attribute lookup costs 0.1 µs on Python
# 3.11, and management ingest pays it per record.
_WITH_FACTS = frozenset({Kind.DATA, Kind.NETWORK})


def _require(value: str | None, name: str) -> str:
    if value is None or value == "":
        raise RecordError(f"record is missing required field {name}", code="FieldNotFound")
    return value


def index_record(raw: bytes, account: str, times: EventTimes | None = None) -> EventRow:
    """Validate one record and extract what the store indexes. ``account`` owns the event stream;
    ``times``: the service's remembered eventTimes (without, each record's time is parsed)."""
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
    when = _require(view.eventTime, "eventTime")
    time_ms = times.millis(when) if times is not None else to_millis(parse_time(when))
    kind = kind_of(view)
    identity = view.userIdentity
    name, source = view.eventName, view.eventSource
    if kind is Kind.INSIGHT and view.insightDetails is not None:
        name = name or view.insightDetails.eventName
        source = source or view.insightDetails.eventSource
    elif view.eventData is not None and view.eventCategory == "ActivityAuditLog":
        name, source = view.eventData.eventName, view.eventData.eventSource
        identity = lenient_identity(view.eventData.userIdentity)
    else:
        _require(source, "eventSource")
        _require(name, "eventName")
    # A listing's ARNPrefix stands for its ARN: selectors select it by the objects it covers.
    resources = [(r.type, r.ARN if r.ARN is not None else r.ARNPrefix) for r in view.resources or ()]
    facts = selector_facts(raw, view, resources) if kind in _WITH_FACTS else None
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
