"""Trail management through boto3: CloudTrail's members, validation rules, limits, shadow trails and
account isolation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import Server, server_on_backend
from tests.support.trails import Tenant, body, expect_error, expect_raw_error, unique

EAST, WEST = "us-east-1", "us-west-2"
KEY_ID = "12345678-1234-1234-1234-123456789012"
LOG_GROUP = "arn:aws:logs:us-east-1:{account}:log-group:CloudTrail/audit:*"
ROLE = "arn:aws:iam::{account}:role/CloudTrail_CloudWatchLogs_Role"
RESPONSE_MEMBERS = {
    "Name",
    "S3BucketName",
    "IncludeGlobalServiceEvents",
    "IsMultiRegionTrail",
    "TrailARN",
    "LogFileValidationEnabled",
    "IsOrganizationTrail",
}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """This module's own server, on each store backend: trail limits and documents on both."""
    yield from server_on_backend(request)


@pytest.fixture
def tenant(server: Server) -> Tenant:
    return Tenant.create(server)


@pytest.fixture(scope="module")
def module_tenant(server: Server) -> Tenant:
    tenant = Tenant.create(server)
    # Trails may only name topics that exist (InsufficientSnsTopicPolicyException otherwise).
    for name, region in (
        ("trail-topic", EAST),
        ("alerts", EAST),
        ("topic", EAST),
        ("other_topic", "eu-west-1"),
    ):
        server.cli(
            "topic",
            "create",
            name,
            "--url",
            "http://127.0.0.1:9/",
            "--account",
            tenant.account_id,
            "--region",
            region,
        )
    return tenant


@pytest.fixture
def shared(module_tenant: Tenant) -> Iterator[Tenant]:
    """The module's account, emptied after each test: for tests that need no second account and no
    history of their own (a fresh account costs two CLI runs, which would dominate the suite's time)."""
    yield module_tenant
    module_tenant.clear()


# -- CreateTrail ---------------------------------------------------------------------------------------------


def test_create_trail_answers_exactly_the_configured_members(shared: Tenant) -> None:
    created = body(shared.trail("audit"))
    assert created == {
        "Name": "audit",
        "S3BucketName": shared.bucket,
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": False,
        "TrailARN": shared.arn("audit"),
        "LogFileValidationEnabled": False,
        "IsOrganizationTrail": False,
    }
    trail = body(shared.client().get_trail(Name="audit"))["Trail"]
    assert trail == {
        **created,
        "HomeRegion": EAST,
        "HasCustomEventSelectors": False,
        "HasInsightSelectors": False,
    }
    assert body(shared.client().get_trail_status(Name="audit")) == {"IsLogging": False}


def test_full_configuration_round_trips(shared: Tenant) -> None:
    client = shared.client()
    account = shared.account_id
    created = body(
        shared.trail(
            "full",
            S3KeyPrefix="logs/audit",
            SnsTopicName="trail-topic",
            IncludeGlobalServiceEvents=True,
            IsMultiRegionTrail=True,
            EnableLogFileValidation=True,
            CloudWatchLogsLogGroupArn=LOG_GROUP.format(account=account),
            CloudWatchLogsRoleArn=ROLE.format(account=account),
            KmsKeyId="alias/trail-key",
            TagsList=[{"Key": "team", "Value": "security"}],
        )
    )
    expected = {
        "Name": "full",
        "S3BucketName": shared.bucket,
        "S3KeyPrefix": "logs/audit",
        "SnsTopicName": "trail-topic",
        "SnsTopicARN": f"arn:aws:sns:us-east-1:{account}:trail-topic",
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": True,
        "TrailARN": shared.arn("full"),
        "LogFileValidationEnabled": True,
        "CloudWatchLogsLogGroupArn": LOG_GROUP.format(account=account),
        "CloudWatchLogsRoleArn": ROLE.format(account=account),
        "KmsKeyId": f"arn:aws:kms:us-east-1:{account}:alias/trail-key",
        "IsOrganizationTrail": False,
    }
    assert created == expected
    described = {
        **expected,
        "HomeRegion": EAST,
        "HasCustomEventSelectors": False,
        "HasInsightSelectors": False,
    }
    assert body(client.get_trail(Name="full"))["Trail"] == described
    assert body(client.describe_trails(trailNameList=["full"]))["trailList"] == [described]
    # Round trip: feeding the stored configuration back through UpdateTrail changes nothing.
    again = {
        k: v for k, v in expected.items() if k not in ("SnsTopicARN", "TrailARN", "LogFileValidationEnabled")
    }
    again["EnableLogFileValidation"] = True
    assert body(client.update_trail(**again)) == expected
    assert body(client.get_trail(Name=shared.arn("full")))["Trail"] == described


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("alias/my-key", "arn:aws:kms:us-east-1:{account}:alias/my-key"),
        (KEY_ID, "arn:aws:kms:us-east-1:{account}:key/" + KEY_ID),
        ("arn:aws:kms:us-west-2:111122223333:alias/other", "arn:aws:kms:us-west-2:111122223333:alias/other"),
        (
            f"arn:aws:kms:eu-west-1:111122223333:key/{KEY_ID}",
            f"arn:aws:kms:eu-west-1:111122223333:key/{KEY_ID}",
        ),
    ],
)
def test_kms_key_forms_are_returned_as_full_arns(shared: Tenant, given: str, stored: str) -> None:
    created = shared.trail("kms-forms", KmsKeyId=given)
    assert created["KmsKeyId"] == stored.format(account=shared.account_id)
    assert shared.client().get_trail(Name="kms-forms")["Trail"]["KmsKeyId"] == created["KmsKeyId"]


