"""HTTP requests as Starlette receives them, for in-process tests of the edge and the S3 subset: built
from parts, or from a request botocore prepared and signed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSRequest
from starlette.requests import Request
from starlette.types import ASGIApp, Message


def starlette_request(
    method: str,
    raw_path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    client: str = "192.0.2.9",
) -> Request:
    """``raw_path`` as sent on the wire (percent-encoded); header names as given, sent in lower case."""
    scope = {
        "type": "http",
        "method": method,
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": (client, 50000),
        "server": ("127.0.0.1", 8790),
        "scheme": "http",
        "root_path": "",
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


def from_botocore(request: AWSRequest) -> Request:
    """A request botocore prepared (and signed) as the server receives it, with the Host header the
    HTTP client adds."""
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    headers = dict(prepared.headers.items())
    headers.setdefault("host", url.netloc)
    return starlette_request(
        prepared.method,
        url.path,
        query=url.query,
        headers=headers,
        body=body.encode() if isinstance(body, str) else body,
    )


async def answer(app: ASGIApp, request: Request) -> tuple[int, dict[str, str], bytes]:
    """What ``app`` answers ``request``: its status, headers (lower-case names) and body."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await app(request.scope, request.receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body
