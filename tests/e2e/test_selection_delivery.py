"""Event selectors end to end: the real server ingests, stores (or not) and delivers log files.

- the selector table (``selection_cases``) through trails and delivered files, every case at once: each
  case's trail is homed in a region of its own and sees only that region's events;
- data and network activity events that no logging trail selects are accepted but never stored, read
  from the server's store directly (SQLite, read-only);
- IncludeGlobalServiceEvents, and a trail converted between single- and multi-region with UpdateTrail
  (folders and digest chains per region, shadow trails).

One server of this module's own, with a 1-second delivery interval and 2-second digests.
"""

from __future__ import annotations

import gzip
import itertools
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client
from tests.support.selection_cases import CASES, lambda_invoke, legacy_data, management, network, s3_object
from tests.support.server import Credentials, Server, iso, make_server, wait_for

# After the last expected file arrived, this long with no further file proves nothing else comes
# (several delivery passes at a 1-second interval).
SETTLE_SECONDS = 3.5


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from make_server(env={"OPENTRAIL_DELIVERY_INTERVAL": "1", "OPENTRAIL_DIGEST_INTERVAL": "2"})


class Tenant:
    """An account with a bucket; trails in any region."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.creds: Credentials = server.new_account("selection")
        self.account = self.creds.account_id
        self.bucket = f"selection-{uuid.uuid4().hex[:12]}"
        self.s3 = server.client("s3", self.creds)
        self.s3.create_bucket(Bucket=self.bucket)
        self.clients: dict[str, Any] = {}

    def cloudtrail(self, region: str = "us-east-1") -> Any:
        if region not in self.clients:
            self.clients[region] = self.server.client("cloudtrail", self.creds, region)
        return self.clients[region]

    def trail(
        self, name: str, region: str = "us-east-1", selectors: dict[str, Any] | None = None, **options: Any
    ) -> str:
        client = self.cloudtrail(region)
        arn: str = client.create_trail(Name=name, S3BucketName=self.bucket, **options)["TrailARN"]
        if selectors is not None:
            client.put_event_selectors(TrailName=name, **selectors)
        client.start_logging(Name=name)
        return arn

    def ingest(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        body = json.dumps({"Records": records}).encode()
        creds = ReadOnlyCredentials(self.creds.access_key_id, self.creds.secret, None)
        with Client(self.server.endpoint, creds) as client:
            result: dict[str, Any] = client.ingest_records(body)
        assert result["failed"] == [], result
        assert result["accepted"] == len(records), result
        return result

    def keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def read_json(self, key: str) -> Any:
        return json.loads(gzip.decompress(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()))

    def delivered(self) -> dict[str, set[str]]:
        """Delivered eventIDs by the region folder they were delivered in; the server's audit records
        of this test's own API calls (management events too) left out."""
        found: dict[str, set[str]] = {}
        for key in self.keys(f"AWSLogs/{self.account}/CloudTrail/"):
            region = key.split("/")[3]
            found.setdefault(region, set()).update(
                r["eventID"]
                for r in self.read_json(key)["Records"]
                if r["eventSource"] != "cloudtrail.amazonaws.com"
            )
        return found

    def digests(self, region: str) -> list[str]:
        return self.keys(f"AWSLogs/{self.account}/CloudTrail-Digest/{region}/")

    def stored_ids(self) -> set[str]:
        """The eventIDs of every event the store holds for this account, read from its database."""
        path = self.server.data_dir / "opentrail.db"
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as conn:
            rows = conn.execute("SELECT record FROM events WHERE acct = ?", (int(self.account),)).fetchall()
        return {json.loads(bytes(raw))["eventID"] for (raw,) in rows}


@pytest.fixture
def tenant(server: Server) -> Tenant:
    return Tenant(server)


def ids(records: list[dict[str, Any]]) -> set[str]:
    return {r["eventID"] for r in records}


def settle(tenant: Tenant, expected: dict[str, set[str]]) -> dict[str, set[str]]:
    """Wait for every expected event, then a few more passes: what is delivered then is final."""

    def arrived() -> bool:
        got = tenant.delivered()
        return all(want <= got.get(region, set()) for region, want in expected.items())

    wait_for(arrived, "the expected events in their log files")
    time.sleep(SETTLE_SECONDS)
    return tenant.delivered()


