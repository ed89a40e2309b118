"""Buckets: who may use one (ownership as the store records it), ListBuckets and CreateBucket."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from opentrail.context import Call
from opentrail.errors import BucketExists, ConflictError, S3Error
from opentrail.server.s3.listing import iso_time
from opentrail.server.s3.responses import parse_xml, xml_element, xml_response
from opentrail.storage import check_bucket_name


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


async def list_buckets(call: Call) -> Response:
    names = await run_in_threadpool(call.services.storage.list_buckets)
    root = xml_element("ListAllMyBucketsResult")
    owner = ET.SubElement(root, "Owner")
    ET.SubElement(owner, "ID").text = call.account
    ET.SubElement(owner, "DisplayName").text = call.account
    buckets = ET.SubElement(root, "Buckets")
    for name in names:
        if await run_in_threadpool(call.store.bucket_owner, name) not in (None, call.account):
            continue
        entry = ET.SubElement(buckets, "Bucket")
        ET.SubElement(entry, "Name").text = name
        # The store keeps no creation time; the epoch is a stable, honest "unknown".
        ET.SubElement(entry, "CreationDate").text = iso_time(0)
    return xml_response(root)


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