@pytest.mark.parametrize(
    ("given", "name", "arn"),
    [
        ("alerts", "alerts", "arn:aws:sns:us-east-1:{account}:alerts"),
        (
            "arn:aws:sns:eu-west-1:{account}:other_topic",
            "other_topic",
            "arn:aws:sns:eu-west-1:{account}:other_topic",
        ),
    ],
)
def test_sns_topic_name_or_arn(shared: Tenant, given: str, name: str, arn: str) -> None:
    created = shared.trail("sns-forms", SnsTopicName=given.format(account=shared.account_id))
    assert created["SnsTopicName"] == name
    assert created["SnsTopicARN"] == arn.format(account=shared.account_id)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("ab", "between 3 and 128"),
        ("a" * 129, "between 3 and 128"),
        ("my trail", "only ASCII letters"),
        ("trail!", "only ASCII letters"),
        ("tráil", "only ASCII letters"),
        ("-trail", "start and end with a letter or a digit"),
        ("trail_", "start and end with a letter or a digit"),
        (".trail", "start and end with a letter or a digit"),
        ("my--trail", "adjacent"),
        ("my-_trail", "adjacent"),
        ("my..trail", "adjacent"),
        ("192.168.5.4", "IP address"),
    ],
)
def test_trail_name_rules(shared: Tenant, name: str, rule: str) -> None:
    message = expect_error("InvalidTrailNameException", shared.trail, name)
    assert rule in message


@pytest.mark.parametrize("name", ["abc", "a" * 128, "My.Trail_1-x", "1trail9", "192.168.5"])
def test_valid_trail_names(shared: Tenant, name: str) -> None:
    assert shared.trail(name)["Name"] == name
    assert shared.client().get_trail(Name=name)["Trail"]["Name"] == name


