"""CloudWatch's wire, request by request (signed as botocore signs, sent with httpx): an unknown
operation, a body that does not decode, and a refused signature each get the protocol's own error
shape, never a 500; every call is audited with eventSource monitoring.amazonaws.com."""

from __future__ import annotations

import gzip
import json
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import cbor2
import httpx
import pytest

from tests.support.audit import recorded
from tests.support.server import Credentials, Server
from tests.support.signing import sign

NS = "{http://monitoring.amazonaws.com/doc/2010-08-01/}"
CBOR_PATH = "/service/GraniteServiceVersion20100801/operation/"


def post(
    server: Server,
    creds: Credentials,
    path: str,
    headers: dict[str, str],
    body: bytes,
    secret: str | None = None,
) -> httpx.Response:
    url = server.endpoint + path
    signed = sign(url, "POST", headers, body, creds, service="monitoring", secret=secret)
    return httpx.post(url, headers=signed, content=body)


def query(server: Server, creds: Credentials, form: str, secret: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    return post(server, creds, "/", headers, form.encode(), secret)


def json10(server: Server, creds: Credentials, operation: str, body: bytes) -> httpx.Response:
    headers = {
        "X-Amz-Target": f"GraniteServiceVersion20100801.{operation}",
        "Content-Type": "application/x-amz-json-1.0",
    }
    return post(server, creds, "/", headers, body)


def cbor(server: Server, creds: Credentials, operation: str, body: bytes) -> httpx.Response:
    headers = {
        "smithy-protocol": "rpc-v2-cbor",
        "Content-Type": "application/cbor",
        "Accept": "application/cbor",
    }
    return post(server, creds, CBOR_PATH + operation, headers, body)


def xml_error(answer: httpx.Response) -> tuple[str, str]:
    root = ET.fromstring(answer.content)  # noqa: S314 - the server under test's own answer
    assert root.tag == f"{NS}ErrorResponse"
    return root.findtext(f"{NS}Error/{NS}Type") or "", root.findtext(f"{NS}Error/{NS}Code") or ""


def test_unknown_operations_in_each_protocol(server: Server, creds: Credentials) -> None:
    answer = query(server, creds, "Action=MakeCoffee&Version=2010-08-01")
    assert answer.status_code == 400
    assert xml_error(answer) == ("Sender", "InvalidAction")
    answer = json10(server, creds, "MakeCoffee", b"{}")
    assert answer.status_code == 400
    assert answer.json()["__type"].endswith("#UnknownOperationException")
    answer = cbor(server, creds, "MakeCoffee", cbor2.dumps({}))
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/cbor"
    assert cbor2.loads(answer.content)["__type"].endswith("#UnknownOperationException")


@pytest.mark.parametrize(
    "send",
    [
        lambda s, c: json10(s, c, "ListMetrics", b"{not json"),
        lambda s, c: json10(s, c, "ListMetrics", b'{"Namespace": 5}'),
        lambda s, c: json10(s, c, "ListMetrics", b"[1, 2]"),
        lambda s, c: cbor(s, c, "ListMetrics", b"\xff\x00garbage"),
        lambda s, c: cbor(s, c, "ListMetrics", cbor2.dumps({"Dimensions": "not a list"})),
    ],
)
def test_malformed_json_and_cbor_bodies_are_serialization_errors(
    server: Server, creds: Credentials, send: Any
) -> None:
    answer = send(server, creds)
    assert answer.status_code == 400
    body = answer.json() if "json" in answer.headers["content-type"] else cbor2.loads(answer.content)
    assert body["__type"].endswith("#SerializationException")
    assert body["message"]


@pytest.mark.parametrize(
    ("form", "code"),
    [
        (
            "Action=GetMetricStatistics&Version=2010-08-01&Namespace=N&MetricName=m&Period=sixty",
            "InvalidParameterValue",
        ),
        ("Action=ListMetrics&Version=2010-08-01&Dimensions.member.x.Name=a", "InvalidParameterValue"),
        ("Action=PutMetricData&Version=2010-08-01&MetricData.member.1.Value=1", "MissingParameter"),
        (
            "Action=PutMetricData&Version=2010-08-01&Namespace=N&MetricData.member.1.MetricName=m"
            "&MetricData.member.1.Value=1&MetricData.member.1.Timestamp=yesterday",
            "InvalidParameterValue",
        ),
    ],
)
def test_query_parameters_of_the_wrong_type_are_refused(
    server: Server, creds: Credentials, form: str, code: str
) -> None:
    answer = query(server, creds, form)
    assert answer.status_code == 400
    assert xml_error(answer) == ("Sender", code)


def test_a_refused_signature_is_answered_in_the_callers_protocol(server: Server, creds: Credentials) -> None:
    answer = query(server, creds, "Action=ListMetrics&Version=2010-08-01", secret="wrong")  # noqa: S106 - a deliberately wrong secret
    assert answer.status_code == 403
    assert xml_error(answer)[0] == "Sender"
    headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}
    answer = post(server, creds, CBOR_PATH + "ListMetrics", headers, cbor2.dumps({}), secret="wrong")  # noqa: S106 - a deliberately wrong secret
    assert answer.status_code == 403
    assert "__type" in cbor2.loads(answer.content)


def test_a_gzipped_body_that_inflates_too_far_is_refused(server: Server, creds: Credentials) -> None:
    headers = {
        "X-Amz-Target": "GraniteServiceVersion20100801.ListMetrics",
        "Content-Type": "application/x-amz-json-1.0",
        "Content-Encoding": "gzip",
    }
    bomb = gzip.compress(b"{" + b" " * (8 * 1024 * 1024) + b"}")
    answer = post(server, creds, "/", headers, bomb)
    assert answer.status_code == 400
    assert "inflates to more than" in answer.json()["message"]


def test_calls_are_audited_as_cloudwatch_calls(server: Server, creds: Credentials) -> None:
    space = f"Audit/{uuid.uuid4().hex[:8]}"
    put = json10(
        server,
        creds,
        "PutMetricData",
        json.dumps({"Namespace": space, "MetricData": [{"MetricName": "m", "Value": 1.0}]}).encode(),
    )
    assert put.status_code == 200
    listed = query(server, creds, f"Action=ListMetrics&Version=2010-08-01&Namespace={space}")
    assert listed.status_code == 200
    refused = cbor(server, creds, "PutMetricData", cbor2.dumps({"Namespace": "AWS/X", "MetricData": []}))
    assert refused.status_code == 400
    garbled = json10(server, creds, "GetMetricData", b"{garbled")
    assert garbled.status_code == 400
    written = recorded(server, creds, "PutMetricData", put.headers["x-amzn-requestid"])
    assert written is not None
    assert (written["eventSource"], written["readOnly"]) == ("monitoring.amazonaws.com", False)
    assert written["requestParameters"]["namespace"] == space
    read = recorded(server, creds, "ListMetrics", listed.headers["x-amzn-requestid"])
    assert read is not None
    assert (read["eventSource"], read["readOnly"]) == ("monitoring.amazonaws.com", True)
    failed = recorded(server, creds, "PutMetricData", refused.headers["x-amzn-requestid"])
    assert failed is not None
    assert failed["errorCode"] == "InvalidParameterValueException"
    unreadable = recorded(server, creds, "GetMetricData", garbled.headers["x-amzn-requestid"])
    assert unreadable is not None
    assert (unreadable["errorCode"], unreadable["requestParameters"]) == ("SerializationException", None)
