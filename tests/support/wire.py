"""The attacker's side of the wire: requests sent to the real server exactly as built (signed, forged, or
raw bytes on a socket), each counted in a ``Tally``, and the answers held to the service's error shapes
(CloudTrail's JSON 1.1 ``__type``, the rest-json ``x-amzn-ErrorType``, S3's XML ``<Code>``)."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Literal

import boto3
import botocore.config
import httpx

from tests.support.connections import requests_by_status, samples
from tests.support.server import Credentials, Server
from tests.support.tally import Tally

Shape = Literal["json", "rest", "xml"]
JSON_11 = "application/x-amz-json-1.1"


@dataclass
class Answer:
    """What came back: the status (None when the server closed the connection without one), the
    headers by lower-case name, and the body."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


def read_answer(sock: socket.socket, head: bool = False) -> Answer:
    """One HTTP answer from ``sock`` (http.client's parser: interim 1xx skipped, Content-Length, chunked
    or to the end of the stream); status None when the server closed the connection without one."""
    response = http.client.HTTPResponse(sock, method="HEAD" if head else "GET")
    try:
        response.begin()
    except (http.client.HTTPException, ConnectionError, TimeoutError):
        return Answer(None)
    headers = {name.lower(): value for name, value in response.getheaders()}
    try:
        body = response.read()
    except http.client.IncompleteRead as partial:
        body = partial.partial
    except (ConnectionError, TimeoutError):
        body = b""
    return Answer(response.status, headers, body)


class Wire:
    """Sends as one client of ``server``; every request and its status go into ``tally``."""

    def __init__(self, server: Server, tally: Tally) -> None:
        self.server = server
        self.tally = tally
        self._clients: dict[tuple[str, str, str], Any] = {}
        # One client (building one costs an SSL context, ~20 ms), with no connection kept between
        # requests: a kept-alive one could be closed under the next request by the server's timeouts.
        self._http = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))

    def send(
        self,
        route: str,
        method: str,
        path: str,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        body: bytes = b"",
        timeout: float = 30.0,
    ) -> Answer:
        """One request over a connection of its own (a kept-alive one could be closed under it)."""
        try:
            response = self._http.request(
                method, self.server.endpoint + path, headers=headers, content=body, timeout=timeout
            )
        except (httpx.RemoteProtocolError, httpx.ReadError):
            # The server dropped the connection without an answer: the caller asserts on status None.
            self.tally.record(route, None)
            return Answer(None)
        self.tally.record(route, response.status_code)
        return Answer(
            response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content
        )

    def close(self) -> None:
        self._http.close()

    def raw(self, route: str, data: bytes, timeout: float = 10.0, head: bool = False) -> Answer:
        """``data`` written as is on a new connection; the answer read back (None if closed unanswered)."""
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=timeout) as sock:
            # The server may answer and close before taking it all: read what it said.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(data)
            answer = read_answer(sock, head)
        self.tally.record(route, answer.status)
        return answer

    def count(self, route: str, status: int | None) -> None:
        """For requests an attack sent on sockets of its own."""
        self.tally.record(route, status)

    def boto(self, service: str, creds: Credentials, region: str = "us-east-1") -> Any:
        """A boto3 client (path-style for S3, no retries) whose every call is counted."""
        key = (service, creds.access_key_id, region)
        if key not in self._clients:
            client = boto3.client(
                service,
                endpoint_url=self.server.endpoint,
                region_name=region,
                aws_access_key_id=creds.access_key_id,
                aws_secret_access_key=creds.secret,
                config=botocore.config.Config(
                    retries={"max_attempts": 1, "mode": "legacy"}, s3={"addressing_style": "path"}
                ),
            )
            client.meta.events.register("after-call", self._after_call)
            self._clients[key] = client
        return self._clients[key]

    def _after_call(self, http_response: Any, model: Any, **_: Any) -> None:
        self.tally.record(f"boto:{model.service_model.service_name}", http_response.status_code)

    def history(
        self, creds: Credentials, event_name: str, region: str = "us-east-1"
    ) -> dict[str, dict[str, Any]]:
        """The account's records of ``event_name`` in ``region``, by requestID (every page)."""
        client = self.boto("cloudtrail", creds, region)
        found: dict[str, dict[str, Any]] = {}
        params: dict[str, Any] = {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": event_name}],
            "MaxResults": 50,
        }
        while True:
            page = client.lookup_events(**params)
            for event in page["Events"]:
                record = json.loads(event["CloudTrailEvent"])
                found[str(record.get("requestID"))] = record
            if "NextToken" not in page:
                return found
            params["NextToken"] = page["NextToken"]

    def recorded(
        self, creds: Credentials, event_name: str, request_ids: list[str], region: str = "us-east-1"
    ) -> dict[str, dict[str, Any]]:
        """The records of these calls, waiting up to 5 s (reads' records are committed in groups)."""
        deadline = time.monotonic() + 5
        while True:
            history = self.history(creds, event_name, region)
            found = {rid: history[rid] for rid in request_ids if rid in history}
            if len(found) == len(request_ids) or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


def _clean(answer: Answer, status: int) -> None:
    assert "Traceback" not in answer.text, answer.text
    assert answer.status == status, (answer.status, answer.headers, answer.text[:500])


def json_error(answer: Answer, status: int, code: str) -> str:
    """CloudTrail's and Organizations' JSON 1.1 error; returns the message."""
    _clean(answer, status)
    assert answer.headers.get("x-amzn-requestid"), answer.headers
    assert answer.headers.get("content-type", "").startswith(JSON_11), answer.headers
    body = answer.json()
    assert set(body) in ({"__type", "message"}, {"__type", "message", "Reason"}), body
    assert body["__type"] == code, body
    return str(body["message"])


def rest_error(answer: Answer, status: int, code: str) -> str:
    """The data plane's rest-json error: the code in x-amzn-ErrorType, the message in the body."""
    _clean(answer, status)
    assert answer.headers.get("x-amzn-requestid"), answer.headers
    assert answer.headers.get("x-amzn-errortype") == code, (answer.headers, answer.text)
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
    return str(answer.json()["message"])


def xml_error(answer: Answer, status: int, code: str) -> ET.Element:
    """S3's XML error document, well-formed (botocore must be able to read it)."""
    _clean(answer, status)
    assert answer.headers.get("x-amz-request-id"), answer.headers
    root = ET.fromstring(answer.body)  # noqa: S314 - the server's own answer
    assert root.tag == "Error", answer.text
    assert root.findtext("Code") == code, answer.text
    assert root.findtext("RequestId"), answer.text
    return root


def error(answer: Answer, shape: Shape, status: int, code: str) -> None:
    """The error in the shape of the service the request named."""
    if shape == "json":
        json_error(answer, status, code)
    elif shape == "rest":
        rest_error(answer, status, code)
    else:
        xml_error(answer, status, code)


def log_size(server: Server) -> int:
    path = server.data_dir / "server.log"
    return path.stat().st_size if path.exists() else 0


def log_since(server: Server, offset: int) -> str:
    with open(server.data_dir / "server.log", "rb") as log:
        log.seek(offset)
        return log.read().decode("utf-8", "replace")


def count_server(tally: Tally, server: Server) -> None:
    """What ``server`` says of itself, into ``tally``: its requests by status (``/metrics``) and the
    tracebacks in its log. Call it before stopping the server."""
    for status, n in requests_by_status(samples(server.endpoint)).items():
        tally.server_statuses[status] += int(n)
    tally.server_tracebacks += log_since(server, 0).count("Traceback")