@pytest.mark.parametrize(
    ("members", "code"),
    [
        ({"S3BucketName": "no-such-bucket-opentrail"}, "S3BucketDoesNotExistException"),
        ({"S3BucketName": "Bad_Bucket"}, "InvalidS3BucketNameException"),
        ({"S3KeyPrefix": "p" * 201}, "InvalidS3PrefixException"),
        ({"SnsTopicName": "bad topic"}, "InvalidSnsTopicNameException"),
        ({"SnsTopicName": "arn:aws:sqs:us-east-1:111122223333:queue"}, "InvalidSnsTopicNameException"),
        ({"KmsKeyId": "not-a-key"}, "InvalidKmsKeyIdException"),
        ({"KmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/nope"}, "InvalidKmsKeyIdException"),
        (
            {"CloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:111122223333:log-group:g:*"},
            "InvalidParameterCombinationException",
        ),
        (
            {"CloudWatchLogsRoleArn": "arn:aws:iam::111122223333:role/r"},
            "InvalidParameterCombinationException",
        ),
        (
            {
                "CloudWatchLogsLogGroupArn": "log-group-name",
                "CloudWatchLogsRoleArn": "arn:aws:iam::111122223333:role/r",
            },
            "InvalidCloudWatchLogsLogGroupArnException",
        ),
        (
            {
                "CloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:111122223333:log-group:g:*",
                "CloudWatchLogsRoleArn": "role",
            },
            "InvalidCloudWatchLogsRoleArnException",
        ),
        ({"IsOrganizationTrail": True}, "OrganizationsNotInUseException"),
        (
            {"IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": False},
            "InvalidParameterCombinationException",
        ),
        ({"TagsList": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}, "TagsLimitExceededException"),
        ({"TagsList": [{"Key": "k" * 129}]}, "InvalidTagParameterException"),
    ],
)
def test_create_trail_rejects_bad_configuration(shared: Tenant, members: dict[str, Any], code: str) -> None:
    args = {"Name": unique("bad"), "S3BucketName": shared.bucket, **members}
    message = expect_error(code, shared.client().create_trail, **args)
    assert message
    assert body(shared.client().describe_trails(trailNameList=[args["Name"]])) == {"trailList": []}


def test_trail_already_exists(shared: Tenant) -> None:
    shared.trail("dup")
    message = expect_error("TrailAlreadyExistsException", shared.trail, "dup")
    assert "dup" in message


def test_create_trail_refuses_an_arn_for_a_name(shared: Tenant) -> None:
    expect_error("InvalidTrailNameException", shared.trail, shared.arn("x-trail"))


def test_five_trails_per_region_counting_multi_region_trails(shared: Tenant) -> None:
    for i in range(4):
        shared.trail(f"east-{i}")
    shared.trail("everywhere", region=WEST, IsMultiRegionTrail=True)  # seen in us-east-1 too: five there
    message = expect_error("MaximumNumberOfTrailsExceededException", shared.trail, "east-5")
    assert "5" in message
    assert EAST in message
    # us-west-2 sees its own multi-region trail only, so it has room for single-region trails...
    shared.trail("west-1", region=WEST)
    # ...but not for another multi-region trail, which us-east-1 would see as a sixth.
    expect_error(
        "MaximumNumberOfTrailsExceededException", shared.trail, "west-2", WEST, IsMultiRegionTrail=True
    )
    assert len(shared.client().list_trails()["Trails"]) == 6


def test_concurrent_creates_cannot_exceed_the_limit(shared: Tenant) -> None:
    client = shared.client()  # botocore clients are thread-safe

    def create(i: int) -> str:
        try:
            client.create_trail(Name=f"race-{i}", S3BucketName=shared.bucket)
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        return "created"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = sorted(pool.map(create, range(10)))
    assert outcomes == ["MaximumNumberOfTrailsExceededException"] * 5 + ["created"] * 5
    assert len(client.describe_trails()["trailList"]) == 5


def test_names_are_unique_where_a_trail_is_visible(shared: Tenant) -> None:
    shared.trail("same", region=WEST)
    shared.trail("same", region=EAST)  # two single-region trails in different regions do not meet
    shared.trail("global", region=EAST, IsMultiRegionTrail=True)
    expect_error("TrailAlreadyExistsException", shared.trail, "global", WEST)
    message = expect_error(
        "TrailAlreadyExistsException", shared.trail, "same", "eu-west-1", IsMultiRegionTrail=True
    )
    assert "same" in message


# -- UpdateTrail ---------------------------------------------------------------------------------------------


