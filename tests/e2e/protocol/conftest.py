"""The protocol edge tests' fixtures: the account they send as, and where the server log stood before
the folder's first request, which ``test_server_log.py`` (its name sorts last, so pytest runs it last
here) reads for tracebacks left by everything before it. This file only registers fixtures."""

from __future__ import annotations

import pytest

from tests.support.server import Credentials, Server


@pytest.fixture(scope="package")
def creds(server: Server) -> Credentials:
    """A non-bootstrap account of the folder's own: errors must not depend on being the first account."""
    return server.new_account("protocol")


@pytest.fixture(scope="package")
def log_start(server: Server) -> int:
    """Where the server log stood before this folder's requests."""
    path = server.data_dir / "server.log"
    return path.stat().st_size if path.exists() else 0


@pytest.fixture(autouse=True)
def _mark_log(log_start: int) -> None:
    """Take the log position before the first test of the folder runs."""
