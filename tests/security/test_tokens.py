"""Pagination tokens abused: forged, truncated, altered, oversized or of the wrong type; a real one
replayed by another account, in another region, with other parameters, or in another operation; and
tokens where the API reserves them. Every such token is refused; none yields a page of anyone else's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.holdings import Holdings
from tests.support.protocol import TARGET
from tests.support.server import Credentials, Server
from tests.support.signing import sign
from tests.support.wire import Wire, json_error

REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1"]


def raw_call(
    server: Server,
    wire: Wire,
    creds: Credentials,
    operation: str,
    params: dict[str, Any],
    region: str = "us-east-1",
) -> Any:
    """The call as sent, past botocore's own checks of the token's type and length."""
    body = json.dumps(params).encode()
    headers = {"X-Amz-Target": TARGET + operation, "Content-Type": "application/x-amz-json-1.1"}
    signed = sign(server.endpoint + "/", "POST", headers, body, creds, service="cloudtrail", region=region)
    return wire.send(f"cloudtrail:{operation}", "POST", "/", signed, body)


def first_token(
    wire: Wire, creds: Credentials, operation: str, region: str = "us-east-1", **params: Any
) -> str:
    client = wire.boto("cloudtrail", creds, region)
    page = getattr(
        client,
        {"LookupEvents": "lookup_events", "ListTrails": "list_trails", "ListChannels": "list_channels"}[
            operation
        ],
    )(**params)
    token: str = page["NextToken"]
    return token


@pytest.fixture(scope="module")
def many_trails(server: Server, wire: Wire) -> tuple[Credentials, str]:
    """An account with 21 trails (ListTrails pages by 20) and the token of its second page."""
    owner = server.new_account("many-trails")
    bucket = "many-trails-" + owner.account_id
    wire.boto("s3", owner).create_bucket(Bucket=bucket)
    for n in range(21):
        region = REGIONS[n % len(REGIONS)]
        wire.boto("cloudtrail", owner, region).create_trail(Name=f"trail-{n:02d}", S3BucketName=bucket)
    return owner, first_token(wire, owner, "ListTrails")


def mutations(token: str) -> dict[str, Any]:
    body, _, mac = token.partition(".")
    flipped = body[:5] + ("A" if body[5] != "A" else "B") + body[6:]
    return {
        "random": "eyJzIjoiYSIsInAiOjF9.AAAAAAAAAAAAAAAAAAAAAA",
        "truncated": token[:-1],
        "body-altered": f"{flipped}.{mac}",
        "mac-dropped": body,
        "padded": token + "==",
        "oversized": token + "A" * 10_000,
        "empty": "",
        "unicode": "\u00e9\u202e" + token,
        "nul": token[:10] + "\x00" + token[10:],
        "a-number": 12345,
        "an-object": {"s": "x", "p": 1},
    }


MUTATIONS = [
    "random",
    "truncated",
    "body-altered",
    "mac-dropped",
    "padded",
    "oversized",
    "empty",
    "unicode",
    "nul",
    "a-number",
    "an-object",
]


def expected(mutation: str, code: str = "InvalidNextTokenException") -> str:
    return "SerializationException" if mutation in ("a-number", "an-object") else code


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_forged_lookup_events_token_is_refused(
    server: Server, wire: Wire, victim: Holdings, mutation: str
) -> None:
    token = first_token(wire, victim.creds, "LookupEvents", MaxResults=1)
    answer = raw_call(
        server, wire, victim.creds, "LookupEvents", {"MaxResults": 1, "NextToken": mutations(token)[mutation]}
    )
    json_error(answer, 400, expected(mutation))


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_forged_list_trails_token_is_refused(
    server: Server, wire: Wire, many_trails: tuple[Credentials, str], mutation: str
) -> None:
    owner, token = many_trails
    answer = raw_call(server, wire, owner, "ListTrails", {"NextToken": mutations(token)[mutation]})
    json_error(answer, 400, expected(mutation))


@pytest.mark.parametrize(
    "mutation", ["random", "truncated", "body-altered", "oversized", "empty", "a-number"]
)
def test_a_forged_list_channels_token_is_refused(
    server: Server, wire: Wire, victim: Holdings, mutation: str
) -> None:
    second = wire.boto("cloudtrail", victim.creds)
    if len(second.list_channels()["Channels"]) < 2:
        second.create_channel(
            Name="victim-second",
            Source="Custom",
            Destinations=[{"Type": "EVENT_DATA_STORE", "Location": "example-store"}],
        )
    token = first_token(wire, victim.creds, "ListChannels", MaxResults=1)
    answer = raw_call(
        server, wire, victim.creds, "ListChannels", {"MaxResults": 1, "NextToken": mutations(token)[mutation]}
    )
    json_error(answer, 400, expected(mutation))


def test_the_victims_lookup_token_is_worthless_to_the_intruder(
    wire: Wire, victim: Holdings, intruder: Holdings
) -> None:
    token = first_token(wire, victim.creds, "LookupEvents", MaxResults=1)
    client = wire.boto("cloudtrail", intruder.creds)
    with pytest.raises(ClientError) as caught:
        client.lookup_events(MaxResults=1, NextToken=token)
    assert caught.value.response["Error"]["Code"] == "InvalidNextTokenException"


@pytest.mark.parametrize(
    ("change", "params"),
    [
        ("another-region", {"MaxResults": 1}),
        ("other-parameters", {"MaxResults": 2}),
        (
            "a-filter-added",
            {"MaxResults": 1, "LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "false"}]},
        ),
    ],
)
def test_a_lookup_token_is_bound_to_its_region_and_parameters(
    wire: Wire, victim: Holdings, change: str, params: dict[str, Any]
) -> None:
    token = first_token(wire, victim.creds, "LookupEvents", MaxResults=1)
    client = wire.boto("cloudtrail", victim.creds, "eu-west-1" if change == "another-region" else "us-east-1")
    with pytest.raises(ClientError) as caught:
        client.lookup_events(NextToken=token, **params)
    assert caught.value.response["Error"]["Code"] == "InvalidNextTokenException"


def test_another_accounts_list_trails_token_is_refused(
    wire: Wire, many_trails: tuple[Credentials, str], intruder: Holdings
) -> None:
    _, token = many_trails
    with pytest.raises(ClientError) as caught:
        wire.boto("cloudtrail", intruder.creds).list_trails(NextToken=token)
    assert caught.value.response["Error"]["Code"] == "InvalidNextTokenException"


def test_the_owners_list_trails_token_pages_on(wire: Wire, many_trails: tuple[Credentials, str]) -> None:
    """The control: the same token, from its own account, is the second page."""
    owner, token = many_trails
    page = wire.boto("cloudtrail", owner).list_trails(NextToken=token)
    assert len(page["Trails"]) == 1
    assert "NextToken" not in page


def test_a_token_of_one_operation_is_refused_by_another(
    server: Server, wire: Wire, victim: Holdings, many_trails: tuple[Credentials, str]
) -> None:
    owner, trails_token = many_trails
    lookup_token = first_token(wire, owner, "LookupEvents", MaxResults=1)
    json_error(
        raw_call(server, wire, owner, "LookupEvents", {"NextToken": trails_token}),
        400,
        "InvalidNextTokenException",
    )
    json_error(
        raw_call(server, wire, owner, "ListTrails", {"NextToken": lookup_token}),
        400,
        "InvalidNextTokenException",
    )
    json_error(
        raw_call(server, wire, owner, "ListChannels", {"NextToken": lookup_token}),
        400,
        "InvalidNextTokenException",
    )


def test_the_intruders_channel_token_is_refused(
    server: Server, wire: Wire, victim: Holdings, intruder: Holdings
) -> None:
    token = first_token(wire, victim.creds, "ListChannels", MaxResults=1)
    answer = raw_call(server, wire, intruder.creds, "ListChannels", {"MaxResults": 1, "NextToken": token})
    json_error(answer, 400, "InvalidNextTokenException")
    answer = raw_call(
        server, wire, victim.creds, "ListChannels", {"MaxResults": 1, "NextToken": token}, region="eu-west-1"
    )
    json_error(answer, 400, "InvalidNextTokenException")


@pytest.mark.parametrize(
    ("operation", "params"),
    [("ListTags", {"ResourceIdList": ["{trail}"]}), ("ListPublicKeys", {})],
)
def test_a_token_where_none_is_ever_issued_is_refused(
    server: Server, wire: Wire, victim: Holdings, operation: str, params: dict[str, Any]
) -> None:
    token = first_token(wire, victim.creds, "LookupEvents", MaxResults=1)
    filled = json.loads(json.dumps(params).replace("{trail}", victim.trail_arn))
    answer = raw_call(server, wire, victim.creds, operation, {**filled, "NextToken": token})
    json_error(answer, 400, "InvalidTokenException")


def test_an_s3_continuation_token_is_no_key_to_another_bucket(
    wire: Wire, victim: Holdings, intruder: Holdings
) -> None:
    s3 = wire.boto("s3", victim.creds)
    s3.put_object(Bucket=victim.bucket, Key="secret/zz-second.txt", Body=b"2")
    token = s3.list_objects_v2(Bucket=victim.bucket, MaxKeys=1)["NextContinuationToken"]
    with pytest.raises(ClientError) as caught:
        wire.boto("s3", intruder.creds).list_objects_v2(Bucket=victim.bucket, ContinuationToken=token)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    mine = wire.boto("s3", intruder.creds)
    own = {item["Key"] for item in mine.list_objects_v2(Bucket=intruder.bucket).get("Contents", [])}
    listed = mine.list_objects_v2(Bucket=intruder.bucket, ContinuationToken=token).get("Contents", [])
    assert {item["Key"] for item in listed} <= own