def test_update_trail_changes_every_member(server: Server, shared: Tenant) -> None:
    client = shared.client()
    account = shared.account_id
    shared.trail("upd")
    other_bucket = unique("trails-b")
    server.create_bucket(other_bucket, shared.creds)
    updated = body(
        client.update_trail(
            Name="upd",
            S3BucketName=other_bucket,
            S3KeyPrefix="p",
            SnsTopicName="topic",
            IncludeGlobalServiceEvents=True,
            IsMultiRegionTrail=True,
            EnableLogFileValidation=True,
            CloudWatchLogsLogGroupArn=LOG_GROUP.format(account=account),
            CloudWatchLogsRoleArn=ROLE.format(account=account),
            KmsKeyId=KEY_ID,
        )
    )
    assert updated == {
        "Name": "upd",
        "S3BucketName": other_bucket,
        "S3KeyPrefix": "p",
        "SnsTopicName": "topic",
        "SnsTopicARN": f"arn:aws:sns:us-east-1:{account}:topic",
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": True,
        "TrailARN": shared.arn("upd"),
        "LogFileValidationEnabled": True,
        "CloudWatchLogsLogGroupArn": LOG_GROUP.format(account=account),
        "CloudWatchLogsRoleArn": ROLE.format(account=account),
        "KmsKeyId": f"arn:aws:kms:us-east-1:{account}:key/{KEY_ID}",
        "IsOrganizationTrail": False,
    }
    # Empty strings turn the optional destinations off; absent members keep their values.
    cleared = body(
        client.update_trail(
            Name=shared.arn("upd"),
            S3KeyPrefix="",
            SnsTopicName="",
            KmsKeyId="",
            CloudWatchLogsLogGroupArn="",
            CloudWatchLogsRoleArn="",
            IsMultiRegionTrail=False,
            IncludeGlobalServiceEvents=False,
        )
    )
    assert cleared == {
        "Name": "upd",
        "S3BucketName": other_bucket,
        "IncludeGlobalServiceEvents": False,
        "IsMultiRegionTrail": False,
        "TrailARN": shared.arn("upd"),
        "LogFileValidationEnabled": True,
        "IsOrganizationTrail": False,
    }
    assert set(client.get_trail(Name="upd")["Trail"]) == RESPONSE_MEMBERS | {
        "HomeRegion",
        "HasCustomEventSelectors",
        "HasInsightSelectors",
    }


def test_update_trail_keeps_selectors_tags_and_logging(shared: Tenant) -> None:
    client = shared.client()
    shared.trail("keep", TagsList=[{"Key": "a", "Value": "1"}])
    client.put_event_selectors(TrailName="keep", EventSelectors=[{"ReadWriteType": "WriteOnly"}])
    client.start_logging(Name="keep")
    client.update_trail(Name="keep", S3KeyPrefix="moved")
    assert client.get_trail_status(Name="keep")["IsLogging"] is True
    assert client.get_event_selectors(TrailName="keep")["EventSelectors"][0]["ReadWriteType"] == "WriteOnly"
    tags = client.list_tags(ResourceIdList=[shared.arn("keep")])["ResourceTagList"][0]["TagsList"]
    assert tags == [{"Key": "a", "Value": "1"}]


@pytest.mark.parametrize(
    ("members", "code"),
    [
        ({"Name": "missing-trail"}, "TrailNotFoundException"),
        ({"Name": "bad--name"}, "InvalidTrailNameException"),
        ({"Name": "arn:aws:cloudtrail:us-east-1:123:trail/x"}, "CloudTrailARNInvalidException"),
        ({"Name": "arn:aws:cloudtrail:us-east-1:123456789012:channel/x"}, "CloudTrailARNInvalidException"),
        ({"S3BucketName": "no-such-bucket-opentrail"}, "S3BucketDoesNotExistException"),
        ({"S3KeyPrefix": "x" * 201}, "InvalidS3PrefixException"),
        ({"KmsKeyId": "alias/aws/s3"}, "InvalidKmsKeyIdException"),
        ({"IsOrganizationTrail": True}, "OrganizationsNotInUseException"),
        (
            {"IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": False},
            "InvalidParameterCombinationException",
        ),
    ],
)
def test_update_trail_errors(shared: Tenant, members: dict[str, Any], code: str) -> None:
    shared.trail("target")
    expect_error(code, shared.client().update_trail, **{"Name": "target", **members})
    assert body(shared.client().get_trail(Name="target"))["Trail"]["S3BucketName"] == shared.bucket


def test_update_to_multi_region_respects_other_regions(shared: Tenant) -> None:
    for i in range(5):
        shared.trail(f"west-{i}", region=WEST)
    shared.trail("home")
    expect_error(
        "MaximumNumberOfTrailsExceededException",
        shared.client().update_trail,
        Name="home",
        IsMultiRegionTrail=True,
    )
    assert shared.client().get_trail(Name="home")["Trail"]["IsMultiRegionTrail"] is False


