"""S3's XML (``server/s3/responses.py``): the Error document botocore's rest-xml parser reads (Code,
Message, the bucket and key it concerns, RequestId, and ``x-amz-request-id``), errors raised before the
S3 subset runs (authentication, body size, the server's own) in S3's codes and statuses, HEAD errors as a
bare status, HTTP dates, and request bodies that are bounded and never expand entities."""

from __future__ import annotations

import email.utils
import xml.etree.ElementTree as ET

import pytest

from opentrail.errors import (
    AccessDeniedException,
    ApiError,
    IncompleteSignature,
    InternalFailure,
    InvalidSignature,
    MissingAuthenticationToken,
    PayloadHashMismatch,
    RequestEntityTooLarge,
    S3Error,
    ServiceError,
    SignatureExpired,
    TrailNotFound,
    UnrecognizedClient,
)
from opentrail.server.s3.responses import (
    MAX_XML_BODY,
    http_time,
    not_implemented,
    parse_xml,
    xml_element,
    xml_error,
    xml_response,
)
from tests.support.s3 import error_of, parsed

NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def test_an_s3_error_as_botocore_reads_it() -> None:
    err = S3Error("NoSuchUpload", 404, "The specified multipart upload does not exist.", UploadId="u-1")
    response = xml_error(err, "req-1", BucketName="logs", Key="a/b")
    assert response.headers["content-type"] == "application/xml"
    assert response.headers["x-amz-request-id"] == "req-1"
    assert bytes(response.body).startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error>')
    assert ET.fromstring(bytes(response.body)).findtext("RequestId") == "req-1"  # noqa: S314 - our output
    result = parsed("UploadPart", response)
    assert result["Error"] == {
        "Code": "NoSuchUpload",
        "Message": "The specified multipart upload does not exist.",
        "BucketName": "logs",
        "Key": "a/b",
        "UploadId": "u-1",
    }
    assert (result["ResponseMetadata"]["RequestId"], result["ResponseMetadata"]["HTTPStatusCode"]) == (
        "req-1",
        404,
    )


def test_the_errors_own_fields_win_over_the_requests() -> None:
    err = S3Error("NoSuchBucket", 404, "The specified bucket does not exist", BucketName="source")
    assert (
        parsed("CopyObject", xml_error(err, "req-1", BucketName="target"))["Error"]["BucketName"] == "source"
    )


@pytest.mark.parametrize(
    ("err", "code", "status"),
    [
        # S3's names for what the edge refuses before the S3 subset runs (S3's error code list).
        (SignatureExpired("too skewed"), "RequestTimeTooSkewed", 403),
        (PayloadHashMismatch("hash"), "XAmzContentSHA256Mismatch", 400),
        (InvalidSignature("bad signature"), "SignatureDoesNotMatch", 403),
        (UnrecognizedClient("no such key"), "InvalidAccessKeyId", 403),
        (MissingAuthenticationToken("unsigned"), "AccessDenied", 403),
        (IncompleteSignature("malformed"), "AuthorizationHeaderMalformed", 400),
        (AccessDeniedException("expired"), "AccessDenied", 403),
        (RequestEntityTooLarge("too big"), "EntityTooLarge", 400),
        (ServiceError("the event store is unavailable"), "ServiceUnavailable", 503),
        # A server failure is S3's InternalError; a request error keeps its name and status.
        (InternalFailure("a bug"), "InternalError", 500),
        (TrailNotFound("Unknown trail"), "TrailNotFoundException", 400),
    ],
)
def test_errors_from_before_the_subset_in_s3s_words(err: ApiError, code: str, status: int) -> None:
    result = parsed("GetObject", xml_error(err, "req-2", BucketName="logs", Key="k"))
    assert error_of(result) == (code, status)
    assert result["Error"]["Message"] == err.message
    assert (result["Error"]["BucketName"], result["Error"]["Key"]) == ("logs", "k")


