"""Topics and trail notifications end to end (issue 3 item 6): ``opentrail topic`` commands, CreateTrail
and UpdateTrail checking the topic, one SNS-style POST per delivered log file (with retries), and the
notification facts of GetTrailStatus.

A server of this module's own delivers every second and retries notifications after 0.2 s (doubling).
Endpoints are tiny HTTP receivers on 127.0.0.1 run by the test; every wait is bounded polling.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client
from tests.support.server import Credentials, Server, free_port, make_server, wait_for
from tests.support.trails import expect_error

REGION = "us-east-1"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from make_server(
        env={"OPENTRAIL_DELIVERY_INTERVAL": "1", "OPENTRAIL_NOTIFICATION_RETRY_DELAY": "0.2"}
    )


# -- an HTTP endpoint on loopback -------------------------------------------------------------------------


@dataclass
class Post:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """Records the POSTs it accepts; answers 500 to the first ``fail_first`` requests."""

    fail_first: int = 0
    posts: list[Post] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/cloudtrail/notify"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests += 1
                    failing = receiver.requests <= receiver.fail_first
                    if not failing:
                        headers = {k.lower(): v for k, v in self.headers.items()}
                        receiver.posts.append(Post(headers, json.loads(data)))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    def notified_keys(self) -> set[str]:
        with self.lock:
            return {k for p in self.posts for k in json.loads(p.body["Message"])["s3ObjectKey"]}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    endpoint.start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def flaky() -> Iterator[Receiver]:
    endpoint = Receiver(fail_first=2)
    endpoint.start()
    yield endpoint
    endpoint.stop()


# -- an account with a bucket -------------------------------------------------------------------------------


class Tenant:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.creds: Credentials = server.new_account("topics")
        self.account = self.creds.account_id
        self.bucket = f"topics-{uuid.uuid4().hex[:12]}"
        server.create_bucket(self.bucket, self.creds)
        self.s3 = server.client("s3", self.creds)
        self.cloudtrail = server.client("cloudtrail", self.creds)

    def topic(self, name: str, url: str, region: str = REGION) -> str:
        args = ["topic", "create", name, "--url", url, "--account", self.account, "--region", region]
        return self.server.cli(*args).stdout.strip()

    def trail(self, name: str, topic: str) -> None:
        self.cloudtrail.create_trail(Name=name, S3BucketName=self.bucket, SnsTopicName=topic)
        self.cloudtrail.start_logging(Name=name)

    def ingest(self, count: int = 3) -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        records = [
            {
                "eventVersion": "1.11",
                "userIdentity": {"type": "IAMUser", "accountId": self.account, "userName": "alice"},
                "eventTime": now,
                "eventSource": "ec2.amazonaws.com",
                "eventName": "RunInstances",
                "awsRegion": REGION,
                "sourceIPAddress": "192.0.2.1",
                "userAgent": "test",
                "requestID": str(uuid.uuid4()),
                "eventID": str(uuid.uuid4()),
                "readOnly": False,
                "eventType": "AwsApiCall",
                "managementEvent": True,
                "recipientAccountId": self.account,
                "eventCategory": "Management",
            }
            for _ in range(count)
        ]
        creds = ReadOnlyCredentials(self.creds.access_key_id, self.creds.secret, None)
        with Client(self.server.endpoint, creds) as client:
            result = client.ingest_records(json.dumps({"Records": records}).encode())
        assert result["failed"] == [], result

    def log_keys(self) -> set[str]:
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=f"AWSLogs/{self.account}/CloudTrail/")
        return {item["Key"] for item in listed.get("Contents", [])}

    def status(self, name: str) -> dict[str, Any]:
        return {
            k: v for k, v in self.cloudtrail.get_trail_status(Name=name).items() if k != "ResponseMetadata"
        }


@pytest.fixture
def tenant(server: Server) -> Tenant:
    return Tenant(server)


def all_notified(tenant: Tenant, receiver: Receiver) -> set[str]:
    """Waits until log files exist and every one of them was notified; returns their keys."""

    def settled() -> set[str]:
        keys = tenant.log_keys()
        return keys if keys and keys <= receiver.notified_keys() else set()

    return wait_for(settled, "a notification for every delivered log file")


# -- the topic commands -------------------------------------------------------------------------------------


def test_topic_create_list_delete(server: Server, tenant: Tenant) -> None:
    arn = tenant.topic("audit-alerts", "https://hooks.example.com/cloudtrail")
    assert arn == f"arn:aws:sns:us-east-1:{tenant.account}:audit-alerts"
    west = tenant.topic("audit_alerts-2", "http://127.0.0.1:9/x", region="eu-west-1")
    assert west == f"arn:aws:sns:eu-west-1:{tenant.account}:audit_alerts-2"
    listed = server.cli("topic", "list", "--account", tenant.account).stdout.splitlines()
    assert sorted(listed) == sorted(
        [f"{arn}\thttps://hooks.example.com/cloudtrail", f"{west}\thttp://127.0.0.1:9/x"]
    )
    assert f"{arn}\t" in server.cli("topic", "list").stdout  # every account's by default
    server.cli("topic", "delete", "audit-alerts", "--account", tenant.account)
    listed = server.cli("topic", "list", "--account", tenant.account).stdout.splitlines()
    assert listed == [f"{west}\thttp://127.0.0.1:9/x"]
    # The name is free again.
    assert tenant.topic("audit-alerts", "https://hooks.example.com/v2") == arn


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["create", "bad name", "--url", "http://127.0.0.1/"], "only ASCII letters, digits"),
        (["create", "x" * 257, "--url", "http://127.0.0.1/"], "1-256 characters"),
        (["create", "ok", "--url", "ftp://127.0.0.1/"], "http://HOST"),
        (["create", "ok", "--url", "127.0.0.1:8080"], "http://HOST"),
        (["create", "ok", "--url", "http:///path"], "http://HOST"),
        (["create", "ok", "--url", "http://127.0.0.1:99999/"], "not a valid URL"),
        (["create", "ok", "--url", "http://127.0.0.1/", "--region", "nowhere"], "region"),
        (["create", "ok"], "--url"),
        (["delete", "never-made"], "does not exist"),
    ],
)
def test_topic_command_errors(tenant: Tenant, args: list[str], expected: str) -> None:
    result = tenant.server.cli("topic", *args, "--account", tenant.account, check=False)
    assert result.returncode == 2, result
    assert expected in result.stderr


def test_duplicate_topic_is_refused(tenant: Tenant) -> None:
    arn = tenant.topic("dup", "http://127.0.0.1:9/")
    result = tenant.server.cli(
        "topic",
        "create",
        "dup",
        "--url",
        "http://127.0.0.1:9/other",
        "--account",
        tenant.account,
        check=False,
    )
    assert result.returncode == 2
    assert f"topic {arn} already exists" in result.stderr


def test_topic_for_unknown_account_is_refused(server: Server) -> None:
    result = server.cli(
        "topic", "create", "t", "--url", "http://127.0.0.1/", "--account", "000000000000", check=False
    )
    assert result.returncode == 2
    assert "account 000000000000 does not exist" in result.stderr


# -- trails naming topics ------------------------------------------------------------------------------------


def test_trail_with_unknown_topic_fails(server: Server, tenant: Tenant) -> None:
    client = tenant.cloudtrail
    for given in ("missing", f"arn:aws:sns:us-east-1:{tenant.account}:missing"):
        message = expect_error(
            "InsufficientSnsTopicPolicyException",
            client.create_trail,
            Name="no-topic",
            S3BucketName=tenant.bucket,
            SnsTopicName=given,
        )
        # AWS's text (moto/cloudtrail/models.py; aws/aws-cdk#11387): it names no topic.
        assert message == "SNS Topic does not exist or the topic policy is incorrect!"
    assert client.list_trails()["Trails"] == []
    # Another account's topic is never usable (topics have no policy that could let this account in).
    other = Tenant(server)
    foreign = other.topic("theirs", "http://127.0.0.1:9/")
    expect_error(
        "InsufficientSnsTopicPolicyException",
        client.create_trail,
        Name="foreign",
        S3BucketName=tenant.bucket,
        SnsTopicName=foreign,
    )
    # UpdateTrail checks too, and a failed update changes nothing.
    client.create_trail(Name="plain", S3BucketName=tenant.bucket)
    expect_error(
        "InsufficientSnsTopicPolicyException", client.update_trail, Name="plain", SnsTopicName="missing"
    )
    assert "SnsTopicName" not in client.get_trail(Name="plain")["Trail"]
    # A malformed name is still InvalidSnsTopicName, checked before existence.
    expect_error("InvalidSnsTopicNameException", client.update_trail, Name="plain", SnsTopicName="bad topic")


def test_trail_accepts_topic_by_name_or_arn(tenant: Tenant) -> None:
    east = tenant.topic("east", "http://127.0.0.1:9/")
    west = tenant.topic("west", "http://127.0.0.1:9/", region="eu-west-1")
    by_name = tenant.cloudtrail.create_trail(Name="by-name", S3BucketName=tenant.bucket, SnsTopicName="east")
    assert (by_name["SnsTopicName"], by_name["SnsTopicARN"]) == ("east", east)
    by_arn = tenant.cloudtrail.create_trail(Name="by-arn", S3BucketName=tenant.bucket, SnsTopicName=west)
    assert (by_arn["SnsTopicName"], by_arn["SnsTopicARN"]) == ("west", west)


# -- notifications -------------------------------------------------------------------------------------------


def test_each_delivered_file_is_notified(tenant: Tenant, receiver: Receiver) -> None:
    topic = tenant.topic("files", receiver.url)
    tenant.trail("notified", "files")
    tenant.ingest()
    keys = all_notified(tenant, receiver)
    with receiver.lock:
        posts = list(receiver.posts)
    for post in posts:
        assert post.headers["x-amz-sns-message-type"] == "Notification"
        assert post.headers["x-amz-sns-topic-arn"] == topic
        assert post.headers["x-amz-sns-subscription-arn"].startswith(topic + ":")
        assert post.headers["x-amz-sns-message-id"] == post.body["MessageId"]
        assert post.body["Type"] == "Notification"
        assert post.body["TopicArn"] == topic
        uuid.UUID(post.body["MessageId"])
        assert datetime.strptime(post.body["Timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
        # CloudTrail's message, as a JSON string inside the envelope.
        message = json.loads(post.body["Message"])
        assert set(message) == {"s3Bucket", "s3ObjectKey"}
        assert message["s3Bucket"] == tenant.bucket
        assert len(message["s3ObjectKey"]) == 1
        # The key names an object that is in the bucket, under CloudTrail's log-file layout.
        key = message["s3ObjectKey"][0]
        assert key.startswith(f"AWSLogs/{tenant.account}/CloudTrail/us-east-1/")
        assert tenant.s3.head_object(Bucket=tenant.bucket, Key=key)["ContentLength"] > 0
    assert keys <= {json.loads(p.body["Message"])["s3ObjectKey"][0] for p in posts}
    # One notification per file: no key is announced twice (no retries were needed).
    announced = [json.loads(p.body["Message"])["s3ObjectKey"][0] for p in posts]
    assert len(announced) == len(set(announced))
    status = tenant.status("notified")
    assert "LatestNotificationError" not in status
    assert isinstance(status["LatestNotificationTime"], datetime)
    assert status["LatestNotificationAttemptSucceeded"] == status["LatestNotificationAttemptTime"]
    assert "LatestDeliveryError" not in status


def test_failing_endpoint_gets_the_message_after_retries(tenant: Tenant, flaky: Receiver) -> None:
    tenant.topic("flaky", flaky.url)
    tenant.trail("retried", "flaky")
    tenant.ingest()
    keys = all_notified(tenant, flaky)
    assert flaky.requests >= len(flaky.posts) + 2  # the two refused attempts came first
    assert keys
    status = wait_for(
        lambda: (s := tenant.status("retried")).get("LatestNotificationAttemptSucceeded") and s,
        "the notification outcome in GetTrailStatus",
    )
    assert "LatestNotificationError" not in status


def test_unreachable_topic_is_reported_and_delivery_goes_on(tenant: Tenant) -> None:
    # A port nobody listens on: every attempt is refused at once.
    tenant.topic("nowhere", f"http://127.0.0.1:{free_port()}/")
    tenant.trail("unheard", "nowhere")
    tenant.ingest()
    wait_for(tenant.log_keys, "a delivered log file")

    def reported() -> dict[str, Any]:
        status = tenant.status("unheard")
        return status if "LatestNotificationError" in status else {}

    status = wait_for(reported, "LatestNotificationError in GetTrailStatus")
    assert "EndpointUnreachable" in status["LatestNotificationError"]
    assert "retrying in" in status["LatestNotificationError"]  # kept, and tried again later
    assert "LatestNotificationTime" not in status
    assert status["LatestNotificationAttemptSucceeded"] == ""  # AWS sends the member, empty
    assert "LatestNotificationAttemptTime" in status
    # Log delivery is unaffected: files keep arriving and delivery reports no error.
    assert "LatestDeliveryError" not in status
    assert isinstance(status["LatestDeliveryTime"], datetime)
    before = tenant.log_keys()
    tenant.ingest()
    wait_for(lambda: tenant.log_keys() - before, "a further log file after the failed notifications")


def test_deleted_topic_is_reported_as_not_found(tenant: Tenant, receiver: Receiver) -> None:
    tenant.topic("going", receiver.url)
    tenant.trail("orphaned", "going")
    tenant.server.cli("topic", "delete", "going", "--account", tenant.account)
    # The trail's own CreateTrail and StartLogging events may have been delivered, and announced,
    # before the deletion: only what is delivered after it must go unannounced.
    announced = len(receiver.posts)
    delivered = tenant.log_keys()
    tenant.ingest()
    wait_for(lambda: tenant.log_keys() - delivered, "a log file delivered after the deletion")
    status = wait_for(
        lambda: (s := tenant.status("orphaned")).get("LatestNotificationError") and s,
        "LatestNotificationError in GetTrailStatus",
    )
    assert status["LatestNotificationError"].startswith("NotFound")
    assert receiver.posts[announced:] == []
