"""The native ingest endpoint (``/IngestRecords``): a body that is not a batch, too many records, and
another account's history without a grant."""

from __future__ import annotations

import pytest

from tests.support.protocol import check_error, ingest
from tests.support.server import Credentials, Server


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        (b'{"Records": [', ["not valid JSON"]),
        (b"[]", ['{"Records": [record, ...]}', "object"]),
        (b'{"records": []}', ['{"Records": [record, ...]}', "Records"]),
        (b'{"Records": {"eventID": "x"}}', ['{"Records": [record, ...]}', "array"]),
        (b'{"Records": "none"}', ['{"Records": [record, ...]}']),
        (b"", ["JSON"]),
        (b'{"Records": [{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}]}", ["nested too deeply"]),
    ],
    ids=["truncated", "array", "lowercase-key", "records-object", "records-string", "empty", "deeply-nested"],
)
def test_native_body_that_is_not_a_batch(
    server: Server, creds: Credentials, body: bytes, mentions: list[str]
) -> None:
    check_error(ingest(server, creds, body), 400, "SerializationException", *mentions, rest=True)


def test_native_batch_with_too_many_records(server: Server, creds: Credentials) -> None:
    body = b'{"Records": [' + b",".join([b"{}"] * 10_001) + b"]}"
    check_error(ingest(server, creds, body), 400, "ValidationException", "10001", "10000", rest=True)
    assert ingest(server, creds, b'{"Records": []}').json()["accepted"] == 0


def test_native_ingest_into_another_account_needs_a_grant(
    server: Server, creds: Credentials, account: Credentials
) -> None:
    response = ingest(server, creds, b'{"Records": []}', f"?accountId={account.account_id}")
    check_error(response, 403, "AccessDeniedException", account.account_id, "grant", rest=True)
