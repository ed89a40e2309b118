"""Log files: CloudTrail's key layout, one deterministic gzip member, event times (reference §5.1-5.3)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from datetime import UTC, datetime

import pytest

from opentrail.delivery.logfiles import build_log_file, unique_suffix

T0 = datetime(2024, 5, 1, 11, 1, 31, tzinfo=UTC).timestamp()


T1 = T0 + 3600  # 2024-05-01T12:01:31Z


def inflate_single_member(data: bytes) -> bytes:
    """As the CLI does: one streaming inflater; bytes after the first member are an error."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data) + inflater.flush()
    assert inflater.eof
    assert inflater.unused_data == b"", "unexpected data after end of compressed stream"
    return out


def record(n: int, when: str) -> bytes:
    body = {"eventVersion": "1.11", "eventTime": when, "eventID": f"id-{n}", "pad": "x" * 1100}
    # A member OpenTrail does not model, in the producer's own spacing, must survive verbatim.
    return json.dumps(body).encode()[:-1] + b', "unknownField" :  {"a":1}}'


def test_unique_suffix_is_16_alphanumerics_and_a_function_of_the_seed() -> None:
    seeds = [hashlib.sha256(f"arn|us-east-1|{i}|{i + 9}".encode()).digest() for i in range(500)]
    suffixes = [unique_suffix(s) for s in seeds]
    assert all(re.fullmatch(r"[A-Za-z0-9]{16}", s) for s in suffixes)
    assert len(set(suffixes)) == len(suffixes)
    assert [unique_suffix(s) for s in seeds] == suffixes


def test_log_file_is_one_deterministic_gzip_member_hashed_uncompressed() -> None:
    records = [record(i, f"2024-05-01T10:0{i}:00Z") for i in range(5)]
    made = build_log_file(records)
    raw = inflate_single_member(made.data)
    assert raw == b'{"Records":[' + b",".join(records) + b"]}"
    assert json.loads(raw)["Records"][2]["unknownField"] == {"a": 1}
    assert made.sha256_hex == hashlib.sha256(raw).hexdigest()
    assert (made.count, made.oldest_event_time, made.newest_event_time) == (
        5,
        "2024-05-01T10:00:00Z",
        "2024-05-01T10:04:00Z",
    )
    assert build_log_file(records).data == made.data  # same records, same bytes
    assert made.data[4:8] == b"\0\0\0\0"  # mtime 0
    assert gzip.decompress(made.data) == raw
    # The stdlib reader agrees, and a second member would be refused by the CLI's reader.
    with pytest.raises(AssertionError, match="unexpected data"):
        inflate_single_member(made.data + made.data)


def test_log_file_times_given_by_the_caller() -> None:
    made = build_log_file([b'{"a":1}', b'{"a":2}'], event_times=[T1, T0])
    assert (made.oldest_event_time, made.newest_event_time) == (
        "2024-05-01T11:01:31Z",
        "2024-05-01T12:01:31Z",
    )
    empty = build_log_file([])
    assert inflate_single_member(empty.data) == b'{"Records":[]}'
    assert empty.newest_event_time is None
