"""A tiny HTTP server on loopback that answers what a test tells it to and keeps every request it got: for
the in-process tests of the clients (``client/remote.py``, ``validate/command.py``), to see what they send
and how they read answers the real server never gives (an HTML page, a header-only error code)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Sent:
    """One request as the stub received it; header names in lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def target(self) -> str:
        """The operation a JSON 1.1 request names (``X-Amz-Target``), else its path."""
        return self.headers.get("x-amz-target", self.path)

    @property
    def scope(self) -> list[str]:
        """The SigV4 credential scope: access key id, date, region, service, ``aws4_request``."""
        credential = self.headers["authorization"].split("Credential=", 1)[1].split(",", 1)[0]
        return credential.split("/")


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/x-amz-json-1.1"})


@dataclass
class Stub:
    """Answers each request by its target (``answers``; ``{}`` when none is set) and records it."""

    url: str
    requests: list[Sent] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)

    def answer(
        self, target: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.answers[target] = Answer(
            status, body, {"Content-Type": "application/x-amz-json-1.1"} | (headers or {})
        )

    def targets(self) -> list[str]:
        return [sent.target for sent in self.requests]


def serve_stub() -> Iterator[Stub]:
    """A ``Stub`` listening on a free loopback port until the generator is closed."""
    stub: Stub | None = None

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            assert stub is not None
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            sent = Sent(self.command, self.path, headers, body)
            stub.requests.append(sent)
            answer = stub.answers.get(sent.target, Answer())
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub = Stub(f"http://127.0.0.1:{server.server_address[1]}")
    # A short poll: shutdown() waits for the loop's next look, 0.5 s by default, at every test's end.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
