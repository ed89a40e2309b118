"""What an account owns on the real server, made through the API for attack tests to aim at: a bucket
with an object and a multipart upload in progress, a logging trail with selectors and tags, a tagged
channel, and events in its history (an ingested record and a PutAuditEvents event)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from tests.support.audit_events import entry, event_data
from tests.support.server import Credentials, management_record
from tests.support.signing import sign
from tests.support.wire import Wire


@dataclass(frozen=True)
class Holdings:
    creds: Credentials
    bucket: str
    key: str
    content: bytes
    upload_id: str
    trail: str
    trail_arn: str
    channel_arn: str
    event_id: str
    audit_event_id: str

    @property
    def account(self) -> str:
        return self.creds.account_id


def acquire(wire: Wire, creds: Credentials, label: str) -> Holdings:
    tag = uuid.uuid4().hex[:8]
    s3 = wire.boto("s3", creds)
    bucket, key, content = f"{label}-{tag}", f"secret/{label}.txt", f"{label}'s evidence {tag}".encode()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=content)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="pending")["UploadId"]
    cloudtrail = wire.boto("cloudtrail", creds)
    trail = f"{label}-trail"
    trail_arn = cloudtrail.create_trail(
        Name=trail, S3BucketName=bucket, TagsList=[{"Key": "owner", "Value": label}]
    )["TrailARN"]
    cloudtrail.put_event_selectors(
        TrailName=trail, EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]
    )
    cloudtrail.start_logging(Name=trail)
    channel_arn = cloudtrail.create_channel(
        Name=f"{label}-channel",
        Source="Custom",
        Destinations=[{"Type": "EVENT_DATA_STORE", "Location": "example-store"}],
        Tags=[{"Key": "owner", "Value": label}],
    )["ChannelArn"]
    record = management_record(creds.account_id, user=label)
    result = wire.boto("cloudtrail-data", creds).put_audit_events(
        channelArn=channel_arn, auditEvents=[entry("1", event_data(creds.account_id))]
    )
    assert result["failed"] == [], result
    ingested = ingest(wire, creds, [record])
    assert ingested == {"accepted": 1, "failed": []}, ingested
    return Holdings(
        creds,
        bucket,
        key,
        content,
        upload_id,
        trail,
        trail_arn,
        channel_arn,
        record["eventID"],
        result["successful"][0]["eventID"],
    )


def ingest(
    wire: Wire, creds: Credentials, records: list[dict[str, object]], query: str = ""
) -> dict[str, object]:
    """IngestRecords, signed by ``creds``; its answer."""
    path = "/IngestRecords" + query
    body = json.dumps({"Records": records}).encode()
    headers = sign(
        wire.server.endpoint + path,
        "POST",
        {"Content-Type": "application/json"},
        body,
        creds,
        service="cloudtrail-data",
    )
    answer = wire.send("IngestRecords", "POST", path, headers, body)
    assert answer.status == 200, answer.text
    result: dict[str, object] = answer.json()
    return result
