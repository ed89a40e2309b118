"""OpenTrail audits itself: every API call it serves becomes a management event, as CloudTrail does
(eventSource ``cloudtrail.amazonaws.com``, or ``organizations.amazonaws.com`` for Organizations calls).

A call is recorded, or it is not performed. Before a call runs, ``Entry.prepare`` makes sure its record
can be written: the request parameters are encoded once, and the call is refused (400, nothing changed)
if they cannot be. Parameters or response elements larger than CloudTrail's 100 KB are replaced as
CloudTrail replaces them, ``{"reason": "requestParameters too large", "omitted": true, "originalSize": N}``,
and the rest of the record is kept; so once prepared, the record of the call's outcome always fits
the 256 KB a record may have.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from opentrail.context import Call
from opentrail.errors import ApiError, RecordError, SerializationException
from opentrail.events import EVENT_VERSION, EventRow, encode
from opentrail.ingest.records import index_record
from opentrail.organizations.accounts import identity

log = logging.getLogger("opentrail")
EVENT_SOURCE = "cloudtrail.amazonaws.com"
# CloudTrail keeps requestParameters and responseElements up to 100 KB each; a larger one is replaced by
# what it says of it (the shape CloudTrail writes, e.g. for an IAM policy of 102 KB or more).
MAX_MEMBER_BYTES = 100 * 1024
# CloudWatch Logs' FilterLogEvents and TestMetricFilter read too (CloudTrail records them readOnly).
_READ_PREFIXES = ("Get", "List", "Describe", "Lookup", "Filter", "Test")


def is_read_only(operation: str) -> bool:
    return operation.startswith(_READ_PREFIXES)


def lower_camel(value: Any) -> Any:
    """CloudTrail records request members with their first letter in lower case, at every depth."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]): lower_camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_camel(v) for v in value]
    return value


def fitted(member: str, value: Any) -> Any:
    """``value`` as the record keeps it: itself up to ``MAX_MEMBER_BYTES`` encoded, else CloudTrail's
    marker of an omitted member. Raises what encoding raises for a value JSON cannot hold."""
    if not value:
        return None
    size = len(encode(value))
    if size <= MAX_MEMBER_BYTES:
        return value
    return {"reason": f"{member} too large", "omitted": True, "originalSize": size}


def record(
    call: Call,
    operation: str,
    params: dict[str, Any] | None,
    response: dict[str, Any] | None,
    error: ApiError | None,
    source: str = EVENT_SOURCE,
) -> dict[str, Any]:
    """The call's record, its members as sent (``Entry`` fits them to CloudTrail's sizes)."""
    requested = lower_camel(params) if params else None
    return _record(call, operation, requested, response, error, source)


def _record(
    call: Call,
    operation: str,
    requested: Any,
    response: dict[str, Any] | None,
    error: ApiError | None,
    source: str,
) -> dict[str, Any]:
    read_only = is_read_only(operation)
    rec: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity(call.key),
        "eventTime": call.services.event_times.text(int(call.now)),
        "eventSource": source,
        "eventName": operation,
        "awsRegion": call.region,
        "sourceIPAddress": call.source_ip,
        "userAgent": call.user_agent[:1024],
    }
    if error is not None:
        rec["errorCode"] = error.code
        rec["errorMessage"] = error.message[:1024]
    rec["requestParameters"] = requested
    rec["responseElements"] = lower_camel(response) if response and not read_only and error is None else None
    rec["requestID"] = call.request_id
    rec["eventID"] = call.services.new_id()
    rec["readOnly"] = read_only
    if call.resources:
        rec["resources"] = call.resources
    rec["eventType"] = "AwsApiCall"
    rec["managementEvent"] = True
    rec["recipientAccountId"] = call.account
    rec["eventCategory"] = "Management"
    return rec


CLOUDTRAIL_DATA_SOURCE = "cloudtrail-data.amazonaws.com"
CHANNEL_TYPE = "AWS::CloudTrail::Channel"


def channel_event(call: Call, channel_arn: str, query: dict[str, str], error: ApiError | None) -> EventRow:
    """PutAuditEvents as CloudTrail records it: a data event on the channel (``AWS::CloudTrail::Channel``),
    kept only where a logging trail's advanced selectors select it."""
    requested = {name: value[:1024] for name, value in query.items()} or None
    rec = _record(call, "PutAuditEvents", requested, None, error, CLOUDTRAIL_DATA_SOURCE)
    rec["readOnly"] = False
    rec["resources"] = [{"accountId": call.account, "type": CHANNEL_TYPE, "ARN": channel_arn[:2048]}]
    rec["managementEvent"] = False
    rec["eventCategory"] = "Data"
    return index_record(encode(rec), call.account, call.services.event_times)


def audit_row(
    call: Call,
    operation: str,
    params: dict[str, Any] | None,
    response: dict[str, Any] | None,
    error: ApiError | None,
    source: str = EVENT_SOURCE,
) -> EventRow:
    rec = record(call, operation, params, response, error, source)
    return index_record(encode(rec), call.account, call.services.event_times)


class Entry:
    """One call's audit record in the making: prepared before the call runs, finished with its outcome."""

    def __init__(self, call: Call, operation: str, requested: Any, source: str) -> None:
        self.call, self.operation, self.requested, self.source = call, operation, requested, source

    @classmethod
    def prepare(cls, call: Call, operation: str, params: dict[str, Any] | None, source: str) -> Entry:
        """The entry, or SerializationException (400) when the parameters cannot be recorded, so that a
        call is refused before it changes anything rather than performed unrecorded."""
        try:
            requested = fitted("requestParameters", lower_camel(params) if params else None)
        except (msgspec.EncodeError, UnicodeEncodeError, OverflowError, RecursionError, TypeError) as exc:
            raise SerializationException(
                f"the request's parameters cannot be recorded in the audit trail: {exc}"
            ) from None
        return cls(call, operation, requested, source)

    @classmethod
    def unrecordable(cls, call: Call, operation: str, source: str) -> Entry:
        """The entry of a call refused because its parameters could not be recorded (it still is)."""
        return cls(call, operation, None, source)

    def row(self, response: dict[str, Any] | None, error: ApiError | None) -> EventRow:
        """The finished record's row. Response elements over 100 KB are omitted as CloudTrail omits them;
        should the record still be refused (a bug, not input), it is written without them, not lost."""
        rec = _record(self.call, self.operation, self.requested, None, error, self.source)
        if response and not is_read_only(self.operation) and error is None:
            rec["responseElements"] = fitted("responseElements", lower_camel(response))
        try:
            return index_record(encode(rec), self.call.account, self.call.services.event_times)
        except RecordError:
            log.exception("audit record of %s refused; written without its members", self.operation)
            rec["requestParameters"] = rec["responseElements"] = None
            return index_record(encode(rec), self.call.account, self.call.services.event_times)
