"""DeleteObject, and DeleteObjects (``POST /<bucket>?delete``, what ``aws s3 rm --recursive`` sends), as
S3 answers them.

Deleting a key that does not exist succeeds, as in S3. DeleteObjects takes 1 to 1,000 keys; S3 requires
the body's integrity header (``Content-MD5``, or one of the ``x-amz-checksum-*`` of its flexible
checksums, which botocore sends by default). Each key is deleted on its own: one that fails is an
``Error`` entry of the result, not a failed request; ``Quiet`` leaves the deleted keys out. The subset
keeps no versions: a key is deleted by ``VersionId`` ``null`` (the one version an unversioned bucket
has) or by none; any other version does not exist.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from opentrail.context import Call
from opentrail.errors import InvalidKey, NoSuchBucket, S3Error, StorageError
from opentrail.server.s3.listing import NS
from opentrail.server.s3.objects import check_integrity
from opentrail.server.s3.responses import parse_xml, xml_response
from opentrail.server.s3.target import S3Target
from opentrail.storage import Storage

log = logging.getLogger("opentrail")
MAX_KEYS = 1000
_INTERNAL = "We encountered an internal error. Please try again."
_MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"

# (key, version id or None)
Target = tuple[str, str | None]
# (key, version id or None, error code or None, error message)
Outcome = tuple[str, str | None, str | None, str]


async def delete_object(call: Call, target: S3Target) -> Response:
    await run_in_threadpool(call.services.storage.delete_object, target.bucket, target.key)
    return Response(status_code=204)


async def delete_objects(call: Call, request: Request, body: bytes, bucket: str) -> Response:
    if "content-md5" not in request.headers and not any(
        name.startswith("x-amz-checksum-") for name in request.headers
    ):
        raise S3Error("InvalidRequest", 400, "Missing required header for this request: Content-MD5")
    check_integrity(request, body)
    quiet, targets = _parse(body)
    outcomes = await run_in_threadpool(_delete_each, call.services.storage, bucket, targets)
    root = ET.Element("DeleteResult", xmlns=NS)
    for key, version, code, message in outcomes:
        if code is None and quiet:
            continue
        entry = ET.SubElement(root, "Deleted" if code is None else "Error")
        ET.SubElement(entry, "Key").text = key
        if version is not None:
            ET.SubElement(entry, "VersionId").text = version
        if code is not None:
            ET.SubElement(entry, "Code").text = code
            ET.SubElement(entry, "Message").text = message
    return xml_response(root)


def _parse(body: bytes) -> tuple[bool, list[Target]]:
    root = parse_xml(body, "Delete")
    if _local(root.tag) != "Delete":
        raise S3Error("MalformedXML", 400, _MALFORMED)
    quiet = False
    targets: list[Target] = []
    for child in root:
        tag = _local(child.tag)
        if tag == "Quiet":
            quiet = (child.text or "").strip().lower() == "true"
        elif tag == "Object":
            fields = {_local(item.tag): item.text or "" for item in child}
            if "Key" not in fields:
                raise S3Error("MalformedXML", 400, _MALFORMED)
            targets.append((fields["Key"], fields.get("VersionId")))
    if not 1 <= len(targets) <= MAX_KEYS:
        raise S3Error("MalformedXML", 400, _MALFORMED)
    return quiet, targets


def _delete_each(storage: Storage, bucket: str, targets: list[Target]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for key, version in targets:
        if version not in (None, "null"):
            outcomes.append((key, version, "NoSuchVersion", "The specified version does not exist."))
            continue
        try:
            storage.delete_object(bucket, key)
        except NoSuchBucket:
            raise
        except InvalidKey as exc:
            outcomes.append((key, version, "InvalidArgument", str(exc)))
            continue
        except StorageError as exc:
            log.warning("bucket store failure deleting %r from %s: %s", key, bucket, exc)
            outcomes.append((key, version, "InternalError", _INTERNAL))
            continue
        outcomes.append((key, version, None, ""))
    return outcomes


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
