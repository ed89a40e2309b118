"""pytest fixtures: the real server, accounts, the corpus, loopback S3 and a throwaway PostgreSQL cluster.

Helpers live in ``tests.support``; this file only registers fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import CORPUS, Credentials, Server, free_port, make_server


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """One server shared by the session; tests isolate themselves with their own accounts."""
    yield from make_server()


@pytest.fixture
def fresh_server() -> Iterator[Server]:
    """A server of the test's own, for tests that stop, kill or reconfigure it."""
    yield from make_server()


@pytest.fixture
def account(server: Server) -> Credentials:
    """A new account on the shared server: its own trails, channels and history."""
    return server.new_account()


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """An S3 wire-protocol server (moto) on loopback for the module's tests."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        moto.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster for the session (``pg_cluster``), stopped and removed afterwards.
    Without the server binaries the tests using it fail (CI has them), they are not skipped."""
    from tests.support.postgres import PostgresCluster

    cluster = PostgresCluster(free_port())
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
