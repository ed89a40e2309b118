"""The SNS tests' fixtures: moto's server on loopback as the SNS-compatible service, and one OpenTrail
server for the folder that reaches it the standard way (``AWS_ENDPOINT_URL_SNS``, the standard
credential variables). Package-scoped: starting servers dominates these tests' time. This file only
registers fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import Server, make_server
from tests.support.sns import MotoSns, Publisher, server_env


@pytest.fixture(scope="package")
def moto_sns() -> Iterator[MotoSns]:
    """moto on a loopback port of its own; tests stop and start it to take SNS away (it keeps its
    topics and queues across that)."""
    moto = MotoSns()
    moto.start()
    try:
        yield moto
    finally:
        moto.stop()


@pytest.fixture(scope="package")
def server(moto_sns: MotoSns) -> Iterator[Server]:
    """Delivers every second and retries notifications after 0.2 s (doubling, at most 5 minutes)."""
    env = {
        **server_env(moto_sns.endpoint),
        "OPENTRAIL_DELIVERY_INTERVAL": "1",
        "OPENTRAIL_NOTIFICATION_RETRY_DELAY": "0.2",
    }
    yield from make_server(env)


@pytest.fixture
def publisher(server: Server, moto_sns: MotoSns) -> Publisher:
    """A new account with a bucket, and a topic on moto that lets CloudTrail publish."""
    return Publisher.create(server, moto_sns.endpoint)
