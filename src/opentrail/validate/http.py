"""A lean signed HTTP client for ``validate-logs``: SigV4 with ``hmac``/``hashlib``, HTTP/1.1 over
keep-alive sockets driven by one I/O thread.

``validate-logs`` makes one GetObject per file, so per-request overhead is the run: boto3 spends about
5 ms of CPU a call and httpx about 1 ms, and importing botocore and httpx alone takes longer than
validating a day of logs. On bench.validate's day (24 digests, 288 log files), the whole run took a
median 0.30 s with this client and 0.93 s with the same requests through httpx and botocore's signers
(importing those two alone: about 250 ms), in one run of the bench, on the same data.

The signatures are the ones botocore makes (the server checks them with the same rules as AWS): S3
signs the path as sent and the payload hash; other services sign the path encoded once more.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import selectors
import socket
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from opentrail.protocol import CLOUDTRAIL_TARGET_PREFIX, JSON_11_CONTENT_TYPE, ORGANIZATIONS_TARGET_PREFIX

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class TransportError(Exception):
    """The endpoint could not be reached (no HTTP answer at all)."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


class SigV4:
    """Signs requests for one set of credentials and one region; signing keys cached per day."""

    def __init__(self, access_key: str, secret_key: str, token: str | None, region: str) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token
        self.region = region
        self._keys: dict[tuple[str, str], bytes] = {}

    def _key(self, day: str, service: str) -> bytes:
        key = self._keys.get((day, service))
        if key is None:
            key = hmac.new(f"AWS4{self.secret_key}".encode(), day.encode(), hashlib.sha256).digest()
            for part in (self.region, service, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys[day, service] = key
        return key

    def sign(
        self,
        service: str,
        method: str,
        host: str,
        path: str,
        query: list[tuple[str, str]],
        body: bytes,
        extra: dict[str, str],
    ) -> dict[str, str]:
        """The request headers, ``Authorization`` included; ``path`` is already percent-encoded."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        day = stamp[:8]
        headers = {
            "host": host,
            "x-amz-content-sha256": hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256,
            "x-amz-date": stamp,
            **{k.lower(): v for k, v in extra.items()},
        }
        if self.token:
            headers["x-amz-security-token"] = self.token
        names = sorted(headers)
        canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query))
        canonical_path = path if service == "s3" else quote(path, safe="/~")
        canonical = "\n".join(
            [
                method,
                canonical_path,
                canonical_query,
                "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in names),
                ";".join(names),
                headers["x-amz-content-sha256"],
            ]
        )
        scope = f"{day}/{self.region}/{service}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        # hmac.digest: OpenSSL's one-shot HMAC, without building an HMAC object per request.
        signature = hmac.digest(self._key(day, service), to_sign.encode(), "sha256").hex()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        return headers


class _Job:
    __slots__ = ("body", "future", "headers", "method", "retried", "target")

    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.method, self.target, self.headers, self.body = method, target, headers, body
        self.future: Future[Reply] = Future()
        self.retried = False

    def wire(self) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/1.1\r\n"]
        lines += [f"{name}: {value}\r\n" for name, value in self.headers.items()]
        if self.body or self.method == "POST":
            lines.append(f"content-length: {len(self.body)}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1") + self.body


class _Connection:
    """One keep-alive socket with at most one request in flight, and the parser of its replies."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.job: _Job | None = None
        self.served = 0
        self.buffer = bytearray()
        self.head: tuple[int, dict[str, str], int] | None = None  # status, headers, body start

    def start(self, job: _Job) -> None:
        self.job, self.head = job, None
        self.buffer.clear()
        self.sock.sendall(job.wire())

    def feed(self, data: bytes | memoryview) -> Reply | None:
        """The reply once complete; ``data`` empty means the peer closed the connection."""
        buffer = self.buffer
        buffer += data
        if self.head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if not data:
                    raise ConnectionResetError("the connection closed before a reply")
                return None
            lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
            version, status_text = lines[0].split(" ", 2)[:2]
            status = int(status_text)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if version == "HTTP/1.0" and "keep-alive" not in headers.get("connection", "").lower():
                headers["connection"] = "close"  # an HTTP/1.0 server closes after each reply
            self.head = status, headers, end + 4
        status, headers, start = self.head
        if "content-length" in headers:
            end = start + int(headers["content-length"])
            if len(buffer) < end:
                if not data:
                    raise ConnectionResetError("the connection closed inside a reply")
                return None
            return Reply(status, headers, bytes(buffer[start:end]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return _chunked(status, headers, buffer, start, closed=not data)
        # Neither: the body runs to the end of the connection.
        return Reply(status, headers, bytes(buffer[start:])) if not data else None


def _chunked(status: int, headers: dict[str, str], buffer: bytearray, at: int, closed: bool) -> Reply | None:
    body = bytearray()
    while True:
        eol = buffer.find(b"\r\n", at)
        if eol < 0:
            break
        size = int(bytes(buffer[at:eol]).split(b";")[0], 16)
        if size == 0:
            if buffer.find(b"\r\n\r\n", eol) < 0 and buffer[eol : eol + 4] != b"\r\n\r\n":
                break
            return Reply(status, headers, bytes(body))
        if len(buffer) < eol + 2 + size + 2:
            break
        body += buffer[eol + 2 : eol + 2 + size]
        at = eol + 2 + size + 2
    if closed:
        raise ConnectionResetError("the connection closed inside a chunked reply")
    return None


class Engine:
    """HTTP/1.1 to one endpoint from a single I/O thread over up to ``connections`` keep-alive sockets.

    Requests are sent in the order submitted; each reply completes a ``Future`` whose callbacks run on
    the I/O thread. One thread rather than one per connection: every reply a blocked thread waits for
    costs a wake-up, on the server as on the client, and in a virtual machine that costs more than the
    request itself.
    """

    def __init__(self, endpoint_url: str, connections: int = 8, timeout: float = 60.0) -> None:
        parts = urlsplit(endpoint_url)
        self.tls = parts.scheme == "https"
        self.hostname = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.tls else 80)
        default = 443 if self.tls else 80
        self.host = self.hostname if self.port == default else f"{self.hostname}:{self.port}"
        self.base_path = parts.path.rstrip("/")
        self.limit = max(1, connections)
        self.timeout = timeout
        self._queue: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._sleeping = False
        self._closed = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None
        self._selector = selectors.DefaultSelector()
        self._idle: list[_Connection] = []
        self._received = memoryview(bytearray(1 << 18))
        self._busy: set[_Connection] = set()

    def submit(self, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> Future[Reply]:
        job = _Job(method, target, headers, body)
        with self._lock:
            if self._closed:
                raise TransportError("the client is closed")
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="validate-http", daemon=True)
                self._thread.start()
            elif self._sleeping:
                self._sleeping = False
                self._wake_w.send(b"\0")
        return job.future

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._wake_w.send(b"\0")
        if thread is not None:
            thread.join()
        else:
            self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _open(self) -> _Connection:
        # An ASCII host as bytes: getaddrinfo would otherwise import the idna codec for a str.
        host = self.hostname.encode() if self.hostname.isascii() else self.hostname
        # (typeshed allows only str; getaddrinfo, which create_connection calls, takes bytes too)
        sock = socket.create_connection((host, self.port), timeout=self.timeout)  # type: ignore[arg-type]
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            import ssl

            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.hostname)
        return _Connection(sock)

    def _run(self) -> None:
        selector = self._selector
        selector.register(self._wake_r, selectors.EVENT_READ, None)
        busy = self._busy
        try:
            while True:
                with self._lock:
                    if self._closed:
                        return
                    free = min(len(self._queue), self.limit - len(busy))
                    jobs = [self._queue.popleft() for _ in range(free)]
                    # submit() wakes the select below only when there is a connection to start on.
                    self._sleeping = len(busy) + len(jobs) < self.limit
                for job in jobs:
                    self._start(job)
                if not busy and not jobs:
                    ready = selector.select()  # idle: until submit() writes to the wake-up socket
                else:
                    ready = selector.select(self.timeout)
                    if not ready:
                        for conn in list(busy):
                            self._fail(conn, TransportError("timed out"))
                for key, _ in ready:
                    if key.data is None:
                        self._wake_r.recv(4096)
                    else:
                        self._read(key.data)
        finally:
            for conn in [*self._idle, *busy]:
                conn.sock.close()
            closed = [*self._queue, *(conn.job for conn in busy if conn.job is not None)]
            for job in closed:
                job.future.set_exception(TransportError("the client is closed"))
            selector.close()

    def _start(self, job: _Job) -> None:
        conn = self._idle.pop() if self._idle else None
        try:
            if conn is None:
                conn = self._open()
                self._selector.register(conn.sock, selectors.EVENT_READ, conn)
            self._busy.add(conn)
            conn.start(job)
        except OSError as exc:
            if conn is not None:
                conn.job = job
                self._fail(conn, exc)
            else:
                job.future.set_exception(TransportError(str(exc) or type(exc).__name__))

    def _receive(self, sock: socket.socket) -> bytes | memoryview:
        """What the socket has (empty once closed): into one reused buffer, since a fresh buffer of
        this size is mapped and unmapped by malloc for every read."""
        if self.tls:
            data = sock.recv(1 << 18)
            pending = getattr(sock, "pending", None)
            while pending is not None and data and pending():
                data += sock.recv(1 << 18)
            return data
        return self._received[: sock.recv_into(self._received)]

    def _read(self, conn: _Connection) -> None:
        try:
            reply = conn.feed(self._receive(conn.sock))
        except BlockingIOError:  # ssl.SSLWantReadError: half a TLS record so far
            return
        except (OSError, ValueError, IndexError) as exc:
            self._fail(conn, exc)
            return
        if reply is None or conn.job is None:
            return
        job, conn.job = conn.job, None
        conn.served += 1
        self._busy.discard(conn)
        if "close" in reply.headers.get("connection", "").lower():
            self._selector.unregister(conn.sock)
            conn.sock.close()
        else:
            self._idle.append(conn)
        job.future.set_result(reply)

    def _fail(self, conn: _Connection, exc: Exception) -> None:
        self._busy.discard(conn)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        conn.sock.close()
        job, conn.job = conn.job, None
        if job is None:
            return
        if conn.served and not job.retried:
            # A kept-alive connection the server closed meanwhile: send again, once, on a new one.
            job.retried = True
            with self._lock:
                self._queue.appendleft(job)
            return
        job.future.set_exception(TransportError(str(exc) or type(exc).__name__))


class SocketClient:
    """CloudTrail and Organizations JSON 1.1 calls and S3 GETs against one endpoint, signed with
    ``SigV4`` and sent by an ``Engine``: the validator's counterpart of ``client.remote.Client``."""

    def __init__(self, endpoint_url: str, signer: SigV4, connections: int = 8, timeout: float = 60.0) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.signer = signer
        self.engine = Engine(endpoint_url, connections, timeout)

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> SocketClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def submit(
        self,
        service: str,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        extra: dict[str, str] | None = None,
    ) -> Future[Reply]:
        """``path`` percent-encoded, without the endpoint's own path; the future fails with
        ``TransportError`` when the endpoint cannot be reached."""
        engine = self.engine
        full = engine.base_path + path
        query = query or []
        headers = self.signer.sign(service, method, engine.host, full, query, body, extra or {})
        target = full + ("?" + "&".join(f"{_encode(k)}={_encode(v)}" for k, v in query) if query else "")
        return engine.submit(method, target, headers, body)

    def s3_get(self, bucket: str, key: str = "", query: list[tuple[str, str]] | None = None) -> Future[Reply]:
        path = f"/{quote(bucket, safe='')}" + (f"/{quote(key, safe='/~')}" if key else "")
        return self.submit("s3", "GET", path, query)

    def cloudtrail(self, operation: str, params: dict[str, Any]) -> Reply:
        return self._json("cloudtrail", CLOUDTRAIL_TARGET_PREFIX + operation, params)

    def organizations(self, operation: str, params: dict[str, Any]) -> Reply:
        return self._json("organizations", ORGANIZATIONS_TARGET_PREFIX + operation, params)

    def _json(self, service: str, target: str, params: dict[str, Any]) -> Reply:
        headers = {"Content-Type": JSON_11_CONTENT_TYPE, "X-Amz-Target": target}
        return self.submit(service, "POST", "/", body=json.dumps(params).encode(), extra=headers).result()


def json_error(reply: Reply) -> tuple[str, str]:
    """Code and message of a JSON 1.1 error reply (the header's type, else the body's)."""
    code = reply.headers.get("x-amzn-errortype", "")
    message = reply.body.decode(errors="replace")
    try:
        payload = json.loads(reply.body)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        code = code or str(payload.get("__type", ""))
        message = str(payload.get("message") or payload.get("Message") or message)
    return code or str(reply.status), message
