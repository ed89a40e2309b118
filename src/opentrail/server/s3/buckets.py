"""Buckets: who may use one (ownership as the store records it), ListBuckets, CreateBucket and
DeleteBucket.

ListBuckets answers each bucket's creation time as the bucket store keeps it (``Storage.describe_buckets``)
and pages as S3 does since 2024 (``max-buckets``, ``continuation-token``, ``prefix``); every bucket is in
the one region the subset has, us-east-1.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from opentrail.context import Call
from opentrail.errors import BucketExists, ConflictError, S3Error
from opentrail.server.s3.listing import iso_time
from opentrail.server.s3.responses import parse_xml, xml_element, xml_response
from opentrail.storage import BucketInfo, check_bucket_name

REGION = "us-east-1"
MAX_BUCKETS = 10_000


def check_access(call: Call, bucket: str) -> None:
    """A bucket recorded for another account is theirs alone; a missing one is NoSuchBucket. Blocking:
    run it on a worker thread."""
    check_bucket_name(bucket)
    owner = call.store.bucket_owner(bucket)
    if owner is not None and owner != call.account:
        raise S3Error("AccessDenied", 403, "Access Denied")
    if not call.services.storage.bucket_exists(bucket):
        raise S3Error("NoSuchBucket", 404, "The specified bucket does not exist")


async def authorize(call: Call, bucket: str) -> None:
    await run_in_threadpool(check_access, call, bucket)


async def list_buckets(call: Call, query: dict[str, str]) -> Response:
    prefix, limit = query.get("prefix", ""), _max_buckets(query)
    after = _untoken(query["continuation-token"]) if "continuation-token" in query else ""
    described = await run_in_threadpool(call.services.storage.describe_buckets)
    shown: list[BucketInfo] = []
    more = False
    for bucket in described:
        if not bucket.name.startswith(prefix) or bucket.name <= after:
            continue
        if await run_in_threadpool(call.store.bucket_owner, bucket.name) not in (None, call.account):
            continue
        if len(shown) == limit:
            more = True
            break
        shown.append(bucket)
    root = xml_element("ListAllMyBucketsResult")
    buckets = ET.SubElement(root, "Buckets")
    for bucket in shown:
        entry = ET.SubElement(buckets, "Bucket")
        ET.SubElement(entry, "Name").text = bucket.name
        ET.SubElement(entry, "CreationDate").text = iso_time(bucket.created)
        ET.SubElement(entry, "BucketRegion").text = REGION
    owner = ET.SubElement(root, "Owner")
    ET.SubElement(owner, "DisplayName").text = call.account
    ET.SubElement(owner, "ID").text = call.account
    if more:
        ET.SubElement(root, "ContinuationToken").text = _token(shown[-1].name)
    if "prefix" in query:
        ET.SubElement(root, "Prefix").text = prefix
    return xml_response(root)


async def delete_bucket(call: Call, bucket: str) -> Response:
    """DeleteBucket of an authorized bucket: the bucket store refuses one that is not empty; then the
    owner is forgotten, so the name is free again (in that order: a crash between leaves the name still
    the owner's, never a bucket anyone may use)."""
    await run_in_threadpool(call.services.storage.delete_bucket, bucket)
    await run_in_threadpool(call.store.remove_bucket, bucket)
    return Response(status_code=204)


def _max_buckets(query: dict[str, str]) -> int:
    text = query.get("max-buckets", str(MAX_BUCKETS))
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_BUCKETS:
        raise S3Error(
            "InvalidArgument",
            400,
            f"Argument max-buckets must be an integer between 1 and {MAX_BUCKETS}",
            ArgumentName="max-buckets",
            ArgumentValue=text[:100],
        )
    return int(text)


def _token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _untoken(token: str) -> str:
    try:
        name = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        name = ""
    # The decoder skips characters outside its alphabet: only the spelling this server issues is a token.
    if not name or _token(name) != token:
        raise S3Error(
            "InvalidArgument",
            400,
            "The continuation token provided is incorrect",
            ArgumentName="continuation-token",
            ArgumentValue=token[:100],
        )
    return name


async def create_bucket(call: Call, bucket: str, body: bytes) -> Response:
    check_bucket_name(bucket)
    if body.strip():
        # Any LocationConstraint is accepted: the bucket store has one location.
        parse_xml(body, "CreateBucketConfiguration")
    storage = call.services.storage
    owner = await run_in_threadpool(call.store.bucket_owner, bucket)
    if owner is not None and owner != call.account:
        raise S3Error("BucketAlreadyExists", 409, f"bucket {bucket} is owned by another account")
    if await run_in_threadpool(storage.bucket_exists, bucket):
        raise S3Error("BucketAlreadyOwnedByYou", 409, f"you already own bucket {bucket}")
    try:
        await run_in_threadpool(storage.create_bucket, bucket)
    except BucketExists:
        raise S3Error("BucketAlreadyExists", 409, f"bucket {bucket} already exists") from None
    if owner is None:
        try:
            await run_in_threadpool(call.store.add_bucket, bucket, call.account)
        except ConflictError:
            raise S3Error("BucketAlreadyExists", 409, f"bucket {bucket} already exists") from None
    return Response(headers={"Location": f"/{bucket}"})
