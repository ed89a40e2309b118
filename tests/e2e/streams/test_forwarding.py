"""Forwarding a trail's log-group events to a CloudWatch Logs service (``OPENTRAIL_FORWARD_LOGS_URL``),
here moto's server on loopback speaking CloudWatch Logs' wire protocol: the same records arrive there,
in the group of the same name and CloudTrail's stream, and a remote outage only delays them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.delivery import record
from tests.support.server import Server, make_server, wait_for
from tests.support.sns import KEYS, MotoSns, client
from tests.support.streams import Tenant


@pytest.fixture
def moto() -> Iterator[MotoSns]:
    server = MotoSns()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def forwarding(moto: MotoSns) -> Iterator[Server]:
    env = {
        "OPENTRAIL_FORWARD_LOGS_URL": moto.endpoint,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        **KEYS,
    }
    yield from make_server(env)


def remote_records(remote: Any, group: str, stream: str) -> list[dict[str, Any]]:
    try:
        events = remote.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    except remote.exceptions.ResourceNotFoundException:
        return []
    return [json.loads(e["message"]) for e in events]


def test_streamed_events_are_forwarded_to_the_remote_group(moto: MotoSns, forwarding: Server) -> None:
    tenant = Tenant(forwarding)
    remote = client(moto.endpoint, "logs")
    remote.create_log_group(logGroupName=tenant.group)
    tenant.streaming_trail("forwarded")
    sent = [record(tenant.account) for _ in range(5)]
    tenant.ingest(sent)
    ids = {r["eventID"] for r in sent}

    def arrived() -> list[dict[str, Any]] | None:
        found = remote_records(remote, tenant.group, tenant.stream())
        return found if ids <= {r["eventID"] for r in found} else None

    forwarded = {r["eventID"]: r for r in wait_for(arrived, "records in the remote group", 30)}
    for original in sent:
        assert forwarded[original["eventID"]] == original
    assert ids <= set(tenant.streamed_ids())  # and in OpenTrail's own group


def test_a_missing_remote_group_delays_forwarding_but_not_local_streaming(
    moto: MotoSns, forwarding: Server
) -> None:
    tenant = Tenant(forwarding)
    tenant.streaming_trail("later")
    first = record(tenant.account)
    tenant.ingest([first])
    tenant.wait_streamed({first["eventID"]})
    remote = client(moto.endpoint, "logs")
    assert remote_records(remote, tenant.group, tenant.stream()) == []
    remote.create_log_group(logGroupName=tenant.group)

    def arrived() -> list[dict[str, Any]] | None:
        found = remote_records(remote, tenant.group, tenant.stream())
        return found or None

    found = wait_for(arrived, "the waiting record in the remote group", 60)
    assert first["eventID"] in {r["eventID"] for r in found}
