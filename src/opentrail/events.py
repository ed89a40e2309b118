"""The CloudTrail record: what OpenTrail reads from it, and how it is kept.

A record is kept as the exact bytes its producer sent (they are evidence, and CloudTrail keeps adding
fields). Only the few fields that history indexes and selectors need are decoded, into ``RecordView``;
everything else passes through untouched. A record is stored as an ``EventRow``: its index fields and
its bytes (``ingest.records.index_record`` validates a record and makes its row).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Sequence
from typing import Any

import cachetools
import msgspec

from opentrail.clock import format_time, parse_time, to_millis
from opentrail.errors import RecordError

EVENT_VERSION = "1.11"


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


class Identity(msgspec.Struct):
    """``userIdentity``, as far as history reads it."""

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
    # What S3 writes instead of ARN for the objects a listing covers (``arn:aws:s3:::bucket/prefix``).
    ARNPrefix: str | None = None


class _InsightDetails(msgspec.Struct):
    eventSource: str | None = None
    eventName: str | None = None


class _ActivityData(msgspec.Struct):
    """``eventData`` of a CloudTrail Lake integration (PutAuditEvents) record. Producers shape their
    identity freely beyond ``type`` and ``principalId``, so it is read leniently."""

    eventSource: str | None = None
    eventName: str | None = None
    userIdentity: dict[str, Any] | None = None


def lenient_identity(raw: dict[str, Any] | None) -> Identity | None:
    """The identity a CloudTrail Lake integration's producer wrote in ``eventData``: its text members,
    whatever else it holds."""
    if raw is None:
        return None
    fields = ("type", "principalId", "arn", "accountId", "accessKeyId", "userName")
    return Identity(**{f: raw[f] for f in fields if isinstance(raw.get(f), str)})


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
    userIdentity: Identity | None = None
    resources: list[_Resource] | None = None
    insightDetails: _InsightDetails | None = None
    eventData: _ActivityData | None = None


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
    # ``selectors.facts.SelectorFacts`` as msgpack for data and network activity events; None for the
    # other kinds (their stored columns are all selectors read) and for rows stored before the facts
    # were kept.
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


def username_of(identity: Identity | None) -> str | None:
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


def decode_view(raw: bytes) -> RecordView:
    try:
        return _view_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise RecordError(f"record field has the wrong type: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"record is not valid JSON: {exc}") from None
    except RecursionError:
        raise RecordError("record is nested too deeply") from None


class EventTimes:
    """eventTime texts and the epoch times they stand for, remembered for the latest few: the records
    of a batch mostly share a few seconds, and a lookup costs a tenth of parsing. Held by
    ``Services``; safe across ingest's thread pool."""

    def __init__(self, size: int = 4096) -> None:
        # Hand-written, not cachetools: ingest looks up a time for every record, and where records are
        # seconds apart (a replayed log file, bench.lookup's load) each is a miss, which costs 3.0 µs
        # through a cachetools FIFOCache against 1.0 here (parsing alone 0.9); a hit 0.13 µs against
        # 0.11. Cleared when full; a race between threads at worst parses a time twice.
        self._millis: dict[str, int] = {}
        self._size = size
        # One per audited call, not per record: cachetools, with a lock for its writes.
        self._texts: cachetools.FIFOCache[int, str] = cachetools.FIFOCache(64)
        self._lock = threading.Lock()

    def millis(self, text: str) -> int:
        """Epoch milliseconds of an eventTime; ``RecordError`` when it is not an ISO-8601 time."""
        millis = self._millis.get(text)
        if millis is None:
            if len(self._millis) >= self._size:
                self._millis.clear()
            millis = self._millis[text] = to_millis(parse_time(text))
        return millis

    def text(self, second: int) -> str:
        """The eventTime of ``second``: calls within one second share it (CloudTrail records whole
        seconds). A FIFO cache's hit changes nothing, so reads take no lock."""
        try:
            return self._texts[second]
        except KeyError:
            pass
        text = format_time(second)
        with self._lock:
            self._texts[second] = text
        return text


_encoder = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def decode(raw: bytes | str) -> Any:
    return msgspec.json.decode(raw)
