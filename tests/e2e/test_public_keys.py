"""ListPublicKeys: over HTTP with boto3 and the AWS CLI, and in-process through the wire encoder.

Keys are made only by digest signing (which runs inside the server), so over HTTP a new account has no
keys and these tests check the empty answers and the errors. The published form of real keys (PKCS#1
DER, base64 once on the wire, MD5 fingerprint, validity windows, per account and region) is checked
in-process: the operation runs against its own store and data directory, its result goes through the
same JSON encoder the edge uses, and botocore's own parser reads it back.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.exceptions
import botocore.model
import botocore.parsers
import botocore.session
import msgspec
import pytest
import rsa as pyrsa

from opentrail.clock import FixedClock
from opentrail.context import Call, Services
from opentrail.delivery import public_keys as keys
from opentrail.delivery.signing import DAY, SIGNING_PERIOD, Signer
from opentrail.errors import ApiError
from opentrail.server import app as api
from opentrail.settings import Settings
from opentrail.storage.encryption import MasterKey
from opentrail.store import AccessKey
from tests.support.server import Credentials, Server

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()


# -- over HTTP -----------------------------------------------------------------------------------------


def error_code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def test_an_account_that_signed_nothing_has_no_keys(server: Server, account: Credentials) -> None:
    client = server.client("cloudtrail", account)
    assert client.list_public_keys()["PublicKeyList"] == []
    now = datetime.now(tz=UTC)
    found = client.list_public_keys(StartTime=now - timedelta(days=60), EndTime=now + timedelta(hours=2))
    assert found["PublicKeyList"] == []
    assert "NextToken" not in found


@pytest.mark.parametrize(
    "kwargs",
    [
        {"StartTime": datetime(2024, 5, 2, tzinfo=UTC), "EndTime": datetime(2024, 5, 1, tzinfo=UTC)},
        # EndTime alone, in the past: StartTime defaults to now, after it.
        {"EndTime": datetime(2020, 1, 1, tzinfo=UTC)},
        # StartTime alone, in the future: EndTime defaults to now, before it.
        {"StartTime": datetime(2999, 1, 1, tzinfo=UTC)},
    ],
)
def test_a_start_after_the_end_is_an_invalid_time_range(
    server: Server, account: Credentials, kwargs: dict[str, Any]
) -> None:
    client = server.client("cloudtrail", account)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.list_public_keys(**kwargs)
    assert error_code(caught.value) == "InvalidTimeRangeException"
    assert "after EndTime" in caught.value.response["Error"]["Message"]


def test_unrepresentable_times_and_foreign_tokens_are_refused(server: Server, account: Credentials) -> None:
    client = server.client("cloudtrail", account)
    # Before the epoch: the JSON is valid, the time is not (past year 9999: in-process, botocore
    # refuses to send it).
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.list_public_keys(StartTime=-5, EndTime=253_402_300_799)
    assert error_code(caught.value) == "InvalidTimeRangeException"
    # NextToken is reserved: the server issues none, so any token is one it did not issue.
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.list_public_keys(NextToken="eyJzIjoiTGlzdFB1YmxpY0tleXMifQ.AAAA")
    assert error_code(caught.value) == "InvalidTokenException"


def test_aws_cli_list_public_keys(server: Server, account: Credentials) -> None:
    done = server.aws("cloudtrail", "list-public-keys", "--output", "json", creds=account)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["PublicKeyList"] == []
    # The window validate-logs asks for (start, end + 2 h), in the CLI's own time syntax.
    done = server.aws(
        "cloudtrail",
        "list-public-keys",
        "--start-time",
        "2024-05-01T00:00:00Z",
        "--end-time",
        "2024-05-01T14:00:00Z",
        creds=account,
    )
    assert done.returncode == 0, done.stderr
    bad = server.aws(
        "cloudtrail",
        "list-public-keys",
        "--start-time",
        "2024-05-02T00:00:00Z",
        "--end-time",
        "2024-05-01T00:00:00Z",
        creds=account,
    )
    assert bad.returncode == 255  # CLI v1: a service error
    assert "InvalidTimeRangeException" in bad.stderr


def test_the_call_is_audited_as_a_read(server: Server, account: Credentials) -> None:
    client = server.client("cloudtrail", account)
    client.list_public_keys()
    # Reads are acknowledged before their audit event commits, so it may take a moment to appear.
    deadline = time.monotonic() + 10
    events: list[dict[str, Any]] = []
    while not events and time.monotonic() < deadline:
        time.sleep(0.05)
        events = client.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListPublicKeys"}]
        )["Events"]
    assert events
    assert events[0]["ReadOnly"] == "true"


# -- in-process: the published form of real keys --------------------------------------------------------


class Deployment:
    """The operation, a signer and a clock over one data directory, as the server wires them."""

    def __init__(self, data_dir: Path) -> None:
        self.clock = FixedClock(NOW - 40 * DAY)
        self.services: Services = api.build_services(Settings(data_dir=data_dir), self.clock)
        self.signer = Signer(self.services.store, MasterKey.load_or_create(data_dir), self.clock)
        model = botocore.session.get_session().get_service_model("cloudtrail")
        shape = model.operation_model("ListPublicKeys").output_shape
        assert shape is not None
        self.output_shape: botocore.model.Shape = shape
        self.parser = botocore.parsers.create_parser("json")

    def call(self, account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        """The response as botocore hands it to boto3 users, from the bytes the edge would send."""
        key = AccessKey(
            "AKIA" + account, "s", account, "root", f"arn:aws:iam::{account}:root", account, True, 0
        )
        call = Call(self.services, key, region, "req")
        body = msgspec.json.encode(keys.list_public_keys(call, params))
        parsed: dict[str, Any] = self.parser.parse(
            {"status_code": 200, "headers": {}, "body": body}, self.output_shape
        )
        parsed["_wire"] = json.loads(body)
        return parsed


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    made = Deployment(tmp_path)
    yield made
    made.services.store.close()


def fingerprints(result: dict[str, Any]) -> list[str]:
    return [k["Fingerprint"] for k in result["PublicKeyList"]]


def test_published_keys_are_pkcs1_der_base64_once_with_md5_fingerprints(deployment: Deployment) -> None:
    signature, fp = deployment.signer.sign("111111111111", "us-east-1", b"signed data")
    result = deployment.call("111111111111", "us-east-1", {})
    [published] = result["PublicKeyList"]
    der = published["Value"]  # botocore decoded the blob once: raw DER bytes
    assert isinstance(der, bytes)
    assert published["Fingerprint"] == fp == hashlib.md5(der, usedforsecurity=False).hexdigest()
    [wire] = result["_wire"]["PublicKeyList"]
    assert base64.b64decode(wire["Value"]) == der
    assert wire["Value"].startswith("MIIBCgKCAQEA")  # PKCS#1 RSAPublicKey, 2048-bit
    assert wire["ValidityStartTime"] == NOW - 40 * DAY
    assert wire["ValidityEndTime"] - wire["ValidityStartTime"] == SIGNING_PERIOD
    # What the AWS CLI does with it: base64-decode the text, load PKCS#1, verify.
    cli_key = pyrsa.PublicKey.load_pkcs1(base64.b64decode(wire["Value"]), format="DER")
    assert pyrsa.verify(b"signed data", bytes.fromhex(signature), cli_key) == "SHA-256"
    assert "NextToken" not in result["_wire"]


def test_windows_rotation_and_isolation(deployment: Deployment) -> None:
    acct, other = "111111111111", "222222222222"
    first = deployment.signer.sign(acct, "us-east-1", b"x")[1]  # valid NOW-40d .. NOW-10d
    deployment.clock.advance(30 * DAY)  # NOW-10d: past rotation, a successor
    second = deployment.signer.sign(acct, "us-east-1", b"x")[1]
    eu = deployment.signer.sign(acct, "eu-west-1", b"x")[1]
    theirs = deployment.signer.sign(other, "us-east-1", b"x")[1]
    deployment.clock.value = NOW

    assert fingerprints(deployment.call(acct, "us-east-1", {})) == [second]
    assert fingerprints(deployment.call(acct, "us-east-1", {"StartTime": NOW - 45 * DAY})) == [first, second]
    early = {"StartTime": NOW - 40 * DAY, "EndTime": NOW - 39 * DAY + 7200}
    assert fingerprints(deployment.call(acct, "us-east-1", early)) == [first]
    # Inclusive at the edges: a window ending as the second key starts sees both.
    edge = {"StartTime": NOW - 12 * DAY, "EndTime": NOW - 10 * DAY}
    assert fingerprints(deployment.call(acct, "us-east-1", edge)) == [first, second]
    later = {"StartTime": NOW + 30 * DAY, "EndTime": NOW + 31 * DAY}
    assert fingerprints(deployment.call(acct, "us-east-1", later)) == []
    # Per account and region.
    assert fingerprints(deployment.call(acct, "eu-west-1", {})) == [eu]
    assert fingerprints(deployment.call(other, "us-east-1", {})) == [theirs]
    assert fingerprints(deployment.call(other, "eu-west-1", {})) == []
    # ISO strings are times too.
    iso = {"StartTime": "2024-03-22T12:00:00Z", "EndTime": "2024-03-22T13:00:00Z"}
    assert fingerprints(deployment.call(acct, "us-east-1", iso)) == [first]


def test_errors_in_process(deployment: Deployment) -> None:
    with pytest.raises(ApiError) as caught:
        deployment.call("111111111111", "us-east-1", {"StartTime": 10, "EndTime": 5})
    assert caught.value.code == "InvalidTimeRangeException"
    token = deployment.services.sealer.seal("SomethingElse", 1)
    with pytest.raises(ApiError) as caught:
        deployment.call("111111111111", "us-east-1", {"NextToken": token})
    assert caught.value.code == "InvalidTokenException"
    for huge in (1e12, float("inf")):
        with pytest.raises(ApiError) as caught:
            deployment.call("111111111111", "us-east-1", {"StartTime": 0, "EndTime": huge})
        assert caught.value.code == "InvalidTimeRangeException"
    with pytest.raises(ApiError) as caught:
        deployment.call("111111111111", "us-east-1", {"StartTime": True})
    assert caught.value.code == "SerializationException"
