"""The AWS CLI's own SNS set-up against OpenTrail: ``aws cloudtrail create-subscription --sns-new-topic``
makes the topic on SNS (moto) with CloudTrail's policy, names it to OpenTrail's CreateTrail by name and
starts logging; the trail then publishes each delivered log file there."""

from __future__ import annotations

import json
import subprocess

from tests.support.server import AWS_CLI, Server, wait_for
from tests.support.sns import MotoSns, Publisher, Subscribed, client

# The statement the CLI fills in (its template, as AWS publishes it, with the placeholders it replaces).
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSCloudTrailSNSPolicy20131101",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "SNS:Publish",
                "Resource": "arn:aws:sns:<Region>:<SNSTopicOwnerAccountId>:<SNSTopicName>",
            }
        ],
    }
)


def test_create_subscription_makes_a_topic_the_trail_publishes_to(
    server: Server, publisher: Publisher, moto_sns: MotoSns
) -> None:
    tenant = publisher.tenant
    # CloudTrail and S3 calls go to OpenTrail, SNS and STS (the CLI asks who it is) to moto.
    env = server.aws_env(tenant.creds)
    env.update(AWS_ENDPOINT_URL_SNS=moto_sns.endpoint, AWS_ENDPOINT_URL_STS=moto_sns.endpoint)
    command = [
        AWS_CLI,
        "cloudtrail",
        "create-subscription",
        "--name",
        "subscribed",
        "--s3-use-bucket",
        tenant.bucket,
        "--sns-new-topic",
        "cli-made-topic",
        "--sns-custom-policy",
        POLICY,
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    arns = [t["TopicArn"] for t in client(moto_sns.endpoint, "sns").list_topics()["Topics"]]
    (made,) = [arn for arn in arns if arn.endswith(":cli-made-topic")]
    trail = publisher.cloudtrail.get_trail(Name="subscribed")["Trail"]
    assert (trail["SnsTopicName"], trail["SnsTopicARN"]) == ("cli-made-topic", made)
    assert publisher.cloudtrail.get_trail_status(Name="subscribed")["IsLogging"]
    # Its files are published there.
    sqs = client(moto_sns.endpoint, "sqs")
    queue = sqs.create_queue(QueueName="cli-made-topic-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    client(moto_sns.endpoint, "sns").subscribe(TopicArn=made, Protocol="sqs", Endpoint=queue_arn)
    listening = Publisher(tenant, Subscribed(moto_sns.endpoint, made, queue))
    listening.ingest()
    messages = wait_for(listening.topic.messages, "a log file published to the CLI's topic")
    assert {key for m in messages for key in m["s3ObjectKey"]} <= listening.log_keys()
