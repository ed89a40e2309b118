"""What each call to the S3 subset becomes in the audit trail, shaped as CloudTrail records S3's calls.

Bucket-level calls (ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation,
ListMultipartUploads and the bucket sub-resources) are management events, recorded like every other call.
Object-level calls and ListObjects are data events (``eventCategory`` ``Data``, ``managementEvent``
false): as in CloudTrail, they are kept only where a logging trail's selectors select them. The fields
follow real S3 records (the corpus holds several): ``requestParameters`` carries ``bucketName``, ``Host``,
``key`` and the query's members as sent; ``resources`` names the object (``ARNPrefix`` for a listing)
and the bucket with its owner; ``additionalEventData`` counts the bytes in and out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentrail.context import Call
from opentrail.errors import ApiError, S3Error
from opentrail.events import EVENT_VERSION
from opentrail.organizations.accounts import identity

EVENT_SOURCE = "s3.amazonaws.com"
_BUCKET_TYPE = "AWS::S3::Bucket"
_OBJECT_TYPE = "AWS::S3::Object"
# S3's sub-resources (botocore's s3 model), by the name their operations carry after Get/Put/Delete and
# Bucket or Object; ``_WHOLE_NAMES`` are operations named whole.
_SUB_RESOURCES = {
    "abac": "Abac",
    "accelerate": "AccelerateConfiguration",
    "acl": "Acl",
    "analytics": "AnalyticsConfiguration",
    "annotation": "Annotation",
    "cors": "Cors",
    "encryption": "Encryption",
    "intelligent-tiering": "IntelligentTieringConfiguration",
    "inventory": "InventoryConfiguration",
    "legal-hold": "LegalHold",
    "lifecycle": "Lifecycle",
    "logging": "Logging",
    "metadataConfiguration": "MetadataConfiguration",
    "metadataTable": "MetadataTableConfiguration",
    "metrics": "MetricsConfiguration",
    "notification": "Notification",
    "object-lock": "LockConfiguration",
    "ownershipControls": "OwnershipControls",
    "policy": "Policy",
    "policyStatus": "PolicyStatus",
    "publicAccessBlock": "PublicAccessBlock",
    "replication": "Replication",
    "requestPayment": "RequestPayment",
    "retention": "Retention",
    "tagging": "Tagging",
    "torrent": "Torrent",
    "versioning": "Versioning",
    "website": "Website",
}
_WHOLE_NAMES = {
    "attributes": "GetObjectAttributes",
    "restore": "RestoreObject",
    "select": "SelectObjectContent",
    "session": "CreateSession",
    "renameObject": "RenameObject",
    "versions": "ListObjectVersions",
}
_VERBS = {"GET": "Get", "HEAD": "Get", "PUT": "Put", "DELETE": "Delete", "POST": "Put"}


@dataclass(frozen=True)
class S3Operation:
    """An S3 request as CloudTrail names it."""

    name: str
    read_only: bool
    management: bool


def operation_of(
    method: str, bucket: str, key: str, query: dict[str, str], copy: bool = False
) -> S3Operation:
    """The operation a path-style request is (what CloudTrail's ``eventName`` says of it)."""
    read = method in ("GET", "HEAD")
    if not bucket:
        return S3Operation("ListBuckets", True, True)
    if not key:
        return _bucket_operation(method, query, read)
    if "uploadId" in query:
        name = {"PUT": "UploadPart", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload"}
        return S3Operation(name.get(method, "ListParts"), read, False)
    if "uploads" in query:
        return S3Operation("CreateMultipartUpload", False, False)
    sub = _sub_resource(query, method, "Object")
    if sub is not None:
        return S3Operation(sub, read, False)
    if method == "PUT":
        return S3Operation("CopyObject" if copy else "PutObject", False, False)
    names = {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}
    return S3Operation(names.get(method, f"{method.title()}Object"), read, False)


def _bucket_operation(method: str, query: dict[str, str], read: bool) -> S3Operation:
    if method == "POST" and "delete" in query:
        return S3Operation("DeleteObjects", False, False)
    if "location" in query:
        return S3Operation("GetBucketLocation", True, True)
    if "uploads" in query:
        return S3Operation("ListMultipartUploads", True, True)
    sub = _sub_resource(query, method, "Bucket")
    if sub is not None:
        return S3Operation(sub, read, sub != "ListObjectVersions")
    names = {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}
    if method in names:
        return S3Operation(names[method], read, True)
    if method == "GET":
        return S3Operation("ListObjects", True, False)  # v1 and v2 alike ("list-type": "2" says which)
    return S3Operation(f"{method.title()}Bucket", read, True)


def _sub_resource(query: dict[str, str], method: str, level: str) -> str | None:
    """The operation a sub-resource request is, e.g. ``GET /b?acl`` GetBucketAcl; None without one."""
    for name in query:
        if name in _WHOLE_NAMES:
            return _WHOLE_NAMES[name]
        if name in _SUB_RESOURCES:
            return f"{_VERBS.get(method, 'Get')}{level}{_SUB_RESOURCES[name]}"
    return None


@dataclass(frozen=True)
class S3Call:
    """What the edge knows of one S3 call once it is answered."""

    operation: S3Operation
    bucket: str
    key: str
    host: str
    query: dict[str, str]
    bucket_owner: str | None
    bytes_in: int
    bytes_out: int
    error: ApiError | None


def record(call: Call, s3: S3Call) -> dict[str, Any]:
    """The CloudTrail record of an S3 call, its fields in CloudTrail's order."""
    operation = s3.operation
    rec: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity(call.key),
        "eventTime": call.services.event_times.text(int(call.now)),
        "eventSource": EVENT_SOURCE,
        "eventName": operation.name,
        "awsRegion": call.region,
        "sourceIPAddress": call.source_ip,
        "userAgent": call.user_agent[:1024],
    }
    if s3.error is not None:
        rec["errorCode"] = s3.error.s3_code if isinstance(s3.error, S3Error) else s3.error.code
        rec["errorMessage"] = s3.error.message[:1024]
    rec["requestParameters"] = _request_parameters(s3)
    rec["responseElements"] = None
    rec["additionalEventData"] = {
        "SignatureVersion": "SigV4",
        "bytesTransferredIn": s3.bytes_in,
        "AuthenticationMethod": "AuthHeader",
        "bytesTransferredOut": s3.bytes_out,
    }
    rec["requestID"] = call.request_id
    rec["eventID"] = call.services.new_id()
    rec["readOnly"] = operation.read_only
    resources = _resources(s3)
    if resources:
        rec["resources"] = resources
    rec["eventType"] = "AwsApiCall"
    rec["managementEvent"] = operation.management
    rec["recipientAccountId"] = call.account
    rec["eventCategory"] = "Management" if operation.management else "Data"
    return rec


def _request_parameters(s3: S3Call) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if s3.bucket:
        params["bucketName"] = s3.bucket
    params["Host"] = s3.host
    if s3.key:
        params["key"] = s3.key
    for name, value in s3.query.items():
        if name not in ("bucketName", "Host", "key"):
            params[name] = value[:1024]
    return params


def _resources(s3: S3Call) -> list[dict[str, str]]:
    if not s3.bucket:
        return []
    bucket_arn = f"arn:aws:s3:::{s3.bucket}"
    bucket: dict[str, str] = {"type": _BUCKET_TYPE, "ARN": bucket_arn}
    if s3.bucket_owner:
        bucket = {"accountId": s3.bucket_owner, **bucket}
    if s3.operation.management:
        return [bucket]
    if s3.key:
        return [{"type": _OBJECT_TYPE, "ARN": f"{bucket_arn}/{s3.key}"}, bucket]
    prefix = s3.query.get("prefix", "")
    return [{"type": _OBJECT_TYPE, "ARNPrefix": f"{bucket_arn}/{prefix}"}, bucket]
