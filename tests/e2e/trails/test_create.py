"""CreateTrail through boto3: the members it answers, a full configuration's round trip, the forms a
KMS key and an SNS topic may take, and the validation rules of names and configurations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.trails import (
    EAST,
    KEY_ID,
    LOG_GROUP,
    NAME_ADJACENT,
    NAME_CHARS,
    NAME_ENDS,
    NAME_IP_ADDRESS,
    NAME_STARTS,
    NAME_TOO_LONG,
    NAME_TOO_SHORT,
    ROLE,
    Tenant,
    body,
    expect_error,
    unique,
)


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
    status = body(shared.client().get_trail_status(Name="audit"))
    assert status == {
        "IsLogging": False,
        "LatestDeliveryAttemptTime": "",
        "LatestNotificationAttemptTime": "",
        "LatestNotificationAttemptSucceeded": "",
        "LatestDeliveryAttemptSucceeded": "",
        "TimeLoggingStarted": "",
        "TimeLoggingStopped": "",
    }


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
    ("name", "message"),
    [
        ("a", NAME_TOO_SHORT.format(1)),
        ("ab", NAME_TOO_SHORT.format(2)),
        ("a" * 129, NAME_TOO_LONG.format(129)),
        ("my trail", NAME_CHARS),
        ("my#trail", NAME_CHARS),
        ("tráil", NAME_CHARS),
        ("trail!", NAME_ENDS),
        ("-trail", NAME_STARTS),
        ("trail_", NAME_ENDS),
        (".trail", NAME_STARTS),
        ("my--trail", NAME_ADJACENT),
        ("my-_trail", NAME_ADJACENT),
        ("my..trail", NAME_ADJACENT),
        ("192.168.5.4", NAME_IP_ADDRESS),
    ],
)
def test_trail_name_rules_answer_cloudtrails_text(shared: Tenant, name: str, message: str) -> None:
    assert expect_error("InvalidTrailNameException", shared.trail, name) == message


@pytest.mark.parametrize("name", ["abc", "a" * 128, "My.Trail_1-x", "1trail9", "192.168.5"])
def test_valid_trail_names(shared: Tenant, name: str) -> None:
    assert shared.trail(name)["Name"] == name
    assert shared.client().get_trail(Name=name)["Trail"]["Name"] == name


@pytest.mark.parametrize(
    ("members", "code", "message"),
    [
        # AWS's own texts where they are known (sources in trails/destinations.py, configuration.py).
        (
            {"S3BucketName": "no-such-bucket-opentrail"},
            "S3BucketDoesNotExistException",
            "S3 bucket no-such-bucket-opentrail does not exist!",
        ),
        ({"S3BucketName": "Bad_Bucket"}, "InvalidS3BucketNameException", None),
        ({"S3KeyPrefix": "p" * 201}, "InvalidS3PrefixException", None),
        ({"SnsTopicName": "bad topic"}, "InvalidSnsTopicNameException", None),
        ({"SnsTopicName": "arn:aws:sqs:us-east-1:111122223333:queue"}, "InvalidSnsTopicNameException", None),
        (
            {"SnsTopicName": "no-such-topic"},
            "InsufficientSnsTopicPolicyException",
            "SNS Topic does not exist or the topic policy is incorrect!",
        ),
        ({"KmsKeyId": "not-a-key"}, "InvalidKmsKeyIdException", None),
        ({"KmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/nope"}, "InvalidKmsKeyIdException", None),
        (
            {"CloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:111122223333:log-group:g:*"},
            "InvalidCloudWatchLogsRoleArnException",
            "You must specify a role ARN as well as a log group.",
        ),
        (
            {"CloudWatchLogsRoleArn": "arn:aws:iam::111122223333:role/r"},
            "InvalidParameterCombinationException",
            None,
        ),
        (
            {
                "CloudWatchLogsLogGroupArn": "log-group-name",
                "CloudWatchLogsRoleArn": "arn:aws:iam::111122223333:role/r",
            },
            "InvalidCloudWatchLogsLogGroupArnException",
            "CloudTrail cannot validate the specified log group ARN.",
        ),
        (
            {
                "CloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:111122223333:log-group:g:*",
                "CloudWatchLogsRoleArn": "role",
            },
            "InvalidCloudWatchLogsRoleArnException",
            None,
        ),
        ({"IsOrganizationTrail": True}, "OrganizationsNotInUseException", None),
        (
            {"IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": False},
            "InvalidParameterCombinationException",
            "Multi-Region trail must include global service events.",
        ),
        (
            {"TagsList": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]},
            "TagsLimitExceededException",
            None,
        ),
        ({"TagsList": [{"Key": "k" * 129}]}, "InvalidTagParameterException", None),
    ],
)
def test_create_trail_rejects_bad_configuration(
    shared: Tenant, members: dict[str, Any], code: str, message: str | None
) -> None:
    args = {"Name": unique("bad"), "S3BucketName": shared.bucket, **members}
    answered = expect_error(code, shared.client().create_trail, **args)
    assert answered == message if message is not None else answered
    assert body(shared.client().describe_trails(trailNameList=[args["Name"]])) == {"trailList": []}


@pytest.mark.parametrize(
    ("malformed", "code"),
    [
        ({"KmsKeyId": "not-a-key"}, "InvalidKmsKeyIdException"),
        ({"S3KeyPrefix": "p" * 201}, "InvalidS3PrefixException"),
        (
            {"IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": False},
            "InvalidParameterCombinationException",
        ),
        (
            {
                "CloudWatchLogsLogGroupArn": "log-group",
                "CloudWatchLogsRoleArn": "arn:aws:iam::111122223333:role/r",
            },
            "InvalidCloudWatchLogsLogGroupArnException",
        ),
        ({"SnsTopicName": "bad topic"}, "InvalidSnsTopicNameException"),
    ],
)
def test_a_malformed_request_naming_a_missing_bucket_gets_the_parameter_error(
    shared: Tenant, malformed: dict[str, Any], code: str
) -> None:
    """Parameters are checked before anything is looked up, as AWS does (issue 13): the missing bucket,
    the missing topic and the existing trail name are never what is answered."""
    shared.trail("taken")
    for name in ("taken", unique("fresh")):
        args = {"Name": name, "S3BucketName": "no-such-bucket-opentrail", "SnsTopicName": "no-such-topic"}
        expect_error(code, shared.client().create_trail, **{**args, **malformed})
    # UpdateTrail: a trail that does not exist is looked up after the members' form too.
    expect_error(code, shared.client().update_trail, **{"Name": "no-such-trail", **malformed})


def test_trail_already_exists(shared: Tenant) -> None:
    shared.trail("dup")
    message = expect_error("TrailAlreadyExistsException", shared.trail, "dup")
    # AWS's text (trussworks/terraform-aws-cloudtrail#238).
    assert message == f"Trail dup already exists for customer: {shared.account_id}"


def test_create_trail_refuses_an_arn_for_a_name(shared: Tenant) -> None:
    expect_error("InvalidTrailNameException", shared.trail, shared.arn("x-trail"))
