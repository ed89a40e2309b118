"""The Organizations tests' fixture: one server for the whole folder, with a 1-second delivery interval
and 4-second digests. This file only registers fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import Server, make_server


@pytest.fixture(scope="package")
def server() -> Iterator[Server]:
    """The folder's own server: package-scoped, one serves every file here rather than a server per
    file."""
    yield from make_server(env={"OPENTRAIL_DELIVERY_INTERVAL": "1", "OPENTRAIL_DIGEST_INTERVAL": "4"})
