"""SNS for the tests: moto's server on loopback as the SNS-compatible service, a topic with the policy
CloudTrail needs, and an SQS queue subscribed to it, which is how a test reads what was published
(every message once, in the SNS envelope SQS subscribers get); and for the end-to-end tests, an account
of a real server whose trails notify such a topic (``Publisher``).

moto keeps its state in the test process, not in the server: a moto server stopped and started again on
the same port (``MotoSns.stop``, ``MotoSns.start``) comes back with the same topics and queues, which is
how tests make SNS go away and return.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client
from tests.support.server import Server, free_port, management_record, wait_for
from tests.support.trails import Tenant, unique

REGION = "us-east-1"
# moto accepts any key pair; these keep boto3 (and the server under test) away from real credentials.
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# The account moto puts topics in when the access key says nothing else.
MOTO_ACCOUNT = "123456789012"


def client(endpoint: str, service: str, region: str = REGION) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"],
    )


def server_env(endpoint: str) -> dict[str, str]:
    """What a server (or a process) needs to use moto as its SNS through the standard AWS variables,
    and nothing of the machine's own AWS configuration."""
    return {
        "AWS_ENDPOINT_URL_SNS": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        **KEYS,
    }


def cloudtrail_policy(topic_arn: str, condition: dict[str, Any] | None = None) -> str:
    """The statement AWS documents for CloudTrail notifications, with an optional Condition."""
    statement: dict[str, Any] = {
        "Sid": "AWSCloudTrailSNSPolicy20131101",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "SNS:Publish",
        "Resource": topic_arn,
    }
    if condition is not None:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass
class MotoSns:
    """moto's server on a loopback port of its own, which it keeps across ``stop`` and ``start``."""

    port: int = field(default_factory=free_port)
    server: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@dataclass
class Subscribed:
    """A topic on moto with CloudTrail's policy and an SQS queue subscribed to it."""

    endpoint: str
    arn: str
    queue_url: str
    received: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def create(cls, endpoint: str, name: str = "", policy: bool = True, region: str = REGION) -> Subscribed:
        name = name or f"trail-topic-{uuid.uuid4().hex[:8]}"
        sns, sqs = client(endpoint, "sns", region), client(endpoint, "sqs", region)
        arn = sns.create_topic(Name=name)["TopicArn"]
        if policy:
            sns.set_topic_attributes(
                TopicArn=arn, AttributeName="Policy", AttributeValue=cloudtrail_policy(arn)
            )
        queue_url = sqs.create_queue(QueueName=f"{name}-queue")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
        return cls(endpoint, arn, queue_url)

    def set_policy(self, policy: str) -> None:
        client(self.endpoint, "sns", self.arn.split(":")[3]).set_topic_attributes(
            TopicArn=self.arn, AttributeName="Policy", AttributeValue=policy
        )

    def drain(self) -> list[dict[str, Any]]:
        """Everything published so far (the SNS envelopes), read off the queue and kept."""
        sqs = client(self.endpoint, "sqs", self.arn.split(":")[3])
        while True:
            answer = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return self.received
            for item in messages:
                self.received.append(json.loads(item["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=item["ReceiptHandle"])

    def messages(self) -> list[dict[str, Any]]:
        """CloudTrail's messages published so far (each envelope's ``Message``, parsed)."""
        return [json.loads(envelope["Message"]) for envelope in self.drain()]

    def quiet_for(self, seconds: float) -> list[dict[str, Any]]:
        """CloudTrail's messages after ``seconds`` more (to show that no second one follows)."""
        time.sleep(seconds)
        return self.messages()


@dataclass
class Publisher:
    """An account of a real server with a bucket, and a topic on moto (``topic``) its trails may notify."""

    tenant: Tenant
    topic: Subscribed

    @classmethod
    def create(cls, server: Server, endpoint: str) -> Publisher:
        return cls(Tenant.create(server), Subscribed.create(endpoint))

    @property
    def cloudtrail(self) -> Any:
        return self.tenant.client()

    def trail(self, topic: str, name: str = "") -> str:
        """A logging trail that names ``topic`` (a name or an ARN); its name."""
        name = name or unique("notified")
        self.cloudtrail.create_trail(Name=name, S3BucketName=self.tenant.bucket, SnsTopicName=topic)
        self.cloudtrail.start_logging(Name=name)
        return name

    def ingest(self, count: int = 3) -> None:
        creds = self.tenant.creds
        records = [management_record(creds.account_id) for _ in range(count)]
        with Client(
            self.tenant.server.endpoint, ReadOnlyCredentials(creds.access_key_id, creds.secret, None)
        ) as c:
            assert c.ingest_records(json.dumps({"Records": records}).encode())["failed"] == []

    def log_keys(self) -> set[str]:
        s3 = self.tenant.server.client("s3", self.tenant.creds)
        prefix = f"AWSLogs/{self.tenant.account_id}/CloudTrail/"
        listed = s3.list_objects_v2(Bucket=self.tenant.bucket, Prefix=prefix)
        return {item["Key"] for item in listed.get("Contents", [])}

    def status(self, name: str) -> dict[str, Any]:
        answer = self.cloudtrail.get_trail_status(Name=name)
        return {k: v for k, v in answer.items() if k != "ResponseMetadata"}

    def announced(self) -> list[str]:
        """Every key the topic was told of, in order, repeats included."""
        return [key for message in self.topic.messages() for key in message["s3ObjectKey"]]

    def all_announced(self, timeout: float = 30.0) -> set[str]:
        """Waits until log files exist and the topic was told of each; their keys."""

        def settled() -> set[str]:
            keys = self.log_keys()
            return keys if keys and keys <= set(self.announced()) else set()

        return wait_for(settled, "an SNS message for every delivered log file", timeout)
