"""Connections: how long a client may take over a request, and how many sockets clients may hold.

uvicorn closes a keep-alive connection left idle after an answer, and nothing else: a client that
connects and sends nothing, sends its headers a byte at a time (slowloris), lets its body stall, or
stops reading its answer keeps its socket, and its request, for ever. ``ServedConnection`` is uvicorn's
httptools protocol with the deadlines it lacks, each a setting:

    waiting for headers  complete within OPENTRAIL_HEADER_TIMEOUT of connecting, or of the first byte
                         after an answer; else 408 if a request had begun, a silent close if not
    reading a body       no stall past OPENTRAIL_BODY_TIMEOUT, and once that long has passed, at least
                         OPENTRAIL_BODY_MIN_RATE bytes/s on average (Apache's mod_reqtimeout); else 408
    writing an answer    a client that reads nothing for OPENTRAIL_BODY_TIMEOUT is cut off
    between requests     closed after OPENTRAIL_KEEP_ALIVE_TIMEOUT idle (uvicorn's own timer)

Headers larger than ``MAX_HEADER_BYTES`` are answered 431: httptools sets no limit of its own. Websockets
are off: a request to upgrade is answered as any other request, without uvicorn's warnings.

``Connections`` caps the sockets open at OPENTRAIL_MAX_CONNECTIONS. Over the cap, the oldest connection
holding no request in progress (idle between requests, or still sending its headers) is closed to make
room, so slow clients cannot lock new ones out; when every connection is busy with a request, the new one
is answered 503. uvicorn's ``limit_concurrency`` is not used: it counts idle sockets too, so a slowloris
filling it would get health probes answered 503.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import resource
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from opentrail.errors import ConfigError
from opentrail.server.metrics import Metrics
from opentrail.settings import Settings

log = logging.getLogger("opentrail.connections")

# Request line and headers together. AWS's own limits are lower (S3 takes 8 KB of headers); nginx
# answers 431 past 32 KB by default.
MAX_HEADER_BYTES = 64 * 1024
# Descriptors the server needs beside its connections: the listening socket, the database and its
# journal, bucket files, the thread pool's open files, stdio.
SPARE_DESCRIPTORS = 256


class Phase(enum.Enum):
    IDLE = "idle"  # between requests: nothing of the next one received yet
    HEADERS = "headers"  # a request begun, its headers not complete
    REQUEST = "request"  # headers complete, until both the body and the answer are


class Connections:
    """The open connections of one server, oldest first: who is let in, who makes room."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        # A dict keeps insertion order: the first connection not busy is the oldest one.
        self._open: dict[ServedConnection, None] = {}
        metrics.count_connections(lambda: len(self._open))

    def admit(self, connection: ServedConnection) -> bool:
        """Count ``connection`` in, making room if the cap is reached; False if every one is busy."""
        if len(self._open) >= self.settings.max_connections:
            idle = next((c for c in self._open if not c.busy), None)
            if idle is None:
                return False
            idle.drop("evicted")
        self._open[connection] = None
        return True

    def forget(self, connection: ServedConnection) -> None:
        self._open.pop(connection, None)

    def dropped(self, connection: ServedConnection, reason: str) -> None:
        self.forget(connection)
        self.metrics.connection_dropped(reason)
        log.debug("closed connection from %s: %s", connection.peer, reason.replace("_", " "))


