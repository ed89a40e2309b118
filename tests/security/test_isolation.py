"""Account isolation: an intruder, signed as itself, aims every CloudTrail operation at the victim's
trail, selectors, tags and channel by ARN, searches history for the victim's events by every lookup
attribute, and writes into the victim's history through both data planes. Each attempt is refused as
if the victim's resource did not exist (no existence oracle), changes nothing, and is recorded, with
its error, in the intruder's own history and never in the victim's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from tests.support.audit import fingerprint, traces
from tests.support.audit_events import entry, event_data
from tests.support.holdings import Holdings, ingest
from tests.support.server import Server, management_record
from tests.support.signing import sign
from tests.support.wire import Wire, rest_error

SELECTORS = [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": False}]
# Each operation the intruder aims at the victim's trail (``{trail}``) or channel (``{channel}``), and
# the error a resource that does not exist gets.
AIMED = {
    "GetTrail": ({"Name": "{trail}"}, "TrailNotFoundException"),
    "GetTrailStatus": ({"Name": "{trail}"}, "TrailNotFoundException"),
    "GetEventSelectors": ({"TrailName": "{trail}"}, "TrailNotFoundException"),
    "GetInsightSelectors": ({"TrailName": "{trail}"}, "TrailNotFoundException"),
    "UpdateTrail": ({"Name": "{trail}", "S3KeyPrefix": "stolen"}, "TrailNotFoundException"),
    "StopLogging": ({"Name": "{trail}"}, "TrailNotFoundException"),
    "StartLogging": ({"Name": "{trail}"}, "TrailNotFoundException"),
    "DeleteTrail": ({"Name": "{trail}"}, "TrailNotFoundException"),
    "PutEventSelectors": ({"TrailName": "{trail}", "EventSelectors": SELECTORS}, "TrailNotFoundException"),
    "PutInsightSelectors": (
        {"TrailName": "{trail}", "InsightSelectors": [{"InsightType": "ApiCallRateInsight"}]},
        "TrailNotFoundException",
    ),
    "AddTags": (
        {"ResourceId": "{trail}", "TagsList": [{"Key": "owner", "Value": "me"}]},
        "ResourceNotFoundException",
    ),
    "RemoveTags": ({"ResourceId": "{trail}", "TagsList": [{"Key": "owner"}]}, "ResourceNotFoundException"),
    "ListTags": ({"ResourceIdList": ["{trail}"]}, "ResourceNotFoundException"),
    "GetChannel": ({"Channel": "{channel}"}, "ChannelNotFoundException"),
    "UpdateChannel": ({"Channel": "{channel}", "Name": "stolen-channel"}, "ChannelNotFoundException"),
    "DeleteChannel": ({"Channel": "{channel}"}, "ChannelNotFoundException"),
    "AddTags-channel": (
        {"ResourceId": "{channel}", "TagsList": [{"Key": "owner", "Value": "me"}]},
        "ResourceNotFoundException",
    ),
    "ListTags-channel": ({"ResourceIdList": ["{channel}"]}, "ResourceNotFoundException"),
}


def filled(params: dict[str, Any], trail: str, channel: str) -> dict[str, Any]:
    text = json.dumps(params).replace("{trail}", trail).replace("{channel}", channel)
    result: dict[str, Any] = json.loads(text)
    return result


def refused(client: Any, operation: str, params: dict[str, Any]) -> tuple[str, str, str]:
    """(code, message, request id) of the call, which must fail with a 400."""
    with pytest.raises(ClientError) as caught:
        getattr(client, xform_name(operation))(**params)
    response: Any = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["RequestId"]


@pytest.mark.parametrize("aimed", sorted(AIMED))
def test_the_victims_trails_and_channels_are_as_if_absent(
    server: Server, wire: Wire, victim: Holdings, intruder: Holdings, aimed: str
) -> None:
    operation = aimed.split("-")[0]
    template, code = AIMED[aimed]
    client = wire.boto("cloudtrail", intruder.creds)
    before = fingerprint(server)
    got, message, request_id = refused(
        client, operation, filled(template, victim.trail_arn, victim.channel_arn)
    )
    assert got == code, message
    # The same call aimed at a resource of the victim's that never existed says the same, but its name.
    absent_trail = victim.trail_arn.replace(victim.trail, "never-made")
    absent_channel = victim.channel_arn[:-12] + "000000000000"
    _, absent, _ = refused(client, operation, filled(template, absent_trail, absent_channel))
    assert (
        message.replace(victim.trail_arn, absent_trail).replace(victim.channel_arn, absent_channel) == absent
    )
    assert fingerprint(server) == before
    record = wire.recorded(intruder.creds, operation, [request_id])[request_id]
    assert (record["errorCode"], record["recipientAccountId"]) == (code, intruder.account)
    assert request_id not in wire.history(victim.creds, operation)


def test_listings_show_none_of_the_victims(wire: Wire, victim: Holdings, intruder: Holdings) -> None:
    client = wire.boto("cloudtrail", intruder.creds)
    assert victim.trail_arn not in {t["TrailARN"] for t in client.list_trails()["Trails"]}
    assert client.describe_trails(trailNameList=[victim.trail_arn, victim.trail])["trailList"] == []
    assert victim.trail_arn not in {t["TrailARN"] for t in client.describe_trails()["trailList"]}
    assert victim.channel_arn not in {c["ChannelArn"] for c in client.list_channels()["Channels"]}


LOOKUPS = ["EventId", "Username", "ResourceName", "AccessKeyId", "EventSource", "EventName", "ReadOnly"]


def lookup_value(victim: Holdings, key: str) -> str:
    return {
        "EventId": victim.event_id,
        "Username": "victim",
        "ResourceName": victim.trail_arn,
        "AccessKeyId": victim.creds.access_key_id,
        "EventSource": "cloudtrail.amazonaws.com",
        "EventName": "CreateTrail",
        "ReadOnly": "false",
    }[key]


@pytest.mark.parametrize("key", LOOKUPS)
def test_history_holds_none_of_the_victims_events(
    wire: Wire, victim: Holdings, intruder: Holdings, key: str
) -> None:
    """Whatever the intruder filters on (the victim's event id, user, trail, access key, or what both
    accounts did), it gets only events of its own."""
    client = wire.boto("cloudtrail", intruder.creds)
    attributes = [{"AttributeKey": key, "AttributeValue": lookup_value(victim, key)}]
    events = client.lookup_events(LookupAttributes=attributes, MaxResults=50)["Events"]
    for event in events:
        record = json.loads(event["CloudTrailEvent"])
        assert record["recipientAccountId"] == intruder.account, record
        assert record["eventID"] not in (victim.event_id, victim.audit_event_id)
    if key in ("EventSource", "EventName", "ReadOnly"):
        assert events, "the intruder's own events are there to find"
    else:
        assert events == []


def test_history_of_another_region_is_the_intruders_too(
    wire: Wire, victim: Holdings, intruder: Holdings
) -> None:
    client = wire.boto("cloudtrail", intruder.creds, "eu-west-1")
    attributes = [{"AttributeKey": "EventId", "AttributeValue": victim.event_id}]
    assert client.lookup_events(LookupAttributes=attributes)["Events"] == []


def test_ingest_into_the_victims_account_needs_a_grant(
    server: Server, wire: Wire, victim: Holdings, intruder: Holdings
) -> None:
    """``?accountId=`` of the victim without a grant is refused like that of an account that does not
    exist (no oracle of which accounts exist), and stores nothing."""
    messages = []
    for account in (victim.account, "999999999999"):
        record = {**management_record(account), "eventID": f"forged-{account}"}
        body = json.dumps({"Records": [record]}).encode()
        path = f"/IngestRecords?accountId={account}"
        headers = sign(
            server.endpoint + path,
            "POST",
            {"Content-Type": "application/json"},
            body,
            intruder.creds,
            service="cloudtrail-data",
        )
        answer = wire.send("ingest-records", "POST", path, headers, body)
        messages.append(rest_error(answer, 403, "AccessDeniedException").replace(account, "<account>"))
        assert traces(server, f"forged-{account}") == []
    assert messages[0] == messages[1]


def test_records_naming_the_victim_land_in_the_senders_account(
    wire: Wire, victim: Holdings, intruder: Holdings
) -> None:
    """A record's own recipientAccountId and userIdentity are evidence kept as sent, never a route into
    another account; and reusing the victim's eventID touches nothing of the victim's."""
    claimed = management_record(victim.account, user="victim")
    collision = {**management_record(victim.account), "eventID": victim.event_id}
    assert ingest(wire, intruder.creds, [claimed, collision]) == {"accepted": 2, "failed": []}
    mine = wire.boto("cloudtrail", intruder.creds)
    theirs = wire.boto("cloudtrail", victim.creds)
    for event_id in (claimed["eventID"], victim.event_id):
        attributes = [{"AttributeKey": "EventId", "AttributeValue": event_id}]
        assert len(mine.lookup_events(LookupAttributes=attributes)["Events"]) == 1
    attributes = [{"AttributeKey": "EventId", "AttributeValue": claimed["eventID"]}]
    assert theirs.lookup_events(LookupAttributes=attributes)["Events"] == []
    attributes = [{"AttributeKey": "EventId", "AttributeValue": victim.event_id}]
    (kept,) = theirs.lookup_events(LookupAttributes=attributes)["Events"]
    assert json.loads(kept["CloudTrailEvent"])["userIdentity"]["userName"] == "victim"
    assert json.loads(kept["CloudTrailEvent"])["eventName"] == "RunInstances"


def test_put_audit_events_into_the_victims_channel_is_refused(
    server: Server, wire: Wire, victim: Holdings, intruder: Holdings
) -> None:
    marker = "forged-channel-event"
    data = wire.boto("cloudtrail-data", intruder.creds)
    with pytest.raises(ClientError) as caught:
        data.put_audit_events(
            channelArn=victim.channel_arn, auditEvents=[entry("1", event_data(victim.account, UID=marker))]
        )
    response: Any = caught.value.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ChannelInsufficientPermission",
        403,
    )
    assert traces(server, marker) == []


def test_an_audit_event_for_the_victim_through_ones_own_channel_is_refused(
    server: Server, wire: Wire, victim: Holdings, intruder: Holdings
) -> None:
    marker = "forged-recipient-event"
    result = wire.boto("cloudtrail-data", intruder.creds).put_audit_events(
        channelArn=intruder.channel_arn, auditEvents=[entry("1", event_data(victim.account, UID=marker))]
    )
    assert result["successful"] == []
    assert [f["errorCode"] for f in result["failed"]] == ["InvalidRecipient"]
    assert traces(server, marker) == []


def test_a_trail_cannot_deliver_into_the_victims_bucket(
    server: Server, wire: Wire, victim: Holdings, intruder: Holdings
) -> None:
    client = wire.boto("cloudtrail", intruder.creds)
    before = fingerprint(server)
    got, message, _ = refused(
        client, "CreateTrail", {"Name": "into-their-bucket", "S3BucketName": victim.bucket}
    )
    assert got == "InsufficientS3BucketPolicyException"
    assert message == f"Incorrect S3 bucket policy is detected for bucket: {victim.bucket}"
    got, _, _ = refused(client, "UpdateTrail", {"Name": intruder.trail, "S3BucketName": victim.bucket})
    assert got == "InsufficientS3BucketPolicyException"
    assert fingerprint(server) == before


def test_a_grant_lets_one_account_write_into_another_and_nothing_more(server: Server, wire: Wire) -> None:
    """``opentrail account grant`` is one way and for writing only: the grantee's records enter the
    target's history, the target cannot write into the grantee's, and the grantee reads none of it."""
    owner, writer = server.new_account("owner"), server.new_account("writer")
    server.cli("account", "grant", "--grantee", writer.account_id, "--target", owner.account_id)
    record = management_record(owner.account_id)
    granted = ingest(wire, writer, [record], f"?accountId={owner.account_id}")
    assert granted == {"accepted": 1, "failed": []}
    attributes = [{"AttributeKey": "EventId", "AttributeValue": record["eventID"]}]
    assert len(wire.boto("cloudtrail", owner).lookup_events(LookupAttributes=attributes)["Events"]) == 1
    assert wire.boto("cloudtrail", writer).lookup_events(LookupAttributes=attributes)["Events"] == []
    back = {**management_record(writer.account_id), "eventID": "forged-reverse-grant"}
    body = json.dumps({"Records": [back]}).encode()
    path = f"/IngestRecords?accountId={writer.account_id}"
    headers = sign(
        server.endpoint + path,
        "POST",
        {"Content-Type": "application/json"},
        body,
        owner,
        service="cloudtrail-data",
    )
    rest_error(wire.send("ingest-records", "POST", path, headers, body), 403, "AccessDeniedException")
    assert traces(server, "forged-reverse-grant") == []
