"""An ASGI app served over loopback by uvicorn in a thread of the test process: for in-process tests of a
client against the real app (``server.app.create_app``), without starting ``opentrail serve``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp


def serve_app(app: ASGIApp, **options: Any) -> Iterator[str]:
    """``app`` listening on a free loopback port (its lifespan run); yields its URL until closed.
    ``options`` go to uvicorn's ``Config`` (``opentrail serve``'s connection options, for instance)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # No websockets (nothing here speaks them), no access log; signals stay with the test process.
    config = uvicorn.Config(
        app, **{"log_level": "warning", "access_log": False, "ws": "none", "lifespan": "on"} | options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("uvicorn did not start serving the app")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