def test_insufficient_bucket_policy_for_another_accounts_bucket(server: Server, shared: Tenant) -> None:
    other = Tenant.create(server)
    expect_error(
        "InsufficientS3BucketPolicyException",
        shared.client().create_trail,
        Name="trail-1",
        S3BucketName=other.bucket,
    )
    shared.trail("trail-2")
    expect_error(
        "InsufficientS3BucketPolicyException",
        shared.client().update_trail,
        Name="trail-2",
        S3BucketName=other.bucket,
    )


# -- DeleteTrail, GetTrail, DescribeTrails, ListTrails -------------------------------------------------------


def test_delete_trail(shared: Tenant) -> None:
    client = shared.client()
    shared.trail("gone")
    assert body(client.delete_trail(Name="gone")) == {}
    expect_error("TrailNotFoundException", client.get_trail, Name="gone")
    message = expect_error("TrailNotFoundException", client.delete_trail, Name="gone")
    assert message == f"Unknown trail: gone for the user: {shared.account_id}"
    shared.trail("by-arn")
    client.delete_trail(Name=shared.arn("by-arn"))
    assert client.describe_trails()["trailList"] == []
    expect_error("InvalidTrailNameException", client.delete_trail, Name="x")
    expect_error("CloudTrailARNInvalidException", client.delete_trail, Name="arn:aws:cloudtrail:bad")


def test_get_trail_errors(shared: Tenant) -> None:
    client = shared.client()
    expect_error("TrailNotFoundException", client.get_trail, Name="nothing-here")
    expect_error("InvalidTrailNameException", client.get_trail, Name="no way")
    expect_error(
        "CloudTrailARNInvalidException", client.get_trail, Name="arn:aws:cloudtrail:us-east-1:1:trail/x"
    )
    expect_error("TrailNotFoundException", client.get_trail_status, Name="nothing-here")


def test_describe_trails_with_shadow_trails(shared: Tenant) -> None:
    shared.trail("global", IsMultiRegionTrail=True)
    shared.trail("local-east")
    shared.trail("local-west", region=WEST)
    west = shared.client(WEST)
    names = [t["Name"] for t in west.describe_trails()["trailList"]]
    assert names == ["local-west", "global"]
    assert [t["Name"] for t in west.describe_trails(includeShadowTrails=True)["trailList"]] == names
    assert [t["Name"] for t in west.describe_trails(includeShadowTrails=False)["trailList"]] == ["local-west"]
    # A shadow trail is described as its home region's trail.
    shadow = west.describe_trails(trailNameList=[shared.arn("global")])["trailList"]
    assert shadow == [shared.client().get_trail(Name="global")["Trail"]]
    assert shadow[0]["HomeRegion"] == EAST
    # Names match only trails homed in the call's region; other regions need the ARN.
    assert west.describe_trails(trailNameList=["global", "local-east"])["trailList"] == []
    listed = west.describe_trails(
        trailNameList=["local-west", shared.arn("local-east"), shared.arn("local-west")]
    )
    assert [t["Name"] for t in listed["trailList"]] == ["local-west", "local-east"]
    assert (
        west.describe_trails(trailNameList=[shared.arn("global")], includeShadowTrails=False)["trailList"]
        == []
    )
    east = shared.client()
    assert [t["Name"] for t in east.describe_trails()["trailList"]] == ["global", "local-east"]


def test_describe_trails_errors(shared: Tenant) -> None:
    client = shared.client()
    assert client.describe_trails(trailNameList=["unknown-trail"])["trailList"] == []
    expect_error("InvalidTrailNameException", client.describe_trails, trailNameList=["bad name"])
    expect_error(
        "CloudTrailARNInvalidException", client.describe_trails, trailNameList=["arn:aws:cloudtrail:x"]
    )


