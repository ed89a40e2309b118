"""CloudTrail Lake channels: CreateChannel, GetChannel, ListChannels, UpdateChannel, DeleteChannel (the
data-plane call that feeds a channel, PutAuditEvents, is ``ingest.audit_events``).

A channel is a document of kind ``channel`` keyed by its ARN
(``arn:aws:cloudtrail:<region>:<account>:channel/<uuid>``); callers may name it by ARN or by the
trailing id. Channels are regional and private to their account: a channel of another account or
region is reported exactly like one that does not exist, so no call reveals what others own.

Until event data stores exist, a destination is recorded as given (only its format is checked) and a
channel's events enter the owner's event history as management events; ``ingest.lake`` converts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from opentrail.context import Call
from opentrail.errors import (
    ApiError,
    ChannelAlreadyExists,
    ChannelARNInvalid,
    ChannelMaxLimitExceeded,
    ChannelNotFound,
    ConflictError,
    EventDataStoreARNInvalid,
    InvalidMaxResults,
    InvalidNextToken,
    InvalidParameter,
    InvalidSource,
    InvalidTagParameter,
    SerializationException,
    TagsLimitExceeded,
)
from opentrail.params import Params, array, integer, required_string, string, structure
from opentrail.store import Doc
from opentrail.tokens import query_fingerprint

KIND = "channel"
RESOURCE_TYPE = "AWS::CloudTrail::Channel"
SOURCE_CUSTOM = "Custom"
MAX_CHANNELS_PER_REGION = 25
MAX_DESTINATIONS = 200
MAX_TAGS = 50
MAX_LIST_RESULTS = 1000
DESTINATION_TYPES = ("EVENT_DATA_STORE", "AWS_SERVICE")

# cloudtrail-data's own error names (no "Exception" suffix), rendered rest-json by the edge.

# fullmatch throughout: `$` would let a trailing newline through; ASCII: \d and \w mean what AWS means.
_NAME = re.compile(r"[a-zA-Z0-9._-]{3,128}", re.ASCII)
_ID = re.compile(r"[a-zA-Z0-9._-]{3,128}", re.ASCII)
_CHANNEL_ARN = re.compile(
    r"arn:([a-z-]+):cloudtrail:([a-z0-9-]+):(\d{12}):channel/([a-zA-Z0-9._-]{3,128})", re.ASCII
)
_EDS_ARN = re.compile(
    r"arn:aws:cloudtrail:[a-z0-9-]+:(\d{12}):eventdatastore/[a-zA-Z0-9._-]{3,128}", re.ASCII
)
_LOCATION = re.compile(r"[a-zA-Z0-9._/\-:*]{3,1024}", re.ASCII)


def channel_arn(region: str, account: str, channel_id: str) -> str:
    return f"arn:aws:cloudtrail:{region}:{account}:channel/{channel_id}"


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A channel named by ARN or id, resolved against the caller's region and account."""

    arn: str
    account: str
    region: str
    foreign: bool  # the ARN names another partition, region or account


def parse_ref(value: str, call: Call, invalid: type[ApiError]) -> ChannelRef:
    if value.startswith("arn:"):
        match = _CHANNEL_ARN.fullmatch(value)
        if match is None:
            raise invalid(
                f"{value[:300]!r} is not a valid channel ARN; expected "
                "arn:aws:cloudtrail:<region>:<account-id>:channel/<channel-id>"
            )
        partition, region, account, channel_id = match.groups()
        foreign = partition != "aws" or region != call.region or account != call.account
        return ChannelRef(channel_arn(region, account, channel_id), account, region, foreign)
    if not _ID.fullmatch(value):
        raise invalid(
            f"{value[:300]!r} is neither a channel ARN nor a channel id "
            "(3-128 letters, digits, '.', '_', '-')"
        )
    return ChannelRef(channel_arn(call.region, call.account, value), call.account, call.region, False)


def channel_not_found(value: str, call: Call, error: type[ApiError] = ChannelNotFound) -> ApiError:
    """The error for a channel the caller does not have: the same whether it exists elsewhere or not."""
    return error(f"Channel {value[:300]} was not found in account {call.account} in {call.region}")


def require_channel(call: Call, params: Params) -> Doc:
    """The caller's channel named by ``Channel``; other accounts' channels do not exist for it."""
    value = required_string(params, "Channel", error=InvalidParameter)
    ref = parse_ref(value, call, ChannelARNInvalid)
    doc = None if ref.foreign else call.store.get_doc(KIND, call.account, ref.arn)
    if doc is None:
        raise channel_not_found(value, call)
    call.touch(RESOURCE_TYPE, doc.arn)
    return doc


