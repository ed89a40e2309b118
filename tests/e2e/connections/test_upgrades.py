"""A request to upgrade to a websocket is answered like any other request (no API here speaks
websockets): CloudTrail's error shape, and nothing in the server log, a traceback least of all."""

from __future__ import annotations

from tests.support.connections import connect, read_response, request_head
from tests.support.server import Server

WEBSOCKET = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


def test_a_websocket_upgrade_is_answered_as_a_request(server: Server) -> None:
    log_start = len((server.data_dir / "server.log").read_bytes())
    with connect(server.endpoint) as sock:
        sock.sendall(request_head("GET", "/", WEBSOCKET))
        answer = read_response(sock)
        assert answer.startswith(b"HTTP/1.1 403 ")
        assert b'"__type":"MissingAuthenticationTokenException"' in answer
        # The connection still serves HTTP.
        sock.sendall(request_head("GET", "/health", {}))
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
    log = (server.data_dir / "server.log").read_bytes()[log_start:].decode(errors="replace")
    assert log == "", log
