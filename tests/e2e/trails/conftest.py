"""The trail tests' fixtures: one server per store backend for the whole folder (trail limits and
documents on both), and the accounts the tests act as. This file only registers fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import Server, server_on_backend
from tests.support.trails import EAST, LOG_GROUP_NAME, Tenant


@pytest.fixture(scope="package", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The folder's own server, on each store backend: trail limits and documents on both. Package-scoped:
    one server per backend serves every file here, rather than a server per file."""
    yield from server_on_backend(request)


@pytest.fixture
def tenant(server: Server) -> Tenant:
    return Tenant.create(server)


@pytest.fixture(scope="package")
def tenant_with_topics(server: Server) -> Tenant:
    """The account the folder's tests share, with the SNS topics and the log group their trails name."""
    tenant = Tenant.create(server)
    # Trails may only name topics that exist (InsufficientSnsTopicPolicyException otherwise).
    for name, region in (
        ("trail-topic", EAST),
        ("alerts", EAST),
        ("topic", EAST),
        ("other_topic", "eu-west-1"),
    ):
        server.cli(
            "topic",
            "create",
            name,
            "--url",
            "http://127.0.0.1:9/",
            "--account",
            tenant.account_id,
            "--region",
            region,
        )
    # Trails may only name log groups that exist (InvalidCloudWatchLogsLogGroupArnException otherwise).
    server.client("logs", tenant.creds).create_log_group(logGroupName=LOG_GROUP_NAME)
    return tenant


@pytest.fixture
def shared(tenant_with_topics: Tenant) -> Iterator[Tenant]:
    """The folder's account, emptied after each test: for tests that need no second account and no
    history of their own (a fresh account costs two CLI runs, which would dominate the suite's time)."""
    yield tenant_with_topics
    tenant_with_topics.clear()
