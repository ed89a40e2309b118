"""The connection tests' server: ``opentrail serve`` with timeouts short enough to watch expire and a
connection cap small enough to fill. This file only registers fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import Credentials, Server, make_server

SHORT = {
    "OPENTRAIL_HEADER_TIMEOUT": "1",
    "OPENTRAIL_KEEP_ALIVE_TIMEOUT": "1",
    "OPENTRAIL_BODY_TIMEOUT": "1",
    "OPENTRAIL_MAX_CONNECTIONS": "80",
}


@pytest.fixture(scope="package")
def server() -> Iterator[Server]:
    yield from make_server(SHORT)


@pytest.fixture(scope="package")
def creds(server: Server) -> Credentials:
    return server.new_account("connections")