def test_a_head_error_is_its_status_alone() -> None:
    response = xml_error(S3Error("NoSuchKey", 404, "The specified key does not exist."), "req-3", head=True)
    assert (response.status_code, response.body) == (404, b"")
    assert response.headers["x-amz-request-id"] == "req-3"
    assert "content-type" not in response.headers
    assert parsed("HeadObject", response)["Error"]["Code"] == "404"  # what botocore makes of it


def test_not_implemented_names_the_operation() -> None:
    err = not_implemented("SelectObjectContent")
    assert (err.s3_code, err.s3_status) == ("NotImplemented", 501)
    assert err.message == "SelectObjectContent is not part of OpenTrail's S3 subset"


def test_results_are_s3_documents() -> None:
    root = xml_element("InitiateMultipartUploadResult", Bucket="logs", Key="a/b", UploadId="u-1")
    response = xml_response(root, 200, {"x-amz-request-id": "req-4"})
    assert (response.status_code, response.headers["content-type"]) == (200, "application/xml")
    assert response.headers["x-amz-request-id"] == "req-4"
    document = ET.fromstring(bytes(response.body))  # noqa: S314 - the module's own output
    assert document.tag == f"{{{NS}}}InitiateMultipartUploadResult"
    assert [(child.tag, child.text) for child in document] == [
        (f"{{{NS}}}Bucket", "logs"),
        (f"{{{NS}}}Key", "a/b"),
        (f"{{{NS}}}UploadId", "u-1"),
    ]
    result = parsed("CreateMultipartUpload", response)
    assert (result["Bucket"], result["Key"], result["UploadId"]) == ("logs", "a/b", "u-1")


@pytest.mark.parametrize(
    ("epoch", "text"), [(0, "Thu, 01 Jan 1970 00:00:00 GMT"), (1714564800.9, "Wed, 01 May 2024 12:00:00 GMT")]
)
def test_http_dates(epoch: float, text: str) -> None:
    """RFC 9110's IMF-fixdate, in GMT, whole seconds: what Last-Modified carries."""
    assert http_time(epoch) == text
    assert email.utils.parsedate_to_datetime(text).timestamp() == int(epoch)


def test_a_request_body_is_read_as_xml() -> None:
    root = parse_xml(
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>", "x"
    )
    assert root.findtext("Part/PartNumber") == "1"


ENTITIES = b"".join(
    b'<!ENTITY e%d "%s">' % (n, b"&e%d;" % (n - 1) * 10 if n else b"lol" * 10) for n in range(10)
)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<CompleteMultipartUpload>", "is not well-formed XML"),
        (b"<a>" + b" " * MAX_XML_BODY + b"</a>", f"exceeds {MAX_XML_BODY} bytes"),
        # Entities that expand to gigabytes, and one that would read a local file: never expanded.
        (b"<!DOCTYPE a [" + ENTITIES + b"]><a>&e9;</a>", "is not well-formed XML"),
        (b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/hostname">]><a>&x;</a>', "is not well-formed XML"),
    ],
)
def test_a_body_that_is_not_small_plain_xml_is_malformed(body: bytes, says: str) -> None:
    with pytest.raises(S3Error) as caught:
        parse_xml(body, "CompleteMultipartUpload")
    assert (caught.value.s3_code, caught.value.s3_status) == ("MalformedXML", 400)
    assert f"the CompleteMultipartUpload body {says}" in caught.value.message


@pytest.mark.parametrize("text", ["a\x00b", "\x1f", "lone \ud800 surrogate", "\ufffe"])
def test_what_xml_cannot_hold_is_replaced_so_every_answer_parses(text: str) -> None:
    root = xml_element("Error", Code="InvalidArgument", Key=text)
    body = bytes(xml_response(root, 400).body)
    parsed = ET.fromstring(body)  # noqa: S314 - the server's own answer
    assert "\ufffd" in (parsed.findtext(f"{{{NS}}}Key") or "")
    assert parsed.findtext(f"{{{NS}}}Code") == "InvalidArgument"
