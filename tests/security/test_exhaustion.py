"""Bounded versions of issue 13's exhaustion attacks, on a server of this module's own with short
timeouts and small limits: unauthenticated requests declaring large bodies (answered from their headers,
never read: defect 3), slowloris headers, idle sockets and idle kept-alive connections (cut off by the
header and keep-alive timeouts: defect 6), all while /health keeps answering GET and HEAD (defect 7);
and one account's multipart uploads filling its own quota, never another's (defect 4)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from botocore.auth import SIGV4_TIMESTAMP
from botocore.exceptions import ClientError

from tests.support.protocol import TARGET
from tests.support.server import Credentials, Server, make_server
from tests.support.tally import Tally
from tests.support.wire import Wire, count_server

MIB = 1024 * 1024
TIMEOUT = 1.0  # header and keep-alive timeouts of this module's server
LATE = 4.0  # how late a close may come on a busy two-core machine
SHORT = {
    "OPENTRAIL_HEADER_TIMEOUT": "1",
    "OPENTRAIL_KEEP_ALIVE_TIMEOUT": "1",
    "OPENTRAIL_BODY_TIMEOUT": "2",
    "OPENTRAIL_MAX_CONNECTIONS": "300",
    "OPENTRAIL_MAX_BODY_BYTES": str(4 * MIB),
    "OPENTRAIL_MULTIPART_QUOTA_BYTES": str(MIB),
}
T = TypeVar("T")


@pytest.fixture(scope="module")
def server(tally: Tally) -> Iterator[Server]:
    for running in make_server(SHORT):
        yield running
        count_server(tally, running)


@pytest.fixture(scope="module")
def wire(server: Server, tally: Tally) -> Iterator[Wire]:
    sender = Wire(server, tally)
    yield sender
    sender.close()


@dataclass
class Closed:
    """How a connection ended: the status the server answered (None: closed without one), its
    Connection header, and when (seconds after the attack began)."""

    status: int | None
    connection: str
    after: float


async def answer_of(reader: asyncio.StreamReader, started: float) -> Closed:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT + LATE + 2)
    except (asyncio.IncompleteReadError, ConnectionError):
        return Closed(None, "", time.monotonic() - started)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Closed(int(lines[0].split()[1]), headers.get("connection", ""), time.monotonic() - started)


async def send_head(server: Server, head: bytes, started: float, drip: float = 0.0) -> Closed:
    """Write ``head`` (a byte every ``drip`` seconds, if given) and wait for the server's answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    answer = asyncio.ensure_future(answer_of(reader, started))
    try:
        if drip:
            for byte in head:
                if answer.done() or writer.is_closing():
                    break
                writer.write(bytes([byte]))
                await asyncio.wait([answer], timeout=drip)
        else:
            writer.write(head)
        return await answer
    except ConnectionError:
        return Closed(None, "", time.monotonic() - started)
    finally:
        writer.close()


async def probe(server: Server, wire: Wire, until: asyncio.Event) -> list[float]:
    """GET and HEAD /health in turn every 50 ms until ``until``; their latencies."""
    latencies = []
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        while not until.is_set():
            method = "HEAD" if len(latencies) % 2 else "GET"
            begun = time.monotonic()
            response = await client.request(method, server.endpoint + "/health")
            wire.count("/health", response.status_code)
            assert response.status_code == 200
            latencies.append(time.monotonic() - begun)
            await asyncio.sleep(0.05)
    return latencies


def under_probe(server: Server, wire: Wire, attack: Awaitable[T]) -> tuple[T, list[float]]:
    """Run ``attack`` while /health is probed; its result and the probes' latencies."""

    async def both() -> tuple[T, list[float]]:
        done = asyncio.Event()
        probes = asyncio.create_task(probe(server, wire, done))
        try:
            result = await attack
        finally:
            done.set()
        return result, await probes

    return asyncio.run(both())


