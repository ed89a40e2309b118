"""The CloudWatch Logs end-to-end tests' fixtures: one real server per store backend for the folder,
and a fresh account per test (so tests never see each other's groups). This file only registers
fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import Credentials, Server, server_on_backend


@pytest.fixture(scope="package", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    yield from server_on_backend(request)


@pytest.fixture
def tenant(server: Server) -> Credentials:
    return server.new_account("logs")