class ServedConnection(HttpToolsProtocol):
    """uvicorn's httptools protocol, with deadlines on every wait for the client, under a cap."""

    pool: ClassVar[Connections]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.settings = self.pool.settings
        # uvicorn annotates its keep-alive as whole seconds; call_later takes any float.
        self.timeout_keep_alive = self.settings.keep_alive_timeout  # type: ignore[assignment]
        self.phase = Phase.IDLE
        self._reading: asyncio.TimerHandle | None = None  # the header or the body deadline
        self._writing: asyncio.TimerHandle | None = None  # armed while the client reads nothing
        self._head_bytes = 0
        self._body_started = self._last_read = 0.0
        self._body_bytes = 0
        self._body_done = True
        self._paused = False  # reading was paused at the last body check

    @property
    def busy(self) -> bool:
        """A request is in progress: its headers are in, its body or its answer not yet."""
        return self.phase is Phase.REQUEST

    @property
    def peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "unknown"

    # Connection lifetime

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # (uvicorn narrows asyncio's BaseTransport to Transport the same way.)
        super().connection_made(transport)
        if not self.pool.admit(self):
            limit = self.settings.max_connections
            self._close("refused", _answer(self, 503, f"all {limit} connections are busy; retry shortly"))
            return
        self._expect_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.forget(self)
        self._stop_reading_timer()
        self._stop_writing_timer()
        # uvicorn cancels its keep-alive timer on a clean close only: after a reset it would keep this
        # protocol, its request and its headers alive until the timer fired.
        self._unset_keepalive_if_required()
        super().connection_lost(exc)

    def drop(self, reason: str) -> None:
        """Close this connection to make room for a new one."""
        self._close(reason)

    # Reading: parser callbacks, in the order a request arrives

    def data_received(self, data: bytes) -> None:
        if self.busy:
            super().data_received(data)
            return
        if self._reading is None:
            # The first bytes after an answer: the keep-alive wait is over, the header wait begins.
            self._expect_headers()
        room = MAX_HEADER_BYTES - self._head_bytes
        self._head_bytes += len(data)
        if len(data) <= room:
            super().data_received(data)
            return
        # The parser sees no more than the limit until the headers are complete (it buffers a header
        # line whole, without bound); what follows them is the body, fed as usual.
        super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self.busy:  # the headers ended within the limit
            super().data_received(data[room:])
        else:
            message = f"request line and headers exceed {MAX_HEADER_BYTES} bytes"
            self._close("headers_too_large", _answer(self, 431, message))

    def _unsupported_upgrade_warning(self) -> None:
        # uvicorn warns twice per request asking for a websocket, which ``uvicorn_options`` turns off
        # on purpose; the request is answered as any other, and a client must not fill the log.
        log.debug("ignored a request to upgrade the connection from %s", self.peer)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.phase is Phase.IDLE:
            self.phase = Phase.HEADERS

    def on_headers_complete(self) -> None:
        self.phase = Phase.REQUEST
        self._head_bytes = 0
        self._body_done = False
        self._stop_reading_timer()
        now = self.loop.time()
        self._body_started = self._last_read = now
        self._body_bytes = 0
        self._paused = False
        # Armed for every request, and stopped at once by on_message_complete when there is no body.
        self._reading = self.loop.call_at(now + self.settings.body_timeout, self._check_body)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        self._last_read = self.loop.time()
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._stop_reading_timer()
        self._body_done = True
        super().on_message_complete()
        if self.cycle.response_complete:
            # Answered before the body was in (a refusal): the wait for the next request starts now,
            # uvicorn's keep-alive timer having been stopped by the body's bytes.
            self.phase = Phase.IDLE
            self._expect_headers()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # ``cycle`` is the latest request read: once it is in and answered, nothing is in progress (an
        # answer to an earlier, pipelined request leaves this one busy).
        if self._body_done and self.cycle.response_complete:
            self.phase = Phase.IDLE

    # Writing

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._writing is None:
            self._writing = self.loop.call_later(self.settings.body_timeout, self._close, "send_timeout")

    def resume_writing(self) -> None:
        super().resume_writing()
        self._stop_writing_timer()

    # Deadlines

    def _expect_headers(self) -> None:
        self._stop_reading_timer()
        self._head_bytes = 0
        self._reading = self.loop.call_later(self.settings.header_timeout, self._headers_timed_out)

    def _headers_timed_out(self) -> None:
        self._reading = None
        if self.phase is Phase.HEADERS:
            message = f"request headers not complete within {self.settings.header_timeout:g} s"
            self._close("header_timeout", _answer(self, 408, message))
        else:
            self._close("header_timeout")

    def _check_body(self) -> None:
        """The body deadline, checked when it may have passed and moved on by what arrived since."""
        self._reading = None
        now = self.loop.time()
        timeout, rate = self.settings.body_timeout, self.settings.body_min_rate
        if self.flow.read_paused or self._paused:
            # The server stopped reading since the last check (the app is behind, or this request
            # waits behind another): nothing the client can be blamed for. Its clock starts again
            # from the first check after reading resumed.
            self._paused = self.flow.read_paused
            self._body_started = self._last_read = now
            self._body_bytes = 0
        stalled = now - self._last_read >= timeout
        allowed = timeout + self._body_bytes / rate if rate else float("inf")
        if stalled or now - self._body_started >= allowed:
            why = f"stalled for {timeout:g} s" if stalled else f"arrived slower than {rate} bytes/s"
            answered = self.cycle is not None and self.cycle.response_started
            self._close("body_timeout", b"" if answered else _answer(self, 408, f"request body {why}"))
            return
        self._reading = self.loop.call_at(
            min(self._last_read + timeout, self._body_started + allowed), self._check_body
        )

    def _close(self, reason: str, answer: bytes = b"") -> None:
        self.pool.dropped(self, reason)
        self._stop_reading_timer()
        self._stop_writing_timer()
        if self.transport.is_closing():
            return
        if answer:
            self.transport.write(answer)
        if self.transport.get_write_buffer_size():
            # The client is not reading: a graceful close would wait on it for ever.
            self.transport.abort()
        else:
            self.transport.close()

    def _stop_reading_timer(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            self._reading = None

    def _stop_writing_timer(self) -> None:
        if self._writing is not None:
            self._writing.cancel()
            self._writing = None


def _answer(connection: ServedConnection, status: int, message: str) -> bytes:
    """A plain-text answer that closes the connection, written below the app (which never saw the
    request), with the server's default headers as uvicorn writes its own 400."""
    reasons = {408: "Request Timeout", 431: "Request Header Fields Too Large", 503: "Service Unavailable"}
    body = message.encode()
    lines = [f"HTTP/1.1 {status} {reasons[status]}".encode()]
    lines += [name + b": " + value for name, value in connection.server_state.default_headers]
    lines += [
        b"content-type: text/plain; charset=utf-8",
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def protocol(connections: Connections) -> type[ServedConnection]:
    """The protocol class uvicorn builds each connection from, bound to this server's connections."""

    class Bound(ServedConnection):
        pass

    Bound.pool = connections
    return Bound


def uvicorn_options(settings: Settings, metrics: Metrics) -> dict[str, Any]:
    """What ``opentrail serve`` gives uvicorn beside the address: this server's connection protocol
    (counted in ``metrics``), and no websockets (nothing here speaks them, and an upgrade would leave
    the protocol and its deadlines)."""
    return {"http": protocol(Connections(settings, metrics)), "ws": "none"}


def reserve_descriptors(max_connections: int) -> None:
    """Raise the soft limit on open files so ``max_connections`` sockets fit beside the server's own
    files (a soft limit of 1024 is common); past the hard limit, say which setting to lower."""
    needed = max_connections + SPARE_DESCRIPTORS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise ConfigError(
            f"OPENTRAIL_MAX_CONNECTIONS={max_connections} needs {needed} open files, but the hard limit "
            f"is {hard}: lower OPENTRAIL_MAX_CONNECTIONS to {max(hard - SPARE_DESCRIPTORS, 1)} or less, "
            "or raise the limit (ulimit -Hn, LimitNOFILE= in a systemd unit)"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
