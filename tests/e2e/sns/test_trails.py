"""Trails naming topics on SNS (moto on loopback), end to end with boto3: CreateTrail and UpdateTrail
accept a topic that exists and lets CloudTrail publish, by ARN or by name, and refuse anything else with
AWS's InsufficientSnsTopicPolicyException; GetTrail and DescribeTrails report the SNS topic's ARN."""

from __future__ import annotations

from tests.support.server import Server
from tests.support.sns import MOTO_ACCOUNT, MotoSns, Publisher, Subscribed, cloudtrail_policy
from tests.support.trails import Tenant, body, expect_error

REFUSED = "SNS Topic does not exist or the topic policy is incorrect!"


def test_a_missing_topic_is_refused_in_aws_words(publisher: Publisher) -> None:
    client, bucket = publisher.cloudtrail, publisher.tenant.bucket
    for given in ("never-made", f"arn:aws:sns:us-east-1:{MOTO_ACCOUNT}:never-made"):
        message = expect_error(
            "InsufficientSnsTopicPolicyException",
            client.create_trail,
            Name="no-topic",
            S3BucketName=bucket,
            SnsTopicName=given,
        )
        assert message == REFUSED
    assert client.list_trails()["Trails"] == []
    # UpdateTrail checks too, and a refused update changes nothing.
    client.create_trail(Name="plain", S3BucketName=bucket)
    expect_error(
        "InsufficientSnsTopicPolicyException", client.update_trail, Name="plain", SnsTopicName="never-made"
    )
    assert "SnsTopicName" not in client.get_trail(Name="plain")["Trail"]


def test_a_topic_must_let_cloudtrail_publish_for_the_account(
    server: Server, publisher: Publisher, moto_sns: MotoSns
) -> None:
    client, account = publisher.cloudtrail, publisher.tenant.account_id
    guarded = Subscribed.create(moto_sns.endpoint, policy=False)  # SNS's default policy: the owner only
    members = {"S3BucketName": publisher.tenant.bucket, "SnsTopicName": guarded.arn}
    assert (
        expect_error("InsufficientSnsTopicPolicyException", client.create_trail, Name="guarded", **members)
        == REFUSED
    )
    # A policy for another OpenTrail account's trails: OpenTrail publishes with one set of credentials
    # for every account, so the topic's policy is what keeps this account out.
    other = Tenant.create(server)
    guarded.set_policy(
        cloudtrail_policy(guarded.arn, {"StringEquals": {"aws:SourceAccount": other.account_id}})
    )
    expect_error("InsufficientSnsTopicPolicyException", client.create_trail, Name="guarded", **members)
    other.client().create_trail(Name="theirs", S3BucketName=other.bucket, SnsTopicName=guarded.arn)
    # Conditioned on this trail's ARN, as AWS's documentation suggests.
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{account}:trail/guarded"
    guarded.set_policy(cloudtrail_policy(guarded.arn, {"StringEquals": {"aws:SourceArn": trail_arn}}))
    assert client.create_trail(Name="guarded", **members)["SnsTopicARN"] == guarded.arn
    expect_error("InsufficientSnsTopicPolicyException", client.create_trail, Name="unnamed", **members)


def test_a_topic_by_arn_or_by_name_is_reported_by_its_arn(publisher: Publisher) -> None:
    client, topic = publisher.cloudtrail, publisher.topic
    name = topic.arn.rsplit(":", 1)[1]
    bucket = publisher.tenant.bucket
    by_arn = client.create_trail(Name="by-arn", S3BucketName=bucket, SnsTopicName=topic.arn)
    assert (by_arn["SnsTopicName"], by_arn["SnsTopicARN"]) == (name, topic.arn)
    # A name is looked up on SNS: its account (moto's) is not the caller's OpenTrail account.
    by_name = client.create_trail(Name="by-name", S3BucketName=bucket, SnsTopicName=name)
    assert (by_name["SnsTopicName"], by_name["SnsTopicARN"]) == (name, topic.arn)
    trail = client.get_trail(Name="by-name")["Trail"]
    assert (trail["SnsTopicName"], trail["SnsTopicARN"]) == (name, topic.arn)
    (described,) = client.describe_trails(trailNameList=["by-arn"])["trailList"]
    assert (described["SnsTopicName"], described["SnsTopicARN"]) == (name, topic.arn)
    # UpdateTrail sets it, and an empty name turns notifications off again.
    client.create_trail(Name="later", S3BucketName=bucket)
    assert body(client.update_trail(Name="later", SnsTopicName=name))["SnsTopicARN"] == topic.arn
    assert "SnsTopicARN" not in body(client.update_trail(Name="later", SnsTopicName=""))


def test_sns_that_cannot_be_reached_is_refused_and_says_why(publisher: Publisher, moto_sns: MotoSns) -> None:
    moto_sns.stop()
    try:
        message = expect_error(
            "InsufficientSnsTopicPolicyException",
            publisher.cloudtrail.create_trail,
            Name="unchecked",
            S3BucketName=publisher.tenant.bucket,
            SnsTopicName=publisher.topic.arn,
        )
    finally:
        moto_sns.start()
    assert message.startswith(f"Cannot verify SNS topic {publisher.topic.arn}: EndpointUnreachable")