# -- validation --------------------------------------------------------------------------------------


def _name(params: Params, required: bool) -> str | None:
    name = string(params, "Name", required=required)
    if name is not None and not _NAME.fullmatch(name):
        raise InvalidParameter(
            f"Name must be 3-128 characters of letters, digits, '.', '_' and '-', got {name[:140]!r}"
        )
    return name


def _source(params: Params) -> str:
    source = required_string(params, "Source", error=InvalidParameter)
    if source != SOURCE_CUSTOM:
        raise InvalidSource(
            f"Source {source[:256]!r} is not supported: OpenTrail channels take events from your own "
            f"applications only, so Source must be {SOURCE_CUSTOM!r} (partner sources are not available)"
        )
    return source


def _member(item: Params, name: str, where: str) -> str:
    value = item.get(name)
    if value is None:
        raise InvalidParameter(f"{where}.{name} is required but was not provided")
    if not isinstance(value, str):
        raise SerializationException(f"{where}.{name} must be a string, got {type(value).__name__}")
    return value


def _check_event_data_store(location: str, where: str, call: Call) -> None:
    match = _EDS_ARN.fullmatch(location)
    if match is not None:
        if match.group(1) != call.account:
            raise EventDataStoreARNInvalid(
                f"{where}.Location {location!r} names an event data store of another account; "
                f"a channel of account {call.account} can only log to that account's event data stores"
            )
        return
    if location.startswith("arn:") or not _ID.fullmatch(location):
        raise EventDataStoreARNInvalid(
            f"{where}.Location {location[:300]!r} is not an event data store ARN "
            "(arn:aws:cloudtrail:<region>:<account-id>:eventdatastore/<id>) or id (3-128 characters)"
        )


def _destinations(call: Call, params: Params, required: bool) -> list[dict[str, str]] | None:
    items = array(params, "Destinations", required=required)
    if items is None:
        return None
    if not 1 <= len(items) <= MAX_DESTINATIONS:
        raise InvalidParameter(
            f"Destinations must hold between 1 and {MAX_DESTINATIONS} destinations, got {len(items)}"
        )
    result: list[dict[str, str]] = []
    for index, raw in enumerate(items):
        where = f"Destinations[{index}]"
        item = structure(raw, where)
        kind = _member(item, "Type", where)
        if kind not in DESTINATION_TYPES:
            raise InvalidParameter(
                f"{where}.Type must be one of {', '.join(DESTINATION_TYPES)}, got {kind!r}"
            )
        location = _member(item, "Location", where)
        if not _LOCATION.fullmatch(location):
            raise InvalidParameter(
                f"{where}.Location must be 3-1024 characters of letters, digits and ._/-:*, "
                f"got {location[:140]!r}"
            )
        if kind == "EVENT_DATA_STORE":
            _check_event_data_store(location, where, call)
        destination = {"Type": kind, "Location": location}
        if destination in result:
            raise InvalidParameter(f"{where} repeats destination {kind} {location}")
        result.append(destination)
    return result


def _tags(params: Params) -> list[dict[str, str]]:
    items = array(params, "Tags", error=InvalidTagParameter) or []
    if len(items) > MAX_TAGS:
        raise TagsLimitExceeded(f"Tags holds {len(items)} tags; a channel can have at most {MAX_TAGS}")
    tags: list[dict[str, str]] = []
    keys: set[str] = set()
    for index, raw in enumerate(items):
        item = structure(raw, f"Tags[{index}]")
        key = item.get("Key")
        value = item.get("Value")
        for member, given in (("Key", key), ("Value", value)):
            if given is not None and not isinstance(given, str):
                # The wrong JSON type, which AWS's JSON protocol refuses before the operation runs.
                raise SerializationException(
                    f"Tags[{index}].{member} must be a string, got {type(given).__name__}"
                )
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise InvalidTagParameter(f"Tags[{index}].Key must be a string of 1-128 characters, got {key!r}")
        if value is not None and (not isinstance(value, str) or len(value) > 256):
            raise InvalidTagParameter(f"Tags[{index}].Value must be a string of at most 256 characters")
        if key in keys:
            raise InvalidTagParameter(f"Tags repeats the key {key!r}; tag keys must be unique")
        keys.add(key)
        tags.append({"Key": key} if value is None else {"Key": key, "Value": value})
    return tags


def _view(doc: Doc) -> dict[str, Any]:
    return {
        "ChannelArn": doc.arn,
        "Name": doc.name,
        "Source": doc.body.get("Source", SOURCE_CUSTOM),
        "Destinations": doc.body.get("Destinations", []),
    }


# -- operations --------------------------------------------------------------------------------------


