"""CreateTrail's and UpdateTrail's members (``trails/configuration.py``): every member's form is checked
by ``parse`` alone, without looking anything up; ``apply`` then checks what the trail's flags combine to
and what must exist (organization, bucket, topic), with AWS's own texts where they are known (reference
§2.3, §2.4; issue 13)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opentrail import errors
from opentrail.delivery import topics
from opentrail.store.logs import LogGroup
from opentrail.trails import configuration
from opentrail.trails.model import Trail
from tests.support.calls import Env
from tests.support.documents import put_organization
from tests.support.services import START, open_env

OWNER, MEMBER, OTHER = "111111111111", "222222222222", "333333333333"
START_MS = int(START * 1000)
BUCKET = "trail-bucket"
GROUP = f"arn:aws:logs:us-east-1:{OWNER}:log-group:trail-logs:*"
ROLE = f"arn:aws:iam::{OWNER}:role/trail-role"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    for env in open_env(tmp_path):
        env.services.storage.create_bucket(BUCKET)
        env.store.add_bucket(BUCKET, OWNER)
        env.store.logs.create_group(LogGroup(OWNER, "us-east-1", "trail-logs", START_MS))
        yield env


def trail(name: str = "conf", **changes: Any) -> Trail:
    arn = f"arn:aws:cloudtrail:us-east-1:{OWNER}:trail/{name}"
    return Trail(name=name, trail_arn=arn, home_region="us-east-1", s3_bucket_name=BUCKET, **changes)


def parse(p: dict[str, Any], account: str = OWNER) -> configuration.ConfigRequest:
    return configuration.parse(p, "us-east-1", account)


def configure(env: Env, p: dict[str, Any], base: Trail | None = None, account: str = OWNER) -> Trail:
    return configuration.apply(env.call(account), base or trail(), parse(p, account))


def test_absent_members_keep_their_values_and_an_empty_string_clears(env: Env) -> None:
    topics.create(env.store, OWNER, "us-east-1", "topic-1", "http://127.0.0.1:9/", START, "sub-1")
    configured = configure(
        env,
        {
            "S3KeyPrefix": "logs",
            "SnsTopicName": "topic-1",
            "KmsKeyId": "alias/mine",
            "EnableLogFileValidation": True,
            "IncludeGlobalServiceEvents": False,
        },
    )
    assert configured.s3_key_prefix == "logs"
    assert configured.sns_topic_name == "topic-1"
    assert configured.sns_topic_arn == f"arn:aws:sns:us-east-1:{OWNER}:topic-1"
    assert configured.kms_key_id == f"arn:aws:kms:us-east-1:{OWNER}:alias/mine"
    assert (configured.log_file_validation_enabled, configured.include_global_service_events) == (True, False)
    assert configure(env, {}, configured) == configured
    cleared = configure(env, {"S3KeyPrefix": "", "SnsTopicName": "", "KmsKeyId": ""}, configured)
    assert (cleared.s3_key_prefix, cleared.sns_topic_name, cleared.sns_topic_arn, cleared.kms_key_id) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("p", "error"),
    [
        ({"S3BucketName": "Not_A_Bucket"}, errors.InvalidS3BucketName),
        ({"S3KeyPrefix": "p" * 201}, errors.InvalidS3Prefix),
        ({"SnsTopicName": "bad topic"}, errors.InvalidSnsTopicName),
        ({"KmsKeyId": "not-a-key"}, errors.InvalidKmsKeyId),
        (
            {"CloudWatchLogsLogGroupArn": "log-group", "CloudWatchLogsRoleArn": ROLE},
            errors.InvalidCloudWatchLogsLogGroupArn,
        ),
        (
            {"CloudWatchLogsLogGroupArn": GROUP, "CloudWatchLogsRoleArn": "role"},
            errors.InvalidCloudWatchLogsRoleArn,
        ),
        (
            {"IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": False},
            errors.InvalidParameterCombination,
        ),
        ({"IsMultiRegionTrail": "true"}, errors.SerializationException),
    ],
)
def test_parse_checks_each_members_form_and_looks_nothing_up(
    p: dict[str, Any], error: type[Exception]
) -> None:
    """``parse`` takes no call, so it has no store, bucket store or topic to look at: a malformed member
    is refused whatever exists."""
    with pytest.raises(error):
        parse({"S3BucketName": "no-such-bucket", "SnsTopicName": "no-such-topic", **p})


def test_parse_accepts_a_well_formed_request_naming_what_does_not_exist() -> None:
    request = parse(
        {"S3BucketName": "no-such-bucket", "SnsTopicName": "no-such-topic", "KmsKeyId": "alias/k"}
    )
    assert request.changes["s3_bucket_name"] == "no-such-bucket"
    assert request.changes["sns_topic_arn"] == f"arn:aws:sns:us-east-1:{OWNER}:no-such-topic"


def test_the_bucket_must_exist_and_not_be_another_accounts(env: Env) -> None:
    with pytest.raises(errors.S3BucketDoesNotExist) as caught:
        configure(env, {"S3BucketName": "missing-bucket"})
    assert caught.value.message == "S3 bucket missing-bucket does not exist!"
    with pytest.raises(errors.InsufficientS3BucketPolicy) as caught:
        configure(env, {"S3BucketName": BUCKET}, account=OTHER)
    assert caught.value.message == f"Incorrect S3 bucket policy is detected for bucket: {BUCKET}"


def test_the_topic_is_looked_up_after_the_bucket(env: Env) -> None:
    with pytest.raises(errors.S3BucketDoesNotExist):
        configure(env, {"S3BucketName": "missing-bucket", "SnsTopicName": "missing-topic"})
    with pytest.raises(errors.InsufficientSnsTopicPolicy) as caught:
        configure(env, {"S3BucketName": BUCKET, "SnsTopicName": "missing-topic"})
    assert caught.value.message == "SNS Topic does not exist or the topic policy is incorrect!"


def test_cloud_watch_logs_needs_both_arns_or_neither(env: Env) -> None:
    with pytest.raises(errors.InvalidCloudWatchLogsRoleArn) as caught:
        configure(env, {"CloudWatchLogsLogGroupArn": GROUP})
    # AWS's text (hashicorp/terraform-provider-aws#148, pulumi/docs#5117).
    assert caught.value.message == "You must specify a role ARN as well as a log group."
    with pytest.raises(errors.InvalidParameterCombination, match="must be given together"):
        configure(env, {"CloudWatchLogsRoleArn": ROLE})
    both = configure(env, {"CloudWatchLogsLogGroupArn": GROUP, "CloudWatchLogsRoleArn": ROLE})
    assert (both.cloud_watch_logs_log_group_arn, both.cloud_watch_logs_role_arn) == (GROUP, ROLE)
    off = configure(env, {"CloudWatchLogsLogGroupArn": "", "CloudWatchLogsRoleArn": ""}, both)
    assert (off.cloud_watch_logs_log_group_arn, off.cloud_watch_logs_role_arn) == (None, None)
    with pytest.raises(errors.InvalidCloudWatchLogsLogGroupArn) as bad_group:
        configure(env, {"CloudWatchLogsLogGroupArn": "trail-logs", "CloudWatchLogsRoleArn": ROLE})
    assert bad_group.value.message == "CloudTrail cannot validate the specified log group ARN."
    with pytest.raises(errors.InvalidCloudWatchLogsRoleArn):
        configure(env, {"CloudWatchLogsLogGroupArn": GROUP, "CloudWatchLogsRoleArn": "role"})


def test_the_log_group_must_exist_in_the_callers_account(env: Env) -> None:
    # CloudTrail's text when it cannot write to the group (aws/aws-cli#5098, aws/aws-cdk#1963).
    denied = "Access denied. Check the permissions for your role."
    missing = GROUP.replace("trail-logs", "no-such-group")
    with pytest.raises(errors.InvalidCloudWatchLogsLogGroupArn) as caught:
        configure(env, {"CloudWatchLogsLogGroupArn": missing, "CloudWatchLogsRoleArn": ROLE})
    assert caught.value.message == denied
    elsewhere = GROUP.replace("us-east-1", "eu-west-1")
    with pytest.raises(errors.InvalidCloudWatchLogsLogGroupArn):
        configure(env, {"CloudWatchLogsLogGroupArn": elsewhere, "CloudWatchLogsRoleArn": ROLE})
    env.store.logs.create_group(LogGroup(OTHER, "us-east-1", "trail-logs", START_MS))
    theirs = GROUP.replace(OWNER, OTHER)
    with pytest.raises(errors.InvalidCloudWatchLogsLogGroupArn):
        configure(env, {"CloudWatchLogsLogGroupArn": theirs, "CloudWatchLogsRoleArn": ROLE})


MULTI_REGION = "Multi-Region trail must include global service events."


def test_a_multi_region_trail_includes_global_service_events(env: Env) -> None:
    # Both flags in the request: refused by parse, before anything is looked up.
    with pytest.raises(errors.InvalidParameterCombination) as caught:
        parse({"IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": False})
    assert caught.value.message == MULTI_REGION
    # One flag in the request, the other on the trail: refused by apply, before the lookups.
    base = trail(include_global_service_events=False)
    with pytest.raises(errors.InvalidParameterCombination) as caught:
        configure(env, {"IsMultiRegionTrail": True, "S3BucketName": "missing-bucket"}, base)
    assert caught.value.message == MULTI_REGION
    assert configure(env, {"IsMultiRegionTrail": True}).is_multi_region_trail


def test_an_organization_trail_needs_the_management_account_of_an_all_features_organization(env: Env) -> None:
    with pytest.raises(errors.OrganizationsNotInUse, match=f"Account {OWNER} is not part of an organization"):
        configure(env, {"IsOrganizationTrail": True})
    put_organization(env.store, OWNER, MEMBER)
    made = configure(env, {"IsOrganizationTrail": True})
    assert (made.is_organization_trail, made.organization_id) == (True, "o-abcdefghij")
    assert configure(env, {"IsOrganizationTrail": False}, made).organization_id is None
    env.store.add_bucket("member-bucket", MEMBER)
    with pytest.raises(errors.NotOrganizationMasterAccount, match="is not the management account"):
        configure(env, {"IsOrganizationTrail": True}, account=MEMBER)


def test_an_organization_trail_needs_all_features(env: Env) -> None:
    put_organization(env.store, OWNER, MEMBER, feature_set="CONSOLIDATED_BILLING")
    with pytest.raises(errors.OrganizationNotInAllFeaturesMode, match="feature set CONSOLIDATED_BILLING"):
        configure(env, {"IsOrganizationTrail": True})