def with_ids(*records: dict[str, Any], region: str = "us-east-1") -> list[dict[str, Any]]:
    out = []
    for record in records:
        copied = json.loads(json.dumps(record))
        copied.update(eventID=str(uuid.uuid4()), requestID=str(uuid.uuid4()), awsRegion=region)
        copied["eventTime"] = iso(time.time())
        out.append(copied)
    return out


# -- the selector table -----------------------------------------------------------------------------------


def test_selector_table_through_delivered_files(tenant: Tenant) -> None:
    regions = [f"sel{index}-test-1" for index in range(len(CASES))]
    records: list[dict[str, Any]] = []
    expected: dict[str, set[str]] = {}
    unselected: set[str] = set()
    for case, region in zip(CASES, regions, strict=True):
        tenant.trail("case", region, case.wire())
        for record, selected in case.records(region):
            record["eventTime"] = iso(time.time())
            records.append(record)
            if selected:
                expected.setdefault(region, set()).add(record["eventID"])
            elif record.get("eventCategory") != "Management":
                unselected.add(record["eventID"])
    tenant.ingest(records)
    delivered = settle(tenant, expected)
    for case, region in zip(CASES, regions, strict=True):
        assert delivered.get(region, set()) == expected.get(region, set()), case.name
    # Each region has one trail: the data and network activity events it does not select are not stored.
    stored = tenant.stored_ids()
    assert unselected
    assert not unselected & stored
    assert set().union(*expected.values()) <= stored


# -- unselected data events are not stored -----------------------------------------------------------------


def test_data_events_no_logging_trail_selects_are_not_stored(tenant: Tenant) -> None:
    prefix = {
        "AdvancedEventSelectors": [
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
            {
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::bucket-a/"]},
                ]
            },
        ]
    }
    tenant.trail("east", "us-east-1", prefix)
    wanted = with_ids(
        management(), s3_object("arn:aws:s3:::bucket-a/x"), legacy_data("arn:aws:s3:::bucket-a/y")
    )
    dropped = with_ids(
        s3_object("arn:aws:s3:::bucket-b/x"),
        legacy_data("arn:aws:s3:::bucket-b/y"),
        network(),
        lambda_invoke(),
    )
    result = tenant.ingest(wanted + dropped)
    assert result["accepted"] == 7
    assert settle(tenant, {"us-east-1": ids(wanted)}) == {"us-east-1": ids(wanted)}
    stored = tenant.stored_ids()
    assert ids(wanted) <= stored
    assert not ids(dropped) & stored

    # A single-region trail elsewhere covers only its region; made multi-region, it covers us-east-1 too.
    everything_s3 = {
        "EventSelectors": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]
    }
    tenant.trail("west", "us-west-2", everything_s3)
    west = with_ids(s3_object("arn:aws:s3:::bucket-b/w"), region="us-west-2")
    east = with_ids(s3_object("arn:aws:s3:::bucket-b/e"))
    tenant.ingest(west + east)
    stored = tenant.stored_ids()
    assert ids(west) <= stored
    assert not ids(east) & stored
    tenant.cloudtrail("us-west-2").update_trail(Name="west", IsMultiRegionTrail=True)
    later = with_ids(s3_object("arn:aws:s3:::bucket-b/later"))
    tenant.ingest(later)
    assert ids(later) <= tenant.stored_ids()

    # With logging stopped everywhere, no trail selects data events: none is stored, management still is.
    tenant.cloudtrail("us-east-1").stop_logging(Name="east")
    tenant.cloudtrail("us-west-2").stop_logging(Name="west")
    quiet = with_ids(s3_object("arn:aws:s3:::bucket-a/quiet"))
    kept = with_ids(management())
    tenant.ingest(quiet + kept)
    stored = tenant.stored_ids()
    assert ids(kept) <= stored
    assert not ids(quiet) & stored


# -- global service events and region conversion -----------------------------------------------------------


