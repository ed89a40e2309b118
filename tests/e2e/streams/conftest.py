"""The real-time path's end-to-end fixtures: one server per store backend for the folder, with quick
delivery, and tenants that own a bucket, a log group and a trail streaming to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import Server, server_on_backend


@pytest.fixture(scope="package", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    env = {"OPENTRAIL_DELIVERY_INTERVAL": "1", "OPENTRAIL_DIGEST_INTERVAL": "4"}
    yield from server_on_backend(request, env)
