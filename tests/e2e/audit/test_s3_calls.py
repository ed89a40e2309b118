"""The S3 subset's calls are audited as CloudTrail audits S3: bucket-level calls are management events in
event history; object calls and listings are data events, kept only where a logging trail selects them,
and then delivered in that trail's log files (issue 13: every call the server serves is recorded)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.audit import recorded
from tests.support.delivery import Tenant
from tests.support.server import Server, make_server, wait_for


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from make_server({"OPENTRAIL_DELIVERY_INTERVAL": "1"})


def request_id(response: dict[str, Any]) -> str:
    return str(response["ResponseMetadata"]["RequestId"])


def test_bucket_calls_are_management_events_in_history(server: Server) -> None:
    tenant = Tenant(server)
    bucket = f"audited-{uuid.uuid4().hex[:10]}"
    created = tenant.s3.create_bucket(Bucket=bucket)
    record = recorded(server, tenant.creds, "CreateBucket", request_id(created))
    assert record is not None, "CreateBucket is not in history"
    assert (record["eventSource"], record["eventCategory"], record["managementEvent"]) == (
        "s3.amazonaws.com",
        "Management",
        True,
    )
    assert record["requestParameters"]["bucketName"] == bucket
    assert record["resources"] == [
        {"accountId": tenant.account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}
    ]
    deleted = tenant.s3.delete_bucket(Bucket=bucket)
    assert recorded(server, tenant.creds, "DeleteBucket", request_id(deleted)) is not None
    listed = tenant.s3.list_buckets()
    assert recorded(server, tenant.creds, "ListBuckets", request_id(listed)) is not None


def test_a_refused_bucket_call_is_recorded_with_its_error(server: Server) -> None:
    tenant = Tenant(server)
    tenant.s3.put_object(Bucket=tenant.bucket, Key="keeps-it", Body=b"x")
    with pytest.raises(tenant.s3.exceptions.ClientError) as caught:
        tenant.s3.delete_bucket(Bucket=tenant.bucket)
    record = recorded(
        server, tenant.creds, "DeleteBucket", caught.value.response["ResponseMetadata"]["RequestId"]
    )
    assert record is not None
    assert record["errorCode"] == "BucketNotEmpty"


def test_object_calls_are_data_events_kept_only_where_a_trail_selects_them(server: Server) -> None:
    tenant = Tenant(server)
    unselected = tenant.s3.put_object(Bucket=tenant.bucket, Key="before/a.txt", Body=b"not selected")
    tenant.trail("objects")
    tenant.cloudtrail.put_event_selectors(
        TrailName="objects",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": False,
                "DataResources": [
                    {"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{tenant.bucket}/data/"]}
                ],
            }
        ],
    )
    put = tenant.s3.put_object(Bucket=tenant.bucket, Key="data/b.txt", Body=b"selected")
    got = tenant.s3.get_object(Bucket=tenant.bucket, Key="data/b.txt")
    got["Body"].read()
    listed = tenant.s3.list_objects_v2(Bucket=tenant.bucket, Prefix="data/")
    wanted = {request_id(put): "PutObject", request_id(got): "GetObject", request_id(listed): "ListObjects"}

    def delivered() -> dict[str, dict[str, Any]]:
        found = {r["requestID"]: r for r in tenant.records() if r.get("requestID") in wanted}
        return found if len(found) == len(wanted) else {}

    found = wait_for(delivered, "the selected S3 data events in the trail's log files")
    for rid, name in wanted.items():
        record = found[rid]
        assert (record["eventName"], record["eventCategory"], record["managementEvent"]) == (
            name,
            "Data",
            False,
        )
    assert found[request_id(put)]["resources"][0] == {
        "type": "AWS::S3::Object",
        "ARN": f"arn:aws:s3:::{tenant.bucket}/data/b.txt",
    }
    assert found[request_id(put)]["additionalEventData"]["bytesTransferredIn"] == len(b"selected")
    assert found[request_id(listed)]["resources"][0]["ARNPrefix"] == f"arn:aws:s3:::{tenant.bucket}/data/"
    # Data events are not event history's, and the unselected PutObject is kept nowhere.
    assert recorded(server, tenant.creds, "PutObject", request_id(put), wait=0.5) is None
    assert request_id(unselected) not in {r.get("requestID") for r in tenant.records()}
    json.dumps(found)
