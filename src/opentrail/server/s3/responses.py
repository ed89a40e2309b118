"""S3's XML: responses, and errors in S3's words (codes, statuses, the Error document)."""

from __future__ import annotations

import email.utils
import re
import xml.etree.ElementTree as ET

from starlette.responses import Response

from opentrail.errors import (
    AccessDeniedException,
    ApiError,
    IncompleteSignature,
    InvalidSignature,
    MissingAuthenticationToken,
    PayloadHashMismatch,
    RequestEntityTooLarge,
    S3Error,
    ServiceError,
    SignatureExpired,
    UnrecognizedClient,
)
from opentrail.server.s3.listing import NS

MAX_XML_BODY = 1024 * 1024


def not_implemented(operation: str) -> S3Error:
    """An operation outside the subset (the router adds the ``Resource`` it was asked of)."""
    return S3Error("NotImplemented", 501, f"{operation} is not part of OpenTrail's S3 subset")


def method_not_allowed(method: str, resource_type: str) -> S3Error:
    """A method the resource does not take, in S3's words (``resource_type``: SERVICE, BUCKET, OBJECT or
    MULTIPARTUPLOAD)."""
    return S3Error(
        "MethodNotAllowed",
        405,
        "The specified method is not allowed against this resource.",
        Method=method,
        ResourceType=resource_type,
    )


def header_not_implemented(header: str) -> S3Error:
    """A request header that asks for what the subset does not do, in S3's words for it."""
    return S3Error(
        "NotImplemented",
        501,
        "A header you provided implies functionality that is not implemented",
        Header=header,
    )


# Authentication and edge errors (raised before this module runs) in S3's words.
_AUTH_CODES: list[tuple[type[ApiError], str, int]] = [
    (SignatureExpired, "RequestTimeTooSkewed", 403),
    (PayloadHashMismatch, "XAmzContentSHA256Mismatch", 400),
    (InvalidSignature, "SignatureDoesNotMatch", 403),
    (UnrecognizedClient, "InvalidAccessKeyId", 403),
    (MissingAuthenticationToken, "AccessDenied", 403),
    (IncompleteSignature, "AuthorizationHeaderMalformed", 400),
    (AccessDeniedException, "AccessDenied", 403),
    (RequestEntityTooLarge, "EntityTooLarge", 400),
    (ServiceError, "ServiceUnavailable", 503),
]


def xml_error(err: ApiError, request_id: str, head: bool = False, **context: str) -> Response:
    if isinstance(err, S3Error):
        code, status, fields = err.s3_code, err.s3_status, {**context, **err.fields}
    else:
        # Request errors keep their name and status; server failures become S3's InternalError.
        code, status, fields = err.code, err.status, context
        if status >= 500:
            code = "InternalError"
        for cls, s3_code, s3_status in _AUTH_CODES:
            if isinstance(err, cls):
                code, status = s3_code, s3_status
                break
    headers = {"x-amz-request-id": request_id}
    if head:
        # HEAD responses carry no body; botocore reads the status alone.
        return Response(status_code=status, headers=headers)
    root = ET.Element("Error")
    ET.SubElement(root, "Code").text = code
    ET.SubElement(root, "Message").text = err.message
    for name, value in fields.items():
        ET.SubElement(root, name).text = value
    ET.SubElement(root, "RequestId").text = request_id
    return xml_response(root, status, headers)


# What XML 1.0 cannot hold even escaped (C0 controls but tab, newline and return; lone surrogates;
# U+FFFE and U+FFFF): a key or value carrying one is answered with U+FFFD in its place, so every answer
# is a document clients can parse.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_response(root: ET.Element, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    document = ET.tostring(root, encoding="unicode")
    if _NOT_XML.search(document):
        # Rare: one scan of the document finds it, only then is every element's text cleaned.
        for element in root.iter():
            if element.text and _NOT_XML.search(element.text):
                element.text = _NOT_XML.sub("\ufffd", element.text)
        document = ET.tostring(root, encoding="unicode")
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + document.encode("utf-8")
    return Response(body, status_code=status, media_type="application/xml", headers=headers)


def xml_element(tag: str, **children: str) -> ET.Element:
    root = ET.Element(tag, xmlns=NS)
    for name, value in children.items():
        ET.SubElement(root, name).text = value
    return root


def http_time(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def parse_xml(body: bytes, what: str) -> ET.Element:
    if len(body) > MAX_XML_BODY:
        raise S3Error("MalformedXML", 400, f"the {what} body exceeds {MAX_XML_BODY} bytes")
    try:
        # ElementTree resolves no external entities and expat (>= 2.4.1) caps entity expansion; the
        # body is also bounded above.
        return ET.fromstring(body)  # noqa: S314
    except ET.ParseError as exc:
        raise S3Error("MalformedXML", 400, f"the {what} body is not well-formed XML: {exc}") from None
