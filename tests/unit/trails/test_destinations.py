"""Where a trail delivers (``trails/destinations.py``): the spellings CreateTrail and UpdateTrail accept
for a topic, a KMS key, a log group and a role, the one canonical form each is stored in, and the named
exception for each member that is wrong, with AWS's own text where it is known (reference §2.3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opentrail import errors
from opentrail.delivery import topics
from opentrail.trails import destinations
from tests.support.calls import Env
from tests.support.services import START, open_env

ACCOUNT, OTHER = "111122223333", "444455556666"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from open_env(tmp_path)


def test_prefixes_up_to_200_characters_without_control_characters() -> None:
    destinations.check_prefix("")
    destinations.check_prefix("a/b/" + "p" * 196)
    destinations.check_prefix("ünïcödé/prefix with spaces")
    with pytest.raises(errors.InvalidS3Prefix, match="at most 200 characters long, got 201"):
        destinations.check_prefix("p" * 201)
    for control in ("a\nb", "a\x00b", "a\x7fb"):
        with pytest.raises(errors.InvalidS3Prefix, match="must not contain control characters"):
            destinations.check_prefix(control)


def test_a_topic_name_is_in_the_trails_home_region_and_account() -> None:
    assert destinations.sns_topic("my_topic-1", "eu-west-1", ACCOUNT) == (
        "my_topic-1",
        f"arn:aws:sns:eu-west-1:{ACCOUNT}:my_topic-1",
    )
    assert destinations.sns_topic("t" * 256, "us-east-1", ACCOUNT)[0] == "t" * 256


def test_a_topic_arn_is_kept_and_named_by_its_last_part() -> None:
    arn = f"arn:aws:sns:ap-south-1:{OTHER}:their-topic"
    assert destinations.sns_topic(arn, "us-east-1", ACCOUNT) == ("their-topic", arn)
    gov = f"arn:aws-us-gov:sns:us-gov-west-1:{ACCOUNT}:t"
    assert destinations.sns_topic(gov, "us-east-1", ACCOUNT) == ("t", gov)


@pytest.mark.parametrize(
    "value",
    ["", "t" * 257, "my topic", "arn:aws:sns:us-east-1:1111:t", "arn:aws:sqs:us-east-1:111122223333:q"],
)
def test_what_is_neither_a_topic_name_nor_an_arn(value: str) -> None:
    with pytest.raises(errors.InvalidSnsTopicName, match="is neither a topic name"):
        destinations.sns_topic(value, "us-east-1", ACCOUNT)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (KEY_ID, f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{KEY_ID}"),
        ("mrk-" + "a" * 32, f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/mrk-" + "a" * 32),
        ("alias/trail-key", f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/trail-key"),
        (f"arn:aws:kms:us-east-1:{OTHER}:key/{KEY_ID}", f"arn:aws:kms:us-east-1:{OTHER}:key/{KEY_ID}"),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/k", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/k"),
    ],
)
def test_a_kms_key_is_stored_as_a_full_arn(value: str, stored: str) -> None:
    assert destinations.kms_key(value, "eu-west-1", ACCOUNT) == stored


def test_an_aws_managed_key_cannot_encrypt_a_trail() -> None:
    with pytest.raises(errors.InvalidKmsKeyId, match="names an AWS managed key"):
        destinations.kms_key("alias/aws/cloudtrail", "us-east-1", ACCOUNT)


@pytest.mark.parametrize(
    "value",
    [
        "key",
        "1234abcd",
        "alias/",
        "alias/bad name",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/nope",
        "arn:aws:kms:::",
    ],
)
def test_what_is_no_kms_key(value: str) -> None:
    with pytest.raises(errors.InvalidKmsKeyId, match="is not valid; expected alias/name"):
        destinations.kms_key(value, "us-east-1", ACCOUNT)


def test_log_group_arns() -> None:
    destinations.check_log_group_arn(f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:CloudTrail/logs:*")
    destinations.check_log_group_arn(f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:a.b_c-d#e")
    for bad in (
        "trail-logs",
        f"arn:aws:logs:us-east-1:{ACCOUNT}:trail-logs",
        f"arn:aws:iam::{ACCOUNT}:role/r",
    ):
        with pytest.raises(errors.InvalidCloudWatchLogsLogGroupArn) as caught:
            destinations.check_log_group_arn(bad)
        # AWS's text (cisagov/crossfeed#2197, clouddrove/terraform-aws-cloudtrail#30).
        assert caught.value.message == "CloudTrail cannot validate the specified log group ARN."


def test_role_arns() -> None:
    destinations.check_role_arn(f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role")
    destinations.check_role_arn(f"arn:aws:iam::{ACCOUNT}:role/path/to/role+=,.@-")
    for bad in ("role", f"arn:aws:iam::{ACCOUNT}:user/u", f"arn:aws:iam:us-east-1:{ACCOUNT}:role/r"):
        with pytest.raises(errors.InvalidCloudWatchLogsRoleArn, match="arn:aws:iam::account:role/name"):
            destinations.check_role_arn(bad)


def test_a_bucket_name_is_checked_in_form_alone() -> None:
    destinations.check_bucket_name("no-such-bucket-anywhere")  # its form is all that is checked here
    with pytest.raises(errors.InvalidS3BucketName):
        destinations.check_bucket_name("Not_A_Bucket")


def test_a_missing_bucket_answers_aws_text(env: Env) -> None:
    with pytest.raises(errors.S3BucketDoesNotExist) as caught:
        destinations.check_bucket(env.call(ACCOUNT), "missing-bucket")
    # AWS's text as moto copied it (moto/cloudtrail/models.py), with no remedy of ours in it.
    assert caught.value.message == "S3 bucket missing-bucket does not exist!"


def test_a_bucket_made_outside_opentrail_has_no_owner_to_refuse(env: Env) -> None:
    env.services.storage.create_bucket("operators-bucket")
    destinations.check_bucket(env.call(ACCOUNT), "operators-bucket")
    env.store.add_bucket("owned-bucket", OTHER)
    env.services.storage.create_bucket("owned-bucket")
    destinations.check_bucket(env.call(OTHER), "owned-bucket")
    with pytest.raises(errors.InsufficientS3BucketPolicy) as caught:
        destinations.check_bucket(env.call(ACCOUNT), "owned-bucket")
    # AWS's text (awsdocs/aws-cloudtrail-user-guide#24, aws/aws-cdk#11602).
    assert caught.value.message == "Incorrect S3 bucket policy is detected for bucket: owned-bucket"


def test_only_the_callers_own_topic_takes_notifications(env: Env) -> None:
    mine = topics.create(env.store, ACCOUNT, "us-east-1", "mine", "http://127.0.0.1:9/", START, "s1")
    theirs = topics.create(env.store, OTHER, "us-east-1", "theirs", "http://127.0.0.1:9/", START, "s2")
    trail = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t"
    assert destinations.check_topic(env.call(ACCOUNT), mine.arn, trail) == mine.arn
    # Another account's topic and a topic that does not exist are answered alike, in AWS's words.
    for arn in (theirs.arn, f"arn:aws:sns:us-east-1:{ACCOUNT}:missing"):
        with pytest.raises(errors.InsufficientSnsTopicPolicy) as refused:
            destinations.check_topic(env.call(ACCOUNT), arn, trail)
        assert refused.value.message == "SNS Topic does not exist or the topic policy is incorrect!"
