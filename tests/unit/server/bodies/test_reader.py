"""Reading bodies (``server/bodies/reader.py``): the declared length refused before a byte is read, the
budget of bytes in flight reserved before reading (or as pieces arrive when no length is declared) and
given back when the payload is closed, S3 bodies past the threshold streamed to a spool file that is
removed afterwards, the hash of the bytes as sent, aws-chunked bodies decoded on the way."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from opentrail.errors import RequestEntityTooLarge, S3Error, ServiceError
from opentrail.server.bodies.budget import Budget
from opentrail.server.bodies.reader import Bodies, Plan, leaves_costly_body
from opentrail.server.payload import Payload
from opentrail.server.s3.chunked import AwsChunked
from tests.support.asgi import starlette_request
from tests.support.aws_chunked import unsigned_chunks


def streamed(pieces: Iterable[bytes], declared: int | None = None, **headers: str) -> Request:
    """A request whose body arrives in ``pieces``, with Content-Length ``declared`` (None: chunked)."""
    if declared is not None:
        headers["content-length"] = str(declared)
    else:
        headers["transfer-encoding"] = "chunked"
    request = starlette_request("PUT", "/b/k", headers=headers)
    queue = list(pieces)
    received: list[int] = []

    async def receive() -> dict[str, Any]:
        piece = queue.pop(0) if queue else b""
        received.append(len(piece))
        return {"type": "http.request", "body": piece, "more_body": bool(queue)}

    request = Request(request.scope, receive)
    request.state.received = received
    return request


def bodies(tmp_path: Path, limit: int = 1 << 20, threshold: int = 1000) -> Bodies:
    return Bodies(tmp_path / "tmp" / "bodies", Budget(limit), threshold)


def read(reader: Bodies, request: Request, plan: Plan, s3: bool = False) -> tuple[Payload, str | None]:
    return asyncio.run(reader.read(request, plan, s3))


def test_a_small_body_is_held_in_memory_under_the_budget_until_closed(tmp_path: Path) -> None:
    reader = bodies(tmp_path)
    data = b"x" * 500
    payload, digest = read(reader, streamed([data[:200], data[200:]], 500), Plan(10_000, spool=True), s3=True)
    assert (payload.path, payload.read(), digest) == (None, data, hashlib.sha256(data).hexdigest())
    assert reader.budget.held == 500
    payload.close()
    assert reader.budget.held == 0


def test_the_declared_length_is_reserved_before_the_first_byte(tmp_path: Path) -> None:
    reader = bodies(tmp_path, limit=1000)
    assert reader.budget.reserve(600)
    request = streamed([b"x" * 500], 500)
    with pytest.raises(ServiceError, match="OPENTRAIL_MAX_INFLIGHT_BODY_BYTES"):
        read(reader, request, Plan(10_000))
    assert request.state.received == []  # refused before a byte was read
    assert reader.budget.held == 600
    with pytest.raises(S3Error) as caught:
        read(reader, streamed([b"x" * 500], 500), Plan(10_000), s3=True)
    assert (caught.value.s3_code, caught.value.s3_status) == ("SlowDown", 503)
    assert caught.value.message == "Please reduce your request rate."


def test_a_body_of_unknown_length_reserves_as_it_arrives(tmp_path: Path) -> None:
    reader = bodies(tmp_path, limit=1000)
    with pytest.raises(ServiceError):
        read(reader, streamed([b"x" * 400] * 3), Plan(10_000))
    assert reader.budget.held == 0  # what it had reserved is given back
    payload, _ = read(reader, streamed([b"x" * 400] * 2), Plan(10_000))
    assert reader.budget.held == 800
    payload.close()


def test_the_limit(tmp_path: Path) -> None:
    reader = bodies(tmp_path)
    request = streamed([b"x"], 101)
    with pytest.raises(RequestEntityTooLarge, match="request body is 101 bytes; the limit is 100 bytes"):
        read(reader, request, Plan(100))
    assert request.state.received == []
    with pytest.raises(RequestEntityTooLarge, match="exceeds the limit of 100 bytes"):
        read(reader, streamed([b"x" * 60] * 2), Plan(100))
    assert reader.budget.held == 0


@pytest.mark.parametrize("declared", [True, False])
def test_a_large_s3_body_is_spooled_and_its_file_removed(tmp_path: Path, declared: bool) -> None:
    reader = bodies(tmp_path, limit=300_000)
    data = bytes(range(256)) * 4000  # 1 MB, more than the budget: it never sits in memory whole
    pieces = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    request = streamed(pieces, len(data) if declared else None)
    payload, digest = read(reader, request, Plan(2 << 20, spool=True), s3=True)
    assert payload.path is not None
    assert payload.path.parent == tmp_path / "tmp" / "bodies"
    assert payload.path.name.startswith("body-")
    assert (payload.read(), digest) == (data, hashlib.sha256(data).hexdigest())
    assert reader.budget.held == 0
    payload.close()
    assert list((tmp_path / "tmp" / "bodies").iterdir()) == []


def test_a_request_without_a_body_makes_no_spool_file(tmp_path: Path) -> None:
    """Every S3 GET and HEAD: no Content-Length, no chunked transfer, so no body and no file."""
    reader = bodies(tmp_path, threshold=0)
    request = Request(starlette_request("GET", "/b/k").scope, streamed([b""]).receive)
    payload, _ = read(reader, request, Plan(100, spool=True), s3=True)
    assert (payload.path, payload.read()) == (None, b"")
    assert list((tmp_path / "tmp" / "bodies").iterdir()) == []


def test_a_spooled_body_that_fails_leaves_no_file(tmp_path: Path) -> None:
    reader = bodies(tmp_path)
    with pytest.raises(RequestEntityTooLarge):
        read(reader, streamed([b"x" * 65536] * 4), Plan(200_000, spool=True), s3=True)
    assert list((tmp_path / "tmp" / "bodies").iterdir()) == []
    assert reader.budget.held == 0


@pytest.mark.parametrize("size", [100, 300_000])
def test_an_aws_chunked_body_is_decoded_as_it_arrives(tmp_path: Path, size: int) -> None:
    reader = bodies(tmp_path)
    data = b"d" * size
    body = unsigned_chunks(data, chunk_size=8192)
    pieces = [body[i : i + 5000] for i in range(0, len(body), 5000)]
    plan = Plan(1 << 20, spool=True, hash_raw=False, decoder=AwsChunked(decoded_length=size))
    payload, digest = read(reader, streamed(pieces, len(body)), plan, s3=True)
    with payload:
        assert (payload.read(), digest) == (data, None)
        assert (payload.path is None) == (size < 1000)


def test_an_unread_large_body_closes_the_connection() -> None:
    assert leaves_costly_body(starlette_request("PUT", "/", headers={"content-length": str(10 << 20)}))
    assert leaves_costly_body(starlette_request("PUT", "/", headers={"transfer-encoding": "chunked"}))
    assert leaves_costly_body(starlette_request("PUT", "/", headers={"expect": "100-continue"}))
    assert not leaves_costly_body(starlette_request("PUT", "/", headers={"content-length": "100"}))
    assert not leaves_costly_body(starlette_request("GET", "/"))
    read_already = starlette_request("PUT", "/", headers={"content-length": str(10 << 20)})
    read_already.state.body_read = True
    assert not leaves_costly_body(read_already)
