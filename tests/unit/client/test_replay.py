"""Replaying files with ``put-events``, in process: how files are read, how records are packed into
batches, and which failures are retried (``tests/e2e/test_put_events.py`` runs the command against the
real server)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from opentrail.client import replay
from opentrail.errors import ConfigError, RemoteError


def test_batches_never_split_a_record_and_stay_under_the_byte_limit() -> None:
    # A pure function over real bytes: the packing rule the command relies on.
    sizes = [10, 400, 300, 5, 600, 1, 1]
    records = [b'{"p":"' + b"x" * n + b'"}' for n in sizes]
    source = replay.Source(Path("f.json"), replay.Shape.ARRAY, records)
    packed = list(replay.batches([source, source], max_records=3, max_bytes=1000))
    assert [b for batch in packed for b in json.loads(batch.body)["Records"]] == [
        json.loads(r) for r in records * 2
    ]
    for batch in packed:
        assert len(batch.origins) <= 3
        assert len(batch.body) <= 1000 or len(batch.origins) == 1
        assert batch.body == b'{"Records":[' + b",".join(records[i] for _, i in batch.origins) + b"]}"
    # A record larger than the byte limit travels alone rather than being refused by the client.
    big = replay.Source(Path("g.json"), replay.Shape.ARRAY, [b"{}", b'{"p":"' + b"y" * 2000 + b'"}', b"{}"])
    assert [len(b.origins) for b in replay.batches([big], 10, 1000)] == [1, 1, 1]


@pytest.mark.parametrize(
    ("data", "shape", "wheres"),
    [
        (b'{"Records": [{"a": 1}, {"b": 2}]}', replay.Shape.LOG_FILE, ["Records[0]", "Records[1]"]),
        (b'[{"a": 1},\n {"b": 2}]', replay.Shape.ARRAY, ["[0]", "[1]"]),
        (b'{"a": 1}\n\n{"b": 2}\n', replay.Shape.LINES, ["line 1", "line 3"]),
        (b'{"a": 1, "b": 2}', replay.Shape.RECORD, ["record"]),
    ],
)
def test_each_shape_is_recognised_and_its_records_located(
    data: bytes, shape: replay.Shape, wheres: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "f.json.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + data))  # gzip and a byte-order mark are undone
    source = replay.load_source(path)
    assert source.shape is shape
    assert [source.where(i) for i in range(len(source.records))] == wheres
    for record in source.records:
        assert record in data  # sliced out verbatim, never re-serialised


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty"),
        (b"[1]", "element [0] is a JSON number, not a record object"),
        (b'{"Records": {"a": 1}}', '"Records" must be an array of record objects'),
        (b'{"a": 1}\n"text"\n', "line 2 is a JSON string, not a record object"),
        (b"true", "got a JSON boolean"),
    ],
)
def test_a_bad_file_is_named_with_what_is_wrong(data: bytes, reason: str) -> None:
    with pytest.raises(ConfigError, match=r"^bad\.json: ") as raised:
        replay.parse_source(Path("bad.json"), data)
    assert reason in str(raised.value)


class FlakyIngest:
    """A stand-in for the server's ingest endpoint: fails with ``errors`` first, then accepts all."""

    def __init__(self, *errors: RemoteError) -> None:
        self.errors = list(errors)
        self.calls = 0

    def ingest_records(self, body: bytes, account_id: str | None = None) -> Any:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"accepted": len(json.loads(body)["Records"]), "failed": []}


def test_throttling_and_server_errors_are_retried_with_backoff() -> None:
    ingest = FlakyIngest(RemoteError(400, "ThrottlingException", "slow down"), RemoteError(503, "X", "busy"))
    waits: list[float] = []
    replayer = replay.Replayer(ingest, max_attempts=3, sleep=waits.append)
    [batch] = replay.batches([replay.Source(Path("f.json"), replay.Shape.ARRAY, [b"{}"])], 10, 1000)
    assert replayer.send(batch) == (1, [])
    assert ingest.calls == 3
    assert len(waits) == 2
    assert 0.25 <= waits[0] <= 0.5 <= waits[1] <= 1.0  # jittered, doubling from half a second


def test_a_client_error_is_not_retried_and_stops_the_run(tmp_path: Path) -> None:
    ingest = FlakyIngest(RemoteError(403, "UnrecognizedClientException", "who are you"))
    replayer = replay.Replayer(ingest, sleep=lambda _: pytest.fail("a client error was retried"))
    path = tmp_path / "f.json"
    path.write_bytes(b"[{}, {}]")
    summary = replayer.run([path], replay.scan([path]))
    assert ingest.calls == 1
    assert (summary.accepted, summary.not_sent, summary.ok) == (0, 2, False)
    assert summary.error is not None
    assert "UnrecognizedClientException: who are you" in summary.error
