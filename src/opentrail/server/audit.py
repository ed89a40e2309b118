"""OpenTrail audits itself: every API call it serves becomes a management event, as CloudTrail does
(eventSource ``cloudtrail.amazonaws.com``, or ``organizations.amazonaws.com`` for Organizations calls)."""

from __future__ import annotations

from typing import Any

from opentrail.context import Call
from opentrail.errors import ApiError
from opentrail.events import EVENT_VERSION, EventRow, encode
from opentrail.ingest.records import index_record
from opentrail.organizations.accounts import identity

EVENT_SOURCE = "cloudtrail.amazonaws.com"
_READ_PREFIXES = ("Get", "List", "Describe", "Lookup")


def is_read_only(operation: str) -> bool:
    return operation.startswith(_READ_PREFIXES)


def lower_camel(value: Any) -> Any:
    """CloudTrail records request members with their first letter in lower case, at every depth."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]): lower_camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_camel(v) for v in value]
    return value


def record(
    call: Call,
    operation: str,
    params: dict[str, Any] | None,
    response: dict[str, Any] | None,
    error: ApiError | None,
    source: str = EVENT_SOURCE,
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
    rec["requestParameters"] = lower_camel(params) if params else None
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
