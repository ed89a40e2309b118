"""CloudTrail Lake channels over the wire: CreateChannel, GetChannel, ListChannels, UpdateChannel,
DeleteChannel, with boto3 and the AWS CLI, including every validation error and account isolation."""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from tests.support.server import Credentials, Server

REGION = "us-east-1"


def eds_arn(account: str, eds_id: str = "EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE") -> str:
    return f"arn:aws:cloudtrail:{REGION}:{account}:eventdatastore/{eds_id}"


def create(ct: Any, account: str, name: str, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "Name": name,
        "Source": "Custom",
        "Destinations": [{"Type": "EVENT_DATA_STORE", "Location": eds_arn(account)}],
    }
    params.update(extra)
    result: dict[str, Any] = ct.create_channel(**params)
    return result


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


@pytest.fixture(scope="module")
def shared(server: Server) -> Credentials:
    """One account for the validation tests, which create few or no channels."""
    return server.new_account("channels")


@pytest.fixture(scope="module")
def ct(server: Server, shared: Credentials) -> Any:
    """A client that skips botocore's own checks, so the server's are what the tests see."""
    return boto3.client(
        "cloudtrail",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=shared.access_key_id,
        aws_secret_access_key=shared.secret,
        config=botocore.config.Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


def test_channel_lifecycle(server: Server, account: Credentials) -> None:
    ct = server.client("cloudtrail", account, REGION)
    tags = [{"Key": "team", "Value": "audit"}, {"Key": "env", "Value": "test"}]
    created = create(ct, account.account_id, "app-events", Tags=tags)
    arn = created["ChannelArn"]
    channel_id = arn.rsplit("/", 1)[1]
    assert arn == f"arn:aws:cloudtrail:{REGION}:{account.account_id}:channel/{channel_id}"
    assert created["Name"] == "app-events"
    assert created["Source"] == "Custom"
    assert created["Destinations"] == [{"Type": "EVENT_DATA_STORE", "Location": eds_arn(account.account_id)}]
    assert created["Tags"] == tags

    for ref in (arn, channel_id):
        got = ct.get_channel(Channel=ref)
        assert got["ChannelArn"] == arn
        assert got["Name"] == "app-events"
        assert got["Source"] == "Custom"
        assert got["SourceConfig"] == {"ApplyToAllRegions": False, "AdvancedEventSelectors": []}
        assert got["Destinations"] == created["Destinations"]
        assert got["IngestionStatus"] == {}

    assert ct.list_channels()["Channels"] == [{"ChannelArn": arn, "Name": "app-events"}]

    destinations = [
        {"Type": "EVENT_DATA_STORE", "Location": "my-store-id"},
        {"Type": "AWS_SERVICE", "Location": "guardduty.amazonaws.com"},
    ]
    updated = ct.update_channel(Channel=channel_id, Name="renamed", Destinations=destinations)
    assert updated["ChannelArn"] == arn
    assert updated["Name"] == "renamed"
    assert updated["Source"] == "Custom"
    assert updated["Destinations"] == destinations
    got = ct.get_channel(Channel=arn)
    assert (got["Name"], got["Destinations"]) == ("renamed", destinations)
    # Updating only the name keeps the destinations.
    ct.update_channel(Channel=arn, Name="renamed-again")
    assert ct.get_channel(Channel=arn)["Destinations"] == destinations

    ct.delete_channel(Channel=arn)
    with pytest.raises(ClientError) as excinfo:
        ct.get_channel(Channel=arn)
    assert error_of(excinfo)[0] == "ChannelNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        ct.delete_channel(Channel=arn)
    assert error_of(excinfo)[0] == "ChannelNotFoundException"
    assert ct.list_channels()["Channels"] == []


@pytest.mark.parametrize(
    "name", ["ab", "x" * 129, "has space", "slash/name", "colon:name", "ünïcode", "newline\n"]
)
def test_create_rejects_invalid_names(ct: Any, shared: Credentials, name: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        create(ct, shared.account_id, name)
    code, message = error_of(excinfo)
    assert code == "InvalidParameterException"
    assert "Name must be 3-128 characters" in message


def test_name_edges_are_accepted(ct: Any, shared: Credentials) -> None:
    for name in ("a.b", "A_b-c.9" + "x" * 121):
        arn = create(ct, shared.account_id, name)["ChannelArn"]
        ct.delete_channel(Channel=arn)


@pytest.mark.parametrize("source", ["aws.partner/example", "custom", "Okta"])
def test_partner_sources_are_rejected(ct: Any, shared: Credentials, source: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        create(ct, shared.account_id, "partner", Source=source)
    code, message = error_of(excinfo)
    assert code == "InvalidSourceException"
    assert repr(source) in message
    assert "'Custom'" in message


@pytest.mark.parametrize(
    ("destinations", "code", "fragment"),
    [
        ([{"Type": "S3", "Location": "my-bucket"}], "InvalidParameterException", "Type must be one of"),
        (
            [{"Type": "EVENT_DATA_STORE", "Location": "arn:aws:cloudtrail:us-east-1:12:eventdatastore/x1z"}],
            "EventDataStoreARNInvalidException",
            "not an event data store ARN",
        ),
        (
            [{"Type": "EVENT_DATA_STORE", "Location": "arn:aws:s3:::bucket-name"}],
            "EventDataStoreARNInvalidException",
            "not an event data store ARN",
        ),
        (
            [{"Type": "EVENT_DATA_STORE", "Location": "x" * 129}],
            "EventDataStoreARNInvalidException",
            "not an event data store ARN",
        ),
        (
            [{"Type": "AWS_SERVICE", "Location": "has space"}],
            "InvalidParameterException",
            "Location must be 3-1024 characters",
        ),
        (
            [{"Type": "AWS_SERVICE", "Location": "svc.example"}] * 2,
            "InvalidParameterException",
            "repeats destination",
        ),
        (
            [{"Type": "AWS_SERVICE", "Location": f"svc-{i}.example"} for i in range(201)],
            "InvalidParameterException",
            "between 1 and 200",
        ),
    ],
)
def test_create_rejects_invalid_destinations(
    ct: Any, shared: Credentials, destinations: list[dict[str, str]], code: str, fragment: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        create(ct, shared.account_id, "bad-destinations", Destinations=destinations)
    got_code, message = error_of(excinfo)
    assert got_code == code
    assert fragment in message


def test_destination_in_another_account_is_rejected(ct: Any, shared: Credentials) -> None:
    other = "999999999999" if shared.account_id != "999999999999" else "888888888888"
    with pytest.raises(ClientError) as excinfo:
        create(
            ct,
            shared.account_id,
            "cross",
            Destinations=[{"Type": "EVENT_DATA_STORE", "Location": eds_arn(other)}],
        )
    code, message = error_of(excinfo)
    assert code == "EventDataStoreARNInvalidException"
    assert "another account" in message


def test_tags_are_validated(ct: Any, shared: Credentials) -> None:
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    with pytest.raises(ClientError) as excinfo:
        create(ct, shared.account_id, "tagged", Tags=too_many)
    assert error_of(excinfo)[0] == "TagsLimitExceededException"
    with pytest.raises(ClientError) as excinfo:
        create(ct, shared.account_id, "tagged", Tags=[{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}])
    assert error_of(excinfo)[0] == "InvalidTagParameterException"
    with pytest.raises(ClientError) as excinfo:
        create(ct, shared.account_id, "tagged", Tags=[{"Key": "k" * 129, "Value": "1"}])
    assert error_of(excinfo)[0] == "InvalidTagParameterException"
    assert all(c["Name"] != "tagged" for c in ct.list_channels()["Channels"])


def test_names_are_unique_per_region(server: Server, account: Credentials) -> None:
    east = server.client("cloudtrail", account, REGION)
    west = server.client("cloudtrail", account, "us-west-2")
    first = create(east, account.account_id, "same-name")
    with pytest.raises(ClientError) as excinfo:
        create(east, account.account_id, "same-name")
    code, message = error_of(excinfo)
    assert code == "ChannelAlreadyExistsException"
    assert "same-name" in message
    # Another region is another namespace, and a channel is not visible outside its region.
    west_arn = create(west, account.account_id, "same-name")["ChannelArn"]
    assert ":us-west-2:" in west_arn
    assert [c["ChannelArn"] for c in west.list_channels()["Channels"]] == [west_arn]
    with pytest.raises(ClientError) as excinfo:
        west.get_channel(Channel=first["ChannelArn"])
    assert error_of(excinfo)[0] == "ChannelNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        west.get_channel(Channel=first["ChannelArn"].rsplit("/", 1)[1])
    assert error_of(excinfo)[0] == "ChannelNotFoundException"
    # Renaming onto a taken name fails; renaming to its own name is a no-op.
    other = create(east, account.account_id, "other-name")
    with pytest.raises(ClientError) as excinfo:
        east.update_channel(Channel=other["ChannelArn"], Name="same-name")
    assert error_of(excinfo)[0] == "ChannelAlreadyExistsException"
    assert east.update_channel(Channel=other["ChannelArn"], Name="other-name")["Name"] == "other-name"


def test_channel_limit_per_region(server: Server, account: Credentials) -> None:
    ct = server.client("cloudtrail", account, REGION)
    for i in range(25):
        create(ct, account.account_id, f"channel-{i:02d}")
    with pytest.raises(ClientError) as excinfo:
        create(ct, account.account_id, "channel-25")
    code, message = error_of(excinfo)
    assert code == "ChannelMaxLimitExceededException"
    assert "25" in message
    # The limit is regional: another region still has room.
    create(server.client("cloudtrail", account, "eu-west-1"), account.account_id, "channel-25")


def test_list_channels_paginates(server: Server, account: Credentials) -> None:
    ct = server.client("cloudtrail", account, REGION)
    names = ["c-alpha", "c-beta", "c-gamma"]
    arns = {create(ct, account.account_id, name)["ChannelArn"]: name for name in reversed(names)}
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = ct.list_channels(MaxResults=1, **({"NextToken": token} if token else {}))
        pages += 1
        seen += [c["Name"] for c in page["Channels"]]
        assert all(arns[c["ChannelArn"]] == c["Name"] for c in page["Channels"])
        token = page.get("NextToken")
        if token is None:
            break
    assert seen == names
    assert pages == 3
    page = ct.list_channels(MaxResults=2)
    assert [c["Name"] for c in page["Channels"]] == names[:2]
    first_token = page["NextToken"]
    rest = ct.list_channels(MaxResults=1000, NextToken=first_token)
    assert [c["Name"] for c in rest["Channels"]] == names[2:]
    assert "NextToken" not in rest

    tampered = first_token[:-2] + ("AA" if not first_token.endswith("AA") else "BB")
    for bad in (tampered, "not-a-token", first_token + "x"):
        with pytest.raises(ClientError) as excinfo:
            ct.list_channels(NextToken=bad)
        assert error_of(excinfo)[0] == "InvalidNextTokenException"
    # A token is bound to its account and region.
    with pytest.raises(ClientError) as excinfo:
        server.client("cloudtrail", account, "us-west-2").list_channels(NextToken=first_token)
    assert error_of(excinfo)[0] == "InvalidNextTokenException"
    for bad_max in (1001, 5000):
        with pytest.raises(ClientError) as excinfo:
            ct.list_channels(MaxResults=bad_max)
        code, message = error_of(excinfo)
        assert code == "InvalidMaxResultsException"
        assert "between 1 and 1000" in message


@pytest.mark.parametrize(
    "ref",
    [
        "arn:aws:cloudtrail:us-east-1:123:channel/abc",
        "arn:aws:cloudtrail:us-east-1:123456789012:trail/abc",
        "arn:aws:s3:::bucket",
        "arn:aws:cloudtrail:us-east-1:123456789012:channel/",
        "not/an:id",
        "x" * 129,
    ],
)
def test_malformed_channel_arns(ct: Any, ref: str) -> None:
    for call in (ct.get_channel, ct.delete_channel, ct.update_channel):
        with pytest.raises(ClientError) as excinfo:
            call(Channel=ref)
        code, message = error_of(excinfo)
        assert code == "ChannelARNInvalidException"
        assert "channel" in message


def test_unknown_channels_are_not_found(ct: Any, shared: Credentials) -> None:
    unknown_arn = (
        f"arn:aws:cloudtrail:{REGION}:{shared.account_id}:channel/00000000-0000-0000-0000-000000000000"
    )
    for ref in (unknown_arn, "00000000-0000-0000-0000-000000000000"):
        for call in (ct.get_channel, ct.delete_channel, ct.update_channel):
            with pytest.raises(ClientError) as excinfo:
                call(Channel=ref)
            code, message = error_of(excinfo)
            assert code == "ChannelNotFoundException"
            assert ref in message


def test_accounts_cannot_see_or_touch_each_others_channels(server: Server, account: Credentials) -> None:
    owner = server.client("cloudtrail", account, REGION)
    intruder_creds = server.new_account("intruder")
    intruder = server.client("cloudtrail", intruder_creds, REGION)
    arn = create(owner, account.account_id, "private")["ChannelArn"]
    channel_id = arn.rsplit("/", 1)[1]
    # A channel that does not exist and another account's channel answer alike.
    missing = f"arn:aws:cloudtrail:{REGION}:{account.account_id}:channel/00000000-0000-0000-0000-000000000000"
    for ref in (arn, channel_id, missing):
        for call, extra in (
            (intruder.get_channel, {}),
            (intruder.update_channel, {"Name": "stolen"}),
            (intruder.delete_channel, {}),
        ):
            with pytest.raises(ClientError) as excinfo:
                call(Channel=ref, **extra)
            code, message = error_of(excinfo)
            assert code == "ChannelNotFoundException"
            assert intruder_creds.account_id in message
            assert "private" not in message
    assert intruder.list_channels()["Channels"] == []
    # The intruder may use the same name in its own account.
    create(intruder, intruder_creds.account_id, "private")
    got = owner.get_channel(Channel=arn)
    assert got["Name"] == "private"
    assert [c["ChannelArn"] for c in owner.list_channels()["Channels"]] == [arn]


def test_aws_cli_channel_commands(server: Server, account: Credentials) -> None:
    destination = f"Type=EVENT_DATA_STORE,Location={eds_arn(account.account_id)}"
    result = server.aws(
        "cloudtrail",
        "create-channel",
        "--name",
        "cli-channel",
        "--source",
        "Custom",
        "--destinations",
        destination,
        "--tags",
        "Key=owner,Value=cli",
        creds=account,
    )
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["Name"] == "cli-channel"
    assert created["Tags"] == [{"Key": "owner", "Value": "cli"}]
    result = server.aws("cloudtrail", "get-channel", "--channel", created["ChannelArn"], creds=account)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["SourceConfig"] == {"ApplyToAllRegions": False, "AdvancedEventSelectors": []}
    result = server.aws("cloudtrail", "list-channels", creds=account)
    assert json.loads(result.stdout)["Channels"] == [
        {"ChannelArn": created["ChannelArn"], "Name": "cli-channel"}
    ]

    result = server.aws(
        "cloudtrail",
        "create-channel",
        "--name",
        "partner",
        "--source",
        "aws.partner/okta",
        "--destinations",
        destination,
        creds=account,
    )
    assert result.returncode == 255
    assert "InvalidSourceException" in result.stderr
    assert "CreateChannel" in result.stderr


def test_channel_calls_are_audited(server: Server, account: Credentials) -> None:
    ct = server.client("cloudtrail", account, REGION)
    arn = create(ct, account.account_id, "audited")["ChannelArn"]
    ct.get_channel(Channel=arn)
    events = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateChannel"}]
    )["Events"]
    assert len(events) == 1
    assert events[0]["Resources"] == [{"ResourceType": "AWS::CloudTrail::Channel", "ResourceName": arn}]
    record = json.loads(events[0]["CloudTrailEvent"])
    assert record["eventSource"] == "cloudtrail.amazonaws.com"
    assert record["requestParameters"]["name"] == "audited"
    assert record["responseElements"]["channelArn"] == arn
    assert record["readOnly"] is False
