"""The LookupEvents tests' fixtures: one server per store backend for the whole folder, and a page-
filling history the pagination and CLI tests share. This file only registers fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.lookup import BASE, record, send
from tests.support.server import Credentials, Server, server_on_backend


@pytest.fixture(scope="package", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The folder's own server, on each store backend: LookupEvents end to end on both. Package-scoped:
    one server per backend serves every file here, rather than a server per file."""
    yield from server_on_backend(request)


@pytest.fixture(scope="package")
def many(server: Server) -> tuple[Credentials, list[str]]:
    """55 events one second apart; returns the account and their ids newest first."""
    creds = server.new_account("lookup-many")
    records = [record(at=BASE + i, name=f"Op{i:02d}", source="paging.example.com") for i in range(55)]
    send(server, creds, records)
    return creds, [r["eventID"] for r in reversed(records)]
