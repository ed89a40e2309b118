"""Where a client finds the server: ``--endpoint-url``, else ``OPENTRAIL_ENDPOINT_URL``, else
``AWS_ENDPOINT_URL``, else the address ``opentrail serve`` listens on by default (docs/cli.md).

Imports only ``os``: ``validate-logs`` resolves its endpoints here without importing botocore or httpx.
"""

from __future__ import annotations

import os

DEFAULT_ENDPOINT = "http://127.0.0.1:8790"


def resolve_endpoint(endpoint_url: str | None) -> str:
    """The server's URL, without a trailing slash."""
    return (
        endpoint_url
        or os.environ.get("OPENTRAIL_ENDPOINT_URL")
        or os.environ.get("AWS_ENDPOINT_URL")
        or DEFAULT_ENDPOINT
    ).rstrip("/")


def resolve_s3_endpoint(endpoint: str) -> str:
    """Where the buckets' S3 API answers: ``AWS_ENDPOINT_URL_S3``, else ``AWS_ENDPOINT_URL``, as for the AWS
    CLI, else ``endpoint`` (the server answers S3 on its own port)."""
    s3 = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or endpoint
    return s3.rstrip("/")
