"""Which channel a call reaches: by ARN or by id, in its own region only, never another account's;
a malformed or unknown channel is an error of its own."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from tests.support.audit_events import entry, event_data
from tests.support.channels import REGION, Channel, error_of, lookup
from tests.support.server import Server


def test_channel_id_is_accepted_in_place_of_the_arn(channel: Channel) -> None:
    result = channel.put(entry("by-id", event_data(channel.creds.account_id)), channel=channel.id)
    assert [s["id"] for s in result["successful"]] == ["by-id"]


@pytest.mark.parametrize(
    "ref",
    [
        "arn:aws:cloudtrail:us-east-1:123:channel/abc",
        "arn:aws:cloudtrail:us-east-1:123456789012:trail/abc",
        "arn:aws:s3:::bucket",
        "arn:nonsense",
        "not/an:id",
    ],
)
def test_malformed_channel_arn(channel: Channel, ref: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        channel.put(entry("a", event_data(channel.creds.account_id)), channel=ref)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("InvalidChannelARN", 400)
    assert "channel" in message


def test_unknown_channel(channel: Channel) -> None:
    account = channel.creds.account_id
    missing_id = "00000000-0000-0000-0000-000000000000"
    for ref in (f"arn:aws:cloudtrail:{REGION}:{account}:channel/{missing_id}", missing_id):
        with pytest.raises(ClientError) as excinfo:
            channel.put(entry("a", event_data(account)), channel=ref)
        code, message, status = error_of(excinfo)
        assert (code, status) == ("ChannelNotFound", 400)
        assert ref in message
    # A channel lives in its region: the same ARN called from another region is not found.
    west = channel.server.client("cloudtrail-data", channel.creds, "us-west-2")
    with pytest.raises(ClientError) as excinfo:
        west.put_audit_events(auditEvents=[entry("a", event_data(account))], channelArn=channel.arn)
    assert error_of(excinfo)[0] == "ChannelNotFound"


def test_other_accounts_cannot_put_into_a_channel(server: Server, channel: Channel) -> None:
    owner = channel.creds
    intruder = server.new_account("intruder")
    data = server.client("cloudtrail-data", intruder, REGION)
    source = f"iso-{uuid.uuid4().hex[:8]}.example.com"
    events = [entry("a", event_data(owner.account_id, source=source))]
    with pytest.raises(ClientError) as excinfo:
        data.put_audit_events(auditEvents=events, channelArn=channel.arn)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("ChannelInsufficientPermission", 403)
    assert intruder.account_id in message
    # The answer is the same whether or not the other account has such a channel.
    missing = f"arn:aws:cloudtrail:{REGION}:{owner.account_id}:channel/00000000-0000-0000-0000-000000000000"
    with pytest.raises(ClientError) as excinfo:
        data.put_audit_events(auditEvents=events, channelArn=missing)
    assert error_of(excinfo)[:1] == ("ChannelInsufficientPermission",)
    # By bare id the channel is looked up in the caller's own account, where it does not exist.
    with pytest.raises(ClientError) as excinfo:
        data.put_audit_events(auditEvents=events, channelArn=channel.id)
    assert error_of(excinfo)[0] == "ChannelNotFound"

    assert lookup(server, owner, "EventSource", source) == []
    # The owner's accepted events stay out of the intruder's history.
    accepted = channel.put(*events)["successful"][0]["eventID"]
    assert [e["EventId"] for e in lookup(server, owner, "EventSource", source)] == [accepted]
    assert lookup(server, intruder, "EventSource", source) == []
    assert lookup(server, intruder, "EventId", accepted) == []
