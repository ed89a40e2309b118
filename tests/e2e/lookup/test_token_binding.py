"""LookupEvents' pagination tokens over HTTP, through the real server: a mutated token is refused, and a token
pages on only with the parameters that made it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentrail.client.remote import Client
from opentrail.errors import RemoteError
from tests.support.history import BASE, Spec, raw_record
from tests.support.server import Server
from tests.support.tokens import mutations


@dataclass
class Remote:
    conn: Client
    params: dict[str, Any]
    token: str


@pytest.fixture(scope="module")
def remote(server: Server) -> Iterator[Remote]:
    creds = server.new_account("lookup-tokens")
    conn = Client(server.endpoint, ReadOnlyCredentials(creds.access_key_id, creds.secret, None))
    records = [raw_record(Spec(i, "A", False, False, "Management")).decode() for i in range(5)]
    conn.ingest_records(('{"Records": [' + ",".join(records) + "]}").encode())
    params = {"MaxResults": 2, "StartTime": BASE, "EndTime": BASE + 60}
    token = conn.cloudtrail("LookupEvents", params)["NextToken"]
    try:
        yield Remote(conn, params, token)
    finally:
        conn.close()


def remote_error(remote: Remote, params: dict[str, Any]) -> RemoteError:
    with pytest.raises(RemoteError) as info:
        remote.conn.cloudtrail("LookupEvents", params)
    assert info.value.status == 400
    return info.value


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_server_refuses_mutated_tokens(remote: Remote, data: st.DataObject) -> None:
    mutated = data.draw(mutations(remote.token).filter(lambda t: t != remote.token))
    error = remote_error(remote, {**remote.params, "NextToken": mutated})
    assert error.code == "InvalidNextTokenException"


def test_server_pages_and_binds_tokens(remote: Remote) -> None:
    second = remote.conn.cloudtrail("LookupEvents", {**remote.params, "NextToken": remote.token})
    third = remote.conn.cloudtrail("LookupEvents", {**remote.params, "NextToken": second["NextToken"]})
    times = [e["EventTime"] for e in second["Events"] + third["Events"]]
    assert times == [BASE + 2, BASE + 1, BASE]
    assert "NextToken" not in third
    changes: list[dict[str, Any]] = [{"MaxResults": 3}, {"EndTime": BASE + 61}, {"EventCategory": "insight"}]
    for change in changes:
        error = remote_error(remote, {**remote.params, **change, "NextToken": remote.token})
        assert error.code == "InvalidNextTokenException"
        assert "different parameters" in error.message
