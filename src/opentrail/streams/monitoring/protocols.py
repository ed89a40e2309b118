"""CloudWatch's three wire protocols, told apart by the request (as botocore's serializers make them):

    rpc-v2-cbor  POST /service/GraniteServiceVersion20100801/operation/<Op>, ``smithy-protocol: rpc-v2-cbor``
    JSON 1.0     POST /, ``X-Amz-Target: GraniteServiceVersion20100801.<Op>``
    query        POST / with a form body ``Action=<Op>&Version=2010-08-01&...`` (or those in the URL)

``Wire.read`` names the operation and decodes its parameters; ``Wire.answer`` and ``Wire.fail`` render
a result or an error in the same protocol. JSON and CBOR errors carry ``__type`` and, the model being
``awsQueryCompatible``, ``x-amzn-query-error: <query code>;<Sender|Receiver>``, from which botocore
takes the code its modelled exceptions are matched by.
"""

from __future__ import annotations

import enum
import json
import zlib
from typing import Any
from urllib.parse import parse_qsl

import cbor2
import msgspec
from starlette.requests import Request
from starlette.responses import Response

from opentrail.errors import ApiError, SerializationException, UnknownOperationException
from opentrail.streams.monitoring import model
from opentrail.streams.monitoring.params import from_query, from_tree, query_tree
from opentrail.streams.monitoring.results import to_cbor_tree, to_json_tree, to_xml, xml_error

__all__ = ["Wire", "speaks", "wire_of"]

CBOR_PATH = f"/service/{model.TARGET_PREFIX}/operation/"
JSON_10 = "application/x-amz-json-1.0"
# CloudWatch takes PutMetricData bodies of up to 1 MB; a compressed one may not inflate past this.
MAX_INFLATED = 4 * 1024 * 1024
JSON_TYPES = (JSON_10, "application/x-amz-json-1.1", "application/json")


class Wire(enum.Enum):
    QUERY = "query"
    JSON = "json"
    CBOR = "smithy-rpc-v2-cbor"

    def read(self, request: Request, body: bytes) -> tuple[str, Any, Any]:
        """(operation name, its model, its parameters still in wire form). JSON and CBOR name the
        operation in the header or path, so their bodies are decoded later, by ``params``, inside the
        audited call; query's body is read here for its ``Action``. An operation CloudWatch does not
        have is ``UnknownOperationException``."""
        raw: Any = body
        if self is Wire.CBOR:
            name = request.url.path[len(CBOR_PATH) :]
        elif self is Wire.JSON:
            name = request.headers.get("x-amz-target", "")[len(model.TARGET_PREFIX) + 1 :]
        else:
            raw = query_tree(_form(request, inflated(request, body)))
            name = raw.pop("Action", {}).get(None, "")
            raw.pop("Version", None)
        operation = model.operation(name)
        if operation is None:
            raise UnknownOperationException(f"CloudWatch has no operation {name[:64]!r}")
        return name, operation, raw

    def params(self, request: Request, operation: Any, raw: Any) -> dict[str, Any]:
        """The parameters in the plain form operations take (``params``); a body that does not decode
        is ``SerializationException``."""
        if self is Wire.CBOR:
            raw = _cbor_body(inflated(request, raw))
        elif self is Wire.JSON:
            raw = _json_body(request, inflated(request, raw))
        shape = operation.input_shape
        if shape is None:
            return {}
        found = from_query(shape, raw) if self is Wire.QUERY else from_tree(shape, raw)
        return dict(found)

    def answer(self, operation: Any, result: dict[str, Any], request_id: str) -> Response:
        shape = operation.output_shape
        headers = {"x-amzn-RequestId": request_id}
        if self is Wire.QUERY:
            return Response(to_xml(operation.name, shape, result, request_id), 200, headers, "text/xml")
        if self is Wire.JSON:
            return Response(_json(to_json_tree(shape, result)), 200, headers, JSON_10)
        headers["smithy-protocol"] = "rpc-v2-cbor"
        return Response(cbor2.dumps(to_cbor_tree(shape, result)), 200, headers, "application/cbor")

    def fail(self, err: ApiError, request_id: str) -> Response:
        fault = model.fault_of(err)
        side = "Sender" if fault.sender else "Receiver"
        headers = {"x-amzn-RequestId": request_id}
        if self is Wire.QUERY:
            return Response(
                xml_error(fault.query_code, err.message, fault.sender, request_id),
                fault.status,
                headers,
                "text/xml",
            )
        headers["x-amzn-query-error"] = f"{fault.query_code};{side}"
        body = {"__type": f"com.amazonaws.cloudwatch#{fault.type}", "message": err.message}
        if self is Wire.JSON:
            return Response(_json(body), fault.status, headers, JSON_10)
        headers["smithy-protocol"] = "rpc-v2-cbor"
        return Response(cbor2.dumps(body), fault.status, headers, "application/cbor")


def inflated(request: Request, body: bytes) -> bytes:
    """The body, gunzipped when ``Content-Encoding: gzip`` (botocore compresses PutMetricData bodies
    over 10 KB, its model's ``requestcompression``), at most ``MAX_INFLATED`` bytes."""
    encodings = [
        e.strip().lower() for e in request.headers.get("content-encoding", "").split(",") if e.strip()
    ]
    if not encodings or encodings == ["identity"]:
        return body
    if encodings != ["gzip"]:
        raise SerializationException(
            f"Content-Encoding {','.join(encodings)[:64]!r} is not supported; use gzip"
        )
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_INFLATED + 1)
    except zlib.error as exc:
        raise SerializationException(f"request body is not valid gzip: {exc}") from None
    if len(out) > MAX_INFLATED or inflater.unconsumed_tail:
        raise SerializationException(f"request body inflates to more than {MAX_INFLATED} bytes")
    if not inflater.eof:
        raise SerializationException("request body is truncated gzip")
    return out


def wire_of(request: Request) -> Wire:
    if request.url.path.startswith(CBOR_PATH) or request.headers.get("smithy-protocol") == "rpc-v2-cbor":
        return Wire.CBOR
    if request.headers.get("x-amz-target", "").startswith(model.TARGET_PREFIX + "."):
        return Wire.JSON
    return Wire.QUERY


def speaks(request: Request) -> bool:
    """Whether ``request`` was signed for CloudWatch (so its errors, even authentication's, are
    rendered in CloudWatch's protocol)."""
    scope = request.headers.get("authorization") or request.query_params.get("X-Amz-Credential", "")
    return "/monitoring/aws4_request" in scope


def _json(value: Any) -> bytes:
    return msgspec.json.encode(value)


def _json_body(request: Request, body: bytes) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in JSON_TYPES:
        raise SerializationException(
            f"Content-Type must be {JSON_10}, got {content_type[:64] or 'nothing'!r}"
        )
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise SerializationException(f"request body is not valid JSON in UTF-8: {exc}") from None


def _cbor_body(body: bytes) -> Any:
    if not body:
        return {}
    try:
        return cbor2.loads(body)
    except (cbor2.CBORDecodeError, ValueError, RecursionError) as exc:
        raise SerializationException(f"request body is not valid CBOR: {exc}") from None


def _form(request: Request, body: bytes) -> list[tuple[str, str]]:
    text = request.url.query if request.method == "GET" or not body else ""
    try:
        text = text or body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, max_num_fields=100_000)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SerializationException(f"request body is not a form in UTF-8: {exc}") from None
