"""Routing at the edge: a request names no operation, an unknown one, one of another service, or a
service not served, or uses another HTTP method, and gets CloudTrail's error shape."""

from __future__ import annotations

import httpx
import pytest

from tests.support.protocol import JSON_11, check_error, cloudtrail_headers, signed_post, unserved_operation
from tests.support.server import Credentials, Server


def test_unknown_operation(server: Server, creds: Credentials) -> None:
    response = signed_post(server, creds, b"{}", cloudtrail_headers("NoSuchOperation"))
    check_error(response, 400, "UnknownOperationException", "X-Amz-Target", "NoSuchOperation")


def test_operation_of_the_model_that_is_not_served(server: Server, creds: Credentials) -> None:
    operation = unserved_operation()
    response = signed_post(server, creds, b"{}", cloudtrail_headers(operation))
    check_error(response, 400, "UnknownOperationException", operation)


def test_target_of_another_service(server: Server, creds: Credentials) -> None:
    headers = {"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": JSON_11}
    response = signed_post(server, creds, b"{}", headers)
    check_error(response, 400, "UnknownOperationException", "AmazonSQS.ListQueues")


def test_missing_target(server: Server, creds: Credentials) -> None:
    response = signed_post(server, creds, b"{}", {"Content-Type": JSON_11})
    check_error(response, 400, "UnknownOperationException", "X-Amz-Target")


@pytest.mark.parametrize(("service", "path"), [("sqs", "/"), ("cloudtrail-data", "/"), ("kinesis", "/x")])
def test_service_not_served(server: Server, creds: Credentials, service: str, path: str) -> None:
    response = signed_post(
        server, creds, b"{}", cloudtrail_headers("DescribeTrails"), service=service, path=path
    )
    check_error(response, 400, "UnknownOperationException", repr(service), path)


@pytest.mark.parametrize("method", ["PATCH", "OPTIONS"])
def test_any_method_gets_the_error_shape(server: Server, method: str) -> None:
    with httpx.Client(timeout=30) as http:
        response = http.request(method, server.endpoint + "/")
    assert response.status_code < 500
    assert response.headers.get("x-amzn-RequestId")
    assert "__type" in response.json()