def head_of(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def refused_heads(key: str) -> list[tuple[bytes, int]]:
    """Requests declaring the largest body their route allows (1 MB less a byte for the JSON API), and
    refused by their headers alone: (head, status)."""
    now = datetime.now(UTC)
    stamp, day = now.strftime(SIGV4_TIMESTAMP), now.strftime("%Y%m%d")

    def authorization(service: str, key_id: str = "AKIANOSUCHKEY0000000") -> str:
        scope = f"{key_id}/{day}/us-east-1/{service}/aws4_request"
        signed = "host;x-amz-content-sha256;x-amz-date"
        return f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={signed}, Signature={'0' * 64}"

    # The payload hash named in the headers lets even a known key's wrong signature be checked first.
    dated = {"X-Amz-Date": stamp, "X-Amz-Content-Sha256": "0" * 64}
    json_call = {
        "X-Amz-Target": TARGET + "DescribeTrails",
        "Content-Type": "application/x-amz-json-1.1",
        "Content-Length": str(1024 * 1024 - 1),
        **dated,
    }
    large = {"Content-Length": str(4 * MIB), **dated}
    return [
        (head_of("POST", "/", {**json_call, "Authorization": "AWS4-HMAC-SHA256 garbage"}), 403),
        (head_of("POST", "/", {**json_call, "Authorization": authorization("cloudtrail")}), 403),
        (head_of("POST", "/", {**json_call, "Authorization": authorization("cloudtrail", key)}), 403),
        (
            head_of("POST", "/IngestRecords", {**large, "Authorization": authorization("cloudtrail-data")}),
            403,
        ),
        (head_of("PUT", "/some-bucket/some-key", {**large, "Authorization": authorization("s3")}), 403),
        (head_of("PUT", "/some-bucket/some-key", {**large, "Authorization": authorization("s3", key)}), 403),
        (head_of("POST", "/IngestRecords", large), 403),
    ]


@pytest.fixture(scope="module")
def attacker(server: Server) -> Credentials:
    return server.new_account("attacker")


def test_unauthenticated_large_bodies_are_answered_from_their_headers(
    server: Server, wire: Wire, attacker: Credentials
) -> None:
    """Defect 3: 42 connections declare bodies as large as allowed and never send them, signed with
    garbage, an unknown key or a wrong signature: each is refused at once and its connection closed,
    body unread."""
    heads = refused_heads(attacker.access_key_id) * 6
    started = time.monotonic()

    async def attack() -> list[Closed]:
        return list(await asyncio.gather(*(send_head(server, head, started) for head, _ in heads)))

    closed, latencies = under_probe(server, wire, attack())
    for (_, status), end in zip(heads, closed, strict=True):
        wire.count("refused-before-body", end.status)
        assert (end.status, end.connection) == (status, "close"), end
        assert end.after < 2.0, end
    assert latencies
    assert max(latencies) < 1.0, sorted(latencies)[-3:]


def test_a_slowloris_is_cut_off_while_health_answers(server: Server, wire: Wire) -> None:
    """Defect 6: 30 clients send their headers a byte every 0.1 s; each gets 408 once the header
    timeout passes, and GET and HEAD /health are answered all along."""
    head = head_of("GET", "/health", {"X-Padding": "x" * 500})[:-2]
    started = time.monotonic()

    async def attack() -> list[Closed]:
        return list(await asyncio.gather(*(send_head(server, head, started, drip=0.1) for _ in range(30))))

    closed, latencies = under_probe(server, wire, attack())
    for end in closed:
        wire.count("slowloris", end.status)
        assert end.status == 408, end
        assert TIMEOUT * 0.9 <= end.after <= TIMEOUT + LATE, end
    assert latencies
    assert max(latencies) < 1.0, sorted(latencies)[-3:]


def test_idle_sockets_are_closed_while_health_answers(server: Server, wire: Wire) -> None:
    started = time.monotonic()

    async def attack() -> list[Closed]:
        return list(await asyncio.gather(*(send_head(server, b"", started) for _ in range(60))))

    closed, latencies = under_probe(server, wire, attack())
    for end in closed:
        wire.count("idle-socket", end.status)
        assert end.status is None, end
        assert TIMEOUT * 0.9 <= end.after <= TIMEOUT + LATE, end
    assert latencies


def test_an_idle_kept_alive_connection_is_closed(server: Server, wire: Wire) -> None:
    async def attack() -> Closed:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            writer.write(head_of("GET", "/health", {}))
            first = await answer_of(reader, time.monotonic())
            await reader.readexactly(15)  # {"status":"ok"}
            wire.count("keep-alive", first.status)
            answered = time.monotonic()
            closed = await asyncio.wait_for(reader.read(), TIMEOUT + LATE)
            return Closed(None if not closed else -1, "", time.monotonic() - answered)
        finally:
            writer.close()

    end, _ = under_probe(server, wire, attack())
    assert end.status is None
    assert TIMEOUT * 0.9 <= end.after <= TIMEOUT + LATE, end


def test_one_accounts_uploads_fill_its_own_quota_only(
    server: Server, wire: Wire, attacker: Credentials
) -> None:
    """Defect 4: parts wait under a quota per account (1 MiB here): the attacker's abandoned parts are
    refused past it (EntityTooLarge) while another account's upload goes on."""
    other = server.new_account("bystander")
    hog, bystander = wire.boto("s3", attacker), wire.boto("s3", other)
    for client, bucket in ((hog, "hog-bucket"), (bystander, "bystander-bucket")):
        client.create_bucket(Bucket=bucket)
    upload = hog.create_multipart_upload(Bucket="hog-bucket", Key="hoard")["UploadId"]
    part = b"h" * (256 * 1024)
    refusal: dict[str, Any] = {}
    for number in range(1, 7):
        try:
            hog.upload_part(Bucket="hog-bucket", Key="hoard", UploadId=upload, PartNumber=number, Body=part)
        except ClientError as exc:
            refusal = exc.response  # type: ignore[assignment]
            break
    try:
        assert refusal, "6 parts of 256 KiB passed a quota of 1 MiB"
        assert (refusal["Error"]["Code"], refusal["ResponseMetadata"]["HTTPStatusCode"]) == (
            "EntityTooLarge",
            400,
        )
        theirs = bystander.create_multipart_upload(Bucket="bystander-bucket", Key="own")["UploadId"]
        done = bystander.upload_part(
            Bucket="bystander-bucket", Key="own", UploadId=theirs, PartNumber=1, Body=part
        )
        assert done["ETag"]
    finally:
        hog.abort_multipart_upload(Bucket="hog-bucket", Key="hoard", UploadId=upload)
