"""Every operation, with random oversized and odd members: each call is either refused with a 4xx and
changes nothing, or succeeds and is found in LookupEvents (issue 13, defect 1's property test).

The server is real and so is its store: what a call changed is read from its SQLite database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from opentrail.protocol import CLOUDTRAIL_TARGET_PREFIX, ORGANIZATIONS_TARGET_PREFIX
from opentrail.server.operations import JSON_SERVICES
from opentrail.streams.logs.operations import TARGET_PREFIX as LOGS_TARGET_PREFIX
from tests.support.audit import fingerprint, recorded
from tests.support.protocol import JSON_11, signed_post
from tests.support.server import Credentials, Server, make_server

PREFIXES = {
    "cloudtrail": CLOUDTRAIL_TARGET_PREFIX,
    "organizations": ORGANIZATIONS_TARGET_PREFIX,
    "logs": LOGS_TARGET_PREFIX,
}
OPERATIONS = sorted((service, name) for service, api in JSON_SERVICES.items() for name in api.operations)
TRAIL = "property-trail"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from make_server()


@pytest.fixture(scope="module")
def tenant(server: Server) -> tuple[Credentials, str]:
    """An account with a bucket and a trail, so that well-formed calls can succeed."""
    creds = server.new_account("property")
    bucket = f"property-{uuid.uuid4().hex[:12]}"
    server.client("s3", creds).create_bucket(Bucket=bucket)
    server.client("cloudtrail", creds).create_trail(Name=TRAIL, S3BucketName=bucket)
    return creds, bucket


odd_values = st.one_of(
    # Oversized: a short random piece repeated to 150-400 thousand characters.
    st.builds(
        lambda piece, size: (piece * size)[:size],
        st.text(min_size=1, max_size=8, alphabet='xé\u2028\U0001f600"\\\x00'),
        st.integers(min_value=150_000, max_value=400_000),
    ),
    st.text(max_size=50),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=5),
    st.recursive(st.text(max_size=3), lambda inner: st.dictionaries(st.text(max_size=3), inner, max_size=3)),
)


def well_formed(bucket: str) -> dict[str, Any]:
    """Members that make many operations valid, for the trail that exists."""
    return {"Name": TRAIL, "TrailName": TRAIL, "S3BucketName": bucket, "trailNameList": [TRAIL]}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    operation=st.sampled_from(OPERATIONS),
    use_well_formed=st.booleans(),
    extra=st.dictionaries(st.text(min_size=1, max_size=12), odd_values, min_size=1, max_size=3),
)
def test_a_call_is_refused_unchanged_or_performed_and_recorded(
    server: Server,
    tenant: tuple[Credentials, str],
    operation: tuple[str, str],
    use_well_formed: bool,
    extra: dict[str, Any],
) -> None:
    creds, bucket = tenant
    service, name = operation
    params = {**(well_formed(bucket) if use_well_formed else {}), **extra}
    body = json.dumps(params).encode()
    if len(body) > 1024 * 1024:
        body = body[: 1024 * 1024]  # the edge refuses larger bodies before anything else
    headers = {"X-Amz-Target": PREFIXES[service] + name, "Content-Type": JSON_11}
    before = fingerprint(server)
    response = signed_post(server, creds, body, headers, service=service)
    assert response.status_code < 500, (name, response.status_code, response.text[:500])
    request_id = response.headers["x-amzn-requestid"]
    event(f"{response.status_code // 100}xx")
    if response.status_code >= 400:
        assert fingerprint(server) == before, f"refused {name} changed the store"
    record = recorded(server, creds, name, request_id)
    if response.status_code < 400:
        assert record is not None, f"{name} succeeded but is not in history"
    if record is not None:
        assert len(json.dumps(record)) <= 256 * 1024