def test_shadow_trails_read_by_arn_but_changed_only_at_home(shared: Tenant) -> None:
    shared.trail("roaming", IsMultiRegionTrail=True)
    arn = shared.arn("roaming")
    west = shared.client(WEST)
    assert west.get_trail(Name=arn)["Trail"]["HomeRegion"] == EAST
    assert west.get_trail_status(Name=arn)["IsLogging"] is False
    assert west.get_event_selectors(TrailName=arn)["TrailARN"] == arn
    expect_error("TrailNotFoundException", west.get_trail, Name="roaming")
    changes: list[tuple[Any, dict[str, Any]]] = [
        (west.update_trail, {"Name": arn, "S3KeyPrefix": "x"}),
        (west.delete_trail, {"Name": arn}),
        (west.start_logging, {"Name": arn}),
        (west.stop_logging, {"Name": arn}),
        (west.put_event_selectors, {"TrailName": arn, "EventSelectors": [{"ReadWriteType": "All"}]}),
        (
            west.put_insight_selectors,
            {"TrailName": arn, "InsightSelectors": [{"InsightType": "ApiCallRateInsight"}]},
        ),
    ]
    for operation, args in changes:
        message = expect_error("InvalidHomeRegionException", operation, **args)
        assert EAST in message
    assert body(shared.client().get_trail(Name="roaming"))["Trail"]["HasCustomEventSelectors"] is False
    # Turning multi-region off removes the shadow from other regions' default listing.
    shared.client().update_trail(Name="roaming", IsMultiRegionTrail=False)
    assert west.describe_trails()["trailList"] == []


def test_list_trails_paginates_all_regions(server: Server, tenant: Tenant) -> None:
    regions = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1"]
    expected = sorted((region, f"t{i}-{region}") for region in regions for i in range(5))
    for region, name in expected:
        tenant.trail(name, region=region)
    client = tenant.client("eu-central-1")
    first = client.list_trails()
    assert len(first["Trails"]) == 20
    assert first["NextToken"]
    second = client.list_trails(NextToken=first["NextToken"])
    assert len(second["Trails"]) == 5
    assert "NextToken" not in second
    listed = first["Trails"] + second["Trails"]
    assert [(t["HomeRegion"], t["Name"]) for t in listed] == expected
    assert listed[0] == {
        "TrailARN": tenant.arn(expected[0][1], expected[0][0]),
        "Name": expected[0][1],
        "HomeRegion": expected[0][0],
    }
    pages = list(client.get_paginator("list_trails").paginate())
    assert sum(len(page["Trails"]) for page in pages) == 25
    expect_error("InvalidNextTokenException", client.list_trails, NextToken=first["NextToken"][:-2] + "xx")
    expect_error("InvalidNextTokenException", client.list_trails, NextToken="garbage")
    # A token is bound to the account that received it.
    expect_error(
        "InvalidNextTokenException", Tenant.create(server).client().list_trails, NextToken=first["NextToken"]
    )


# -- logging -------------------------------------------------------------------------------------------------


def test_start_and_stop_logging(shared: Tenant) -> None:
    client = shared.client()
    shared.trail("log")
    before = datetime.now().astimezone()
    assert body(client.start_logging(Name="log")) == {}
    status = body(client.get_trail_status(Name="log"))
    assert set(status) == {"IsLogging", "StartLoggingTime", "TimeLoggingStarted"}
    assert status["IsLogging"] is True
    started = status["StartLoggingTime"]
    assert abs((started - before).total_seconds()) < 5
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", status["TimeLoggingStarted"])
    client.start_logging(Name="log")  # already logging: nothing changes
    assert client.get_trail_status(Name="log")["StartLoggingTime"] == started
    client.stop_logging(Name=shared.arn("log"))
    status = body(client.get_trail_status(Name=shared.arn("log")))
    assert status["IsLogging"] is False
    assert set(status) == {
        "IsLogging",
        "StartLoggingTime",
        "StopLoggingTime",
        "TimeLoggingStarted",
        "TimeLoggingStopped",
    }
    assert status["StopLoggingTime"] >= started
    for operation in (client.start_logging, client.stop_logging):
        expect_error("TrailNotFoundException", operation, Name="no-such-trail")
        expect_error("InvalidTrailNameException", operation, Name="a")
        expect_error("CloudTrailARNInvalidException", operation, Name="arn:aws:cloudtrail:us-east-1:x")


