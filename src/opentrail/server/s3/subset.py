"""Where the S3 subset ends, checked before anything is done: S3's sub-resources outside it (named by the
operations a request for them would be) and request headers asking for what it cannot honour. Each is
S3's 501 ``NotImplemented``; the router adds the ``Resource`` it was asked of.

A header is refused, not ignored, where ignoring it would break what the client was promised: an object
it believes encrypted under its own key (SSE-C) or a KMS key, locked against deletion (Object Lock), or
written only if absent or unchanged (conditional writes). ``x-amz-server-side-encryption: AES256`` is
what every object gets anyway (S3 encrypts new objects with SSE-S3 by default), so it is accepted.
"""

from __future__ import annotations

from starlette.requests import Request

from opentrail.errors import S3Error
from opentrail.server.s3.responses import header_not_implemented, not_implemented
from opentrail.server.s3.target import S3Target
from opentrail.storage import SSE_S3

# Every sub-resource of botocore's s3 model (service-2.json) the subset does not serve.
UNSUPPORTED = {
    "abac": "GetBucketAbac, PutBucketAbac",
    "accelerate": "Get/PutBucketAccelerateConfiguration",
    "acl": "Get/PutBucketAcl, Get/PutObjectAcl",
    "analytics": "Get/Put/Delete/ListBucketAnalyticsConfiguration(s)",
    "annotation": "Get/Put/Delete/ListObjectAnnotation(s)",
    "attributes": "GetObjectAttributes",
    "cors": "Get/Put/DeleteBucketCors",
    "encryption": "Get/Put/DeleteBucketEncryption, UpdateObjectEncryption",
    "intelligent-tiering": "Get/Put/Delete/ListBucketIntelligentTieringConfiguration(s)",
    "inventory": "Get/Put/Delete/ListBucketInventoryConfiguration(s)",
    "legal-hold": "Get/PutObjectLegalHold",
    "lifecycle": "Get/Put/DeleteBucketLifecycle(Configuration)",
    "logging": "Get/PutBucketLogging",
    "metadataAnnotationTable": "UpdateBucketMetadataAnnotationTableConfiguration",
    "metadataConfiguration": "Create/Get/DeleteBucketMetadataConfiguration",
    "metadataInventoryTable": "UpdateBucketMetadataInventoryTableConfiguration",
    "metadataJournalTable": "UpdateBucketMetadataJournalTableConfiguration",
    "metadataTable": "Create/Get/DeleteBucketMetadataTableConfiguration",
    "metrics": "Get/Put/Delete/ListBucketMetricsConfiguration(s)",
    "notification": "Get/PutBucketNotification(Configuration)",
    "object-lock": "Get/PutObjectLockConfiguration",
    "ownershipControls": "Get/Put/DeleteBucketOwnershipControls",
    "policy": "Get/Put/DeleteBucketPolicy",
    "policyStatus": "GetBucketPolicyStatus",
    "publicAccessBlock": "Get/Put/DeletePublicAccessBlock",
    "renameObject": "RenameObject",
    "replication": "Get/Put/DeleteBucketReplication",
    "requestPayment": "Get/PutBucketRequestPayment",
    "restore": "RestoreObject",
    "retention": "Get/PutObjectRetention",
    "select": "SelectObjectContent",
    "session": "CreateSession",
    "tagging": "Get/Put/DeleteBucketTagging, Get/Put/DeleteObjectTagging",
    "torrent": "GetObjectTorrent",
    "versioning": "Get/PutBucketVersioning",
    "versions": "ListObjectVersions",
    "website": "Get/Put/DeleteBucketWebsite",
}
_SSE = "x-amz-server-side-encryption"
# Headers of SSE-C, Object Lock and conditional writes: refused on any write of an object.
_REFUSED_ON_WRITES = (
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
    "if-match",
    "if-none-match",
)


def refuse_what_is_outside(request: Request, target: S3Target) -> None:
    """Raise S3's error for a sub-resource or a header the subset does not serve."""
    for name, operations in UNSUPPORTED.items():
        if name in target.query:
            raise not_implemented(f"{request.method} ?{name} ({operations})")
    if not target.key:
        return
    method, headers = request.method, request.headers
    if "x-amz-server-side-encryption-customer-algorithm" in headers:
        raise header_not_implemented("x-amz-server-side-encryption-customer-algorithm")
    if method not in ("PUT", "POST", "DELETE"):
        return
    for name in _REFUSED_ON_WRITES:
        if name in headers:
            raise header_not_implemented(name)
    mode = headers.get(_SSE)
    if mode is None or mode == SSE_S3:
        return
    if mode in ("aws:kms", "aws:kms:dsse", "aws:fsx"):
        raise header_not_implemented(_SSE)
    raise S3Error(
        "InvalidArgument",
        400,
        "The encryption method specified is not supported",
        ArgumentName=_SSE,
        ArgumentValue=mode[:100],
    )