def test_include_global_service_events_false_leaves_global_services_out(tenant: Tenant) -> None:
    tenant.trail("local", IncludeGlobalServiceEvents=False)
    iam = with_ids(management(eventSource="iam.amazonaws.com", eventName="CreateUser"))
    sts = with_ids(management(eventSource="sts.amazonaws.com", eventName="AssumeRole", readOnly=True))
    ec2 = with_ids(management())
    tenant.ingest(iam + sts + ec2)
    assert settle(tenant, {"us-east-1": ids(ec2)}) == {"us-east-1": ids(ec2)}
    # Global service events are management events: history has them whatever trails say.
    assert ids(iam + sts) <= tenant.stored_ids()
    tenant.cloudtrail().update_trail(Name="local", IncludeGlobalServiceEvents=True)
    again = with_ids(management(eventSource="iam.amazonaws.com", eventName="DeleteUser"))
    tenant.ingest(again)
    assert ids(again) <= settle(tenant, {"us-east-1": ids(again)})["us-east-1"]


def _shadow_visible(tenant: Tenant, arn: str, region: str) -> bool:
    listed = tenant.cloudtrail(region).describe_trails()["trailList"]
    return any(t["TrailARN"] == arn for t in listed)


def _chain(tenant: Tenant, region: str) -> list[dict[str, Any]]:
    documents = [tenant.read_json(key) for key in tenant.digests(region)]
    for older, newer, key in zip(documents, documents[1:], tenant.digests(region)[:-1], strict=False):
        assert newer["previousDigestS3Object"] == key
        assert newer["digestStartTime"] == older["digestEndTime"]
    return documents


def test_update_trail_between_single_and_multi_region(tenant: Tenant) -> None:
    t0 = iso(time.time() - 60)
    arn = tenant.trail("roams", EnableLogFileValidation=True)
    east, west = with_ids(management()), with_ids(management(), region="eu-west-1")
    tenant.ingest(east + west)
    assert settle(tenant, {"us-east-1": ids(east)}) == {"us-east-1": ids(east)}
    assert not _shadow_visible(tenant, arn, "eu-west-1")

    tenant.cloudtrail().update_trail(Name="roams", IsMultiRegionTrail=True)
    assert _shadow_visible(tenant, arn, "eu-west-1")
    east2, west2 = with_ids(management()), with_ids(management(), region="eu-west-1")
    tenant.ingest(east2 + west2)
    delivered = settle(tenant, {"us-east-1": ids(east + east2), "eu-west-1": ids(west2)})
    # The eu-west-1 event from before the conversion had been passed over already.
    assert delivered == {"us-east-1": ids(east + east2), "eu-west-1": ids(west2)}
    wait_for(lambda: tenant.digests("eu-west-1"), "a digest for eu-west-1")

    tenant.cloudtrail().update_trail(Name="roams", IsMultiRegionTrail=False)
    assert not _shadow_visible(tenant, arn, "eu-west-1")
    east3, west3 = with_ids(management()), with_ids(management(), region="eu-west-1")
    tenant.ingest(east3 + west3)
    delivered = settle(tenant, {"us-east-1": ids(east + east2 + east3)})
    assert delivered == {"us-east-1": ids(east + east2 + east3), "eu-west-1": ids(west2)}

    # eu-west-1's chain was closed (its last digest lists every file delivered there) and stays closed;
    # us-east-1's goes on. Both chains link up, and validate-logs accepts each region.
    closed = _chain(tenant, "eu-west-1")
    listed = {entry["s3Object"] for d in closed for entry in d["logFiles"]}
    assert listed == set(tenant.keys(f"AWSLogs/{tenant.account}/CloudTrail/eu-west-1/"))
    time.sleep(3)  # more than a digest period: a closed chain would have grown by now
    assert _chain(tenant, "eu-west-1") == closed
    assert len(_chain(tenant, "us-east-1")) >= 2
    for region in ("us-east-1", "eu-west-1"):
        result = tenant.server.aws(
            "cloudtrail",
            "validate-logs",
            "--trail-arn",
            arn,
            "--start-time",
            t0,
            # eu-west-1 no longer sees the trail, so DescribeTrails there cannot name the bucket.
            "--s3-bucket",
            tenant.bucket,
            "--region",
            region,
            "--verbose",
            creds=tenant.creds,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "INVALID" not in result.stdout + result.stderr
    for older, newer in itertools.pairwise(tenant.digests("us-east-1")):
        assert tenant.read_json(newer)["previousDigestS3Object"] == older