def create_channel(call: Call, params: Params) -> dict[str, Any]:
    name = _name(params, required=True)
    assert name is not None  # noqa: S101 - required=True never returns None
    source = _source(params)
    tags = _tags(params)  # the request's form, before the destinations are looked up
    destinations = _destinations(call, params, required=True)
    arn = channel_arn(call.region, call.account, call.services.new_id())
    body: dict[str, Any] = {
        "Source": source,
        "Destinations": destinations,
        "Tags": tags,
        "IngestionStatus": {},
        "CreatedTime": call.now,
    }

    def check(existing: list[Doc]) -> None:
        here = [doc for doc in existing if doc.region == call.region]
        if any(doc.name == name for doc in here):
            raise ChannelAlreadyExists(f"a channel named {name} already exists in {call.region}")
        if len(here) >= MAX_CHANNELS_PER_REGION:
            raise ChannelMaxLimitExceeded(
                f"account {call.account} already has {len(here)} channels in {call.region}; "
                f"the limit is {MAX_CHANNELS_PER_REGION}"
            )

    try:
        call.store.insert_doc(Doc(KIND, call.account, call.region, name, arn, body), check=check)
    except ConflictError:
        raise ChannelAlreadyExists(f"a channel named {name} already exists in {call.region}") from None
    call.touch(RESOURCE_TYPE, arn)
    result = {"ChannelArn": arn, "Name": name, "Source": source, "Destinations": destinations}
    if tags:
        result["Tags"] = tags
    return result


def get_channel(call: Call, params: Params) -> dict[str, Any]:
    doc = require_channel(call, params)
    return {
        **_view(doc),
        "SourceConfig": {"ApplyToAllRegions": False, "AdvancedEventSelectors": []},
        "IngestionStatus": dict(doc.body.get("IngestionStatus") or {}),
    }


def list_channels(call: Call, params: Params) -> dict[str, Any]:
    limit = integer(params, "MaxResults")
    if limit is not None and not 1 <= limit <= MAX_LIST_RESULTS:
        raise InvalidMaxResults(f"MaxResults must be between 1 and {MAX_LIST_RESULTS}, got {limit}")
    limit = limit or MAX_LIST_RESULTS
    scope = query_fingerprint({"op": "ListChannels", "account": call.account, "region": call.region})
    token = string(params, "NextToken", error=InvalidNextToken)
    after: str | None = None
    if token is not None:
        after = call.services.sealer.open(token, scope)
        if not isinstance(after, str):
            raise InvalidNextToken("NextToken is not a token this server issued for ListChannels")
    # Names are unique per region, so the last name returned is a stable cursor.
    docs = [
        doc
        for doc in call.store.list_docs(KIND, call.account)
        if doc.region == call.region and (after is None or doc.name > after)
    ]
    page = docs[:limit]
    result: dict[str, Any] = {"Channels": [{"ChannelArn": doc.arn, "Name": doc.name} for doc in page]}
    if len(docs) > limit:
        result["NextToken"] = call.services.sealer.seal(scope, page[-1].name)
    return result


def update_channel(call: Call, params: Params) -> dict[str, Any]:
    # Every member's form before the channel is looked up, as CloudTrail checks parameters first.
    parse_ref(required_string(params, "Channel", error=InvalidParameter), call, ChannelARNInvalid)
    name = _name(params, required=False)
    destinations = _destinations(call, params, required=False)
    doc = require_channel(call, params)
    if name is not None and name != doc.name:
        taken = any(
            other.name == name and other.region == call.region
            for other in call.store.list_docs(KIND, call.account)
        )
        if taken:
            raise ChannelAlreadyExists(f"a channel named {name} already exists in {call.region}")

    def change(current: Doc) -> Doc:
        body = dict(current.body)
        if destinations is not None:
            body["Destinations"] = destinations
        return Doc(current.kind, current.account, current.region, name or current.name, current.arn, body)

    try:
        updated = call.store.update_doc(KIND, call.account, doc.arn, change)
    except KeyError:
        raise channel_not_found(str(params["Channel"]), call) from None
    except ConflictError:
        raise ChannelAlreadyExists(f"a channel named {name} already exists in {call.region}") from None
    return _view(updated)


def delete_channel(call: Call, params: Params) -> dict[str, Any]:
    doc = require_channel(call, params)
    if not call.store.delete_doc(KIND, call.account, doc.arn):
        raise channel_not_found(str(params["Channel"]), call)
    return {}


OPERATIONS = {
    "CreateChannel": create_channel,
    "GetChannel": get_channel,
    "ListChannels": list_channels,
    "UpdateChannel": update_channel,
    "DeleteChannel": delete_channel,
}
