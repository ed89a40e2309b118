"""S3 calls as botocore makes and reads them, run in process through the S3 subset (``server/s3``): the
request botocore's rest-xml serializer builds for an operation, as Starlette receives it, and the answer
as botocore's rest-xml parser reads it (an error as ``{"Error": {"Code": ...}, ...}``)."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import botocore.session
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer
from starlette.requests import Request
from starlette.responses import Response

from opentrail.context import Call
from opentrail.server.payload import Payload
from opentrail.server.s3.router import S3Api
from tests.support.asgi import from_botocore

S3 = botocore.session.get_session().get_service_model("s3")
ENDPOINT = "http://127.0.0.1:8790"


def s3_request(operation: str, **params: Any) -> tuple[Request, bytes]:
    """What botocore sends for ``operation`` with ``params`` (path-style): the request and its body."""
    request_dict = create_serializer("rest-xml").serialize_to_request(params, S3.operation_model(operation))
    prepare_request_dict(request_dict, ENDPOINT)
    aws_request = create_request_object(request_dict)
    body = aws_request.prepare().body or b""
    return from_botocore(aws_request), body.encode() if isinstance(body, str) else body


def parsed(operation: str, response: Response) -> dict[str, Any]:
    """``response`` as botocore reads it for ``operation``; an object's body (a stream to botocore, as it
    comes over the wire) read to bytes."""
    model = S3.operation_model(operation)
    body = bytes(response.body)
    streams = model.has_streaming_output and response.status_code < 300
    result: dict[str, Any] = create_parser("rest-xml").parse(
        {
            "status_code": response.status_code,
            "headers": response.headers,
            "body": StreamingBody(io.BytesIO(body), len(body)) if streams else body,
        },
        model.output_shape,
    )
    if streams:
        result["Body"] = result["Body"].read()
    return result


def answer(api: S3Api, call: Call, request: Request, body: bytes) -> Response:
    """What the S3 subset answers ``request`` made as ``call``."""
    return asyncio.run(api.handle(call, request, Payload(body)))


def s3_call(api: S3Api, call: Call, operation: str, **params: Any) -> dict[str, Any]:
    """``operation`` sent by botocore to the S3 subset as ``call``, its answer read by botocore."""
    request, body = s3_request(operation, **params)
    return parsed(operation, answer(api, call, request, body))


def error_of(result: dict[str, Any]) -> tuple[str, int]:
    """The S3 error code and HTTP status of a parsed answer."""
    return result["Error"]["Code"], result["ResponseMetadata"]["HTTPStatusCode"]