# -- isolation -----------------------------------------------------------------------------------------------


def test_accounts_are_isolated(server: Server, tenant: Tenant) -> None:
    tenant.trail("private", IsMultiRegionTrail=True, TagsList=[{"Key": "secret", "Value": "yes"}])
    arn = tenant.arn("private")
    intruder = Tenant.create(server)
    for region in (EAST, WEST):
        other = intruder.client(region)
        assert other.describe_trails()["trailList"] == []
        assert other.describe_trails(trailNameList=[arn, "private"])["trailList"] == []
        assert other.list_trails()["Trails"] == []
        trail_calls: list[tuple[Any, dict[str, Any]]] = [
            (other.get_trail, {"Name": arn}),
            (other.get_trail_status, {"Name": arn}),
            (other.update_trail, {"Name": arn, "S3BucketName": intruder.bucket}),
            (other.delete_trail, {"Name": arn}),
            (other.start_logging, {"Name": arn}),
            (other.stop_logging, {"Name": arn}),
            (other.get_event_selectors, {"TrailName": arn}),
            (
                other.put_event_selectors,
                {"TrailName": arn, "EventSelectors": [{"ReadWriteType": "ReadOnly"}]},
            ),
            (other.get_insight_selectors, {"TrailName": arn}),
            (other.put_insight_selectors, {"TrailName": arn, "InsightSelectors": []}),
        ]
        for operation, args in trail_calls:
            message = expect_error("TrailNotFoundException", operation, **args)
            assert intruder.account_id in message
            assert tenant.account_id not in message.split("user:")[-1]
        tag_calls: list[tuple[Any, dict[str, Any]]] = [
            (other.add_tags, {"ResourceId": arn, "TagsList": [{"Key": "x"}]}),
            (other.remove_tags, {"ResourceId": arn, "TagsList": [{"Key": "secret"}]}),
            (other.list_tags, {"ResourceIdList": [arn]}),
        ]
        for operation, args in tag_calls:
            expect_error("ResourceNotFoundException", operation, **args)
    # The same name is free in the other account, and nothing of the first account changed.
    intruder.trail("private")
    owner = tenant.client()
    assert owner.get_trail(Name="private")["Trail"]["S3BucketName"] == tenant.bucket
    assert owner.get_trail_status(Name="private")["IsLogging"] is False
    assert owner.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"] == [
        {"Key": "secret", "Value": "yes"}
    ]
    assert owner.get_event_selectors(TrailName="private")["EventSelectors"][0]["ReadWriteType"] == "All"


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("CreateTrail", {"Name": 5, "S3BucketName": "{bucket}"}),
        ("CreateTrail", {"Name": "typed", "S3BucketName": "{bucket}", "IsMultiRegionTrail": "yes"}),
        ("CreateTrail", {"Name": "typed", "S3BucketName": "{bucket}", "TagsList": "k=v"}),
        ("CreateTrail", {"Name": "typed", "S3BucketName": "{bucket}", "TagsList": [{"Key": 1}]}),
        ("UpdateTrail", {"Name": "typed", "KmsKeyId": ["alias/x"]}),
        ("DescribeTrails", {"trailNameList": "typed"}),
        ("DescribeTrails", {"trailNameList": [1]}),
        ("DescribeTrails", {"includeShadowTrails": "false"}),
        ("ListTrails", {"NextToken": 5}),
        ("GetTrailStatus", {"Name": {"a": 1}}),
        ("ListTags", {"ResourceIdList": [1]}),
        ("ListTags", {"ResourceIdList": "arn"}),
        (
            "PutInsightSelectors",
            {
                "TrailName": "typed",
                "InsightSelectors": [{"InsightType": "ApiCallRateInsight", "EventCategories": "Data"}],
            },
        ),
    ],
)
def test_wrong_json_types_are_serialization_errors(
    shared: Tenant, operation: str, params: dict[str, Any]
) -> None:
    shared.trail("typed")
    filled = {k: v.format(bucket=shared.bucket) if isinstance(v, str) else v for k, v in params.items()}
    expect_raw_error("SerializationException", shared, operation, filled)
    assert shared.client().describe_trails()["trailList"][0]["Name"] == "typed"
