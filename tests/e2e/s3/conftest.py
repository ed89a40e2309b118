"""The S3 subset's end-to-end fixtures: path-style boto3 clients of a running server, and servers of the
folder's own for the multipart quota and expiry settings. This file only registers fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.config
import pytest

from tests.support.server import Credentials, Server, make_server

MIB = 1024 * 1024
Client = Callable[[Server, Credentials], Any]


@pytest.fixture(scope="package")
def s3_client() -> Client:
    """Makes a path-style S3 client of a server for an account, retrying nothing (failures are the test's)."""

    def make(server: Server, creds: Credentials) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret,
            config=botocore.config.Config(
                s3={"addressing_style": "path"}, retries={"max_attempts": 1, "mode": "legacy"}
            ),
        )

    return make


@pytest.fixture(scope="package")
def tight_server() -> Iterator[Server]:
    """A server whose accounts may each keep 12 MiB of multipart upload parts."""
    yield from make_server({"OPENTRAIL_MULTIPART_QUOTA_BYTES": str(12 * MIB)})


@pytest.fixture
def hasty_server() -> Iterator[Server]:
    """A server that aborts multipart uploads 2 seconds after they start."""
    yield from make_server({"OPENTRAIL_MULTIPART_EXPIRY_SECONDS": "2"})
