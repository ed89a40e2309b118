"""``opentrail put-events``: the real CLI replaying files into the real server.

Generated records carry event times in a fixed past window, so the audit events of the tests' own
LookupEvents calls (stamped "now") never fall into the windows the tests count.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import Credentials, Server, free_port

REGION = "eu-west-3"
BASE = 1_709_294_400  # 2024-03-01T12:00:00Z
WINDOW = {"StartTime": BASE - 60, "EndTime": BASE + 86_400}


def record(i: int, **extra: Any) -> dict[str, Any]:
    """A realistic management event; recipientAccountId names a foreign account on purpose (it is
    evidence, kept as sent), and ``x-futureField`` is a field OpenTrail does not model."""
    return {
        "eventVersion": "1.11",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE7777777777",
            "arn": "arn:aws:iam::111122223333:user/alice",
            "accountId": "111122223333",
            "accessKeyId": "AKIAEXAMPLE777777777",
            "userName": "alice",
        },
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE + i)),
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": REGION,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0 Python/3.11 (café)",
        "requestParameters": {"instancesSet": {}, "maxResults": 5},
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management",
        "x-futureField": {"nested": [1, 2.50, "\u00e9\\n"]},
        **extra,
    }


def log_file(records: list[dict[str, Any]]) -> bytes:
    return json.dumps({"Records": records}, separators=(",", ":"), ensure_ascii=False).encode()


def events(server: Server, creds: Credentials, **params: Any) -> list[dict[str, Any]]:
    """Every event of ``creds``' account in REGION within WINDOW (or ``params``), all pages."""
    client = server.client("cloudtrail", creds, REGION)
    pages = client.get_paginator("lookup_events").paginate(**{**WINDOW, **params})
    return [event for page in pages for event in page["Events"]]


def stored(server: Server, creds: Credentials, event_id: str) -> str | None:
    """The CloudTrailEvent string stored for ``event_id``, or None."""
    found = events(server, creds, LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": event_id}])
    assert len(found) <= 1
    return found[0]["CloudTrailEvent"] if found else None


def summary(result: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_log_file_is_replayed_byte_for_byte(server: Server, account: Credentials, tmp_path: Path) -> None:
    records = [record(i) for i in range(25)]
    path = tmp_path / "111122223333_CloudTrail_eu-west-3_20240301T1205Z_abcdefghijklmnop.json"
    path.write_bytes(log_file(records))
    result = server.cli_as(account, "put-events", str(path))
    assert "accepted: 25" in result.stdout
    assert "rejected: 0" in result.stdout
    assert "25/25" in result.stderr  # the progress bar's final state
    found = {event["EventId"]: event["CloudTrailEvent"] for event in events(server, account)}
    assert set(found) == {r["eventID"] for r in records}
    for r in records:
        text = found[r["eventID"]]
        assert json.loads(text) == r
        assert text.encode() == json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode()


def test_gzip_log_file(server: Server, account: Credentials, tmp_path: Path) -> None:
    records = [record(i) for i in range(10)]
    path = tmp_path / "log.json.gz"
    path.write_bytes(gzip.compress(log_file(records)))
    result = server.cli_as(account, "put-events", str(path), "--output", "json")
    assert summary(result) == {
        "files": 1,
        "records": 10,
        "accepted": 10,
        "rejected": [],
        "notSent": 0,
        "error": None,
    }
    assert {e["EventId"] for e in events(server, account)} == {r["eventID"] for r in records}


def test_pretty_json_array_keeps_its_formatting(server: Server, account: Credentials, tmp_path: Path) -> None:
    records = [record(i) for i in range(3)]
    text = json.dumps(records, indent=3)
    path = tmp_path / "detonation.json"
    path.write_text(text)
    server.cli_as(account, "put-events", str(path))
    for r in records:
        stored_text = stored(server, account, r["eventID"])
        assert stored_text is not None
        # Exactly the indented text as the file holds it, escapes (\u00e9) included.
        assert stored_text in text
        assert json.loads(stored_text) == r


def test_json_lines_and_single_record_files(server: Server, account: Credentials, tmp_path: Path) -> None:
    lines = [record(i) for i in range(4)]
    jsonl = tmp_path / "events.jsonl.json"
    # Blank lines and CRLF endings are tolerated; each line is one record.
    jsonl.write_bytes(
        b"\r\n".join(json.dumps(r).encode() for r in lines[:2])
        + b"\r\n\r\n"
        + b"\n".join(json.dumps(r).encode() for r in lines[2:])
    )
    single = record(9)
    one = tmp_path / "one.json"
    one.write_text(json.dumps(single, indent=2))
    result = server.cli_as(account, "put-events", str(jsonl), str(one))
    assert "files: 2" in result.stdout
    assert "accepted: 5" in result.stdout
    for r in lines:
        assert stored(server, account, r["eventID"]) == json.dumps(r)
    assert stored(server, account, single["eventID"]) == json.dumps(single, indent=2)


def test_directory_is_searched(server: Server, account: Credentials, tmp_path: Path) -> None:
    day = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail" / REGION / "2024" / "03" / "01"
    day.mkdir(parents=True)
    first, second = [record(i) for i in range(3)], [record(i) for i in range(3, 5)]
    (day / "a.json.gz").write_bytes(gzip.compress(log_file(first)))
    (day / "b.json").write_bytes(log_file(second))
    (day / "notes.txt").write_text("not a log file")
    result = server.cli_as(account, "put-events", str(tmp_path / "AWSLogs"), "--output", "json")
    assert summary(result)["files"] == 2
    assert summary(result)["accepted"] == 5


def test_batches_respect_batch_size(server: Server, account: Credentials, tmp_path: Path) -> None:
    records = [record(i) for i in range(60)]
    path = tmp_path / "log.json"
    path.write_bytes(log_file(records))
    result = server.cli_as(account, "put-events", "--batch-size", "7", str(path), "--output", "json")
    assert summary(result)["accepted"] == 60
    assert len(events(server, account)) == 60


def test_one_bad_record_is_reported_and_the_rest_kept(
    server: Server, account: Credentials, tmp_path: Path
) -> None:
    good = [record(i) for i in range(4)]
    bad = record(2)
    del bad["eventTime"]
    path = tmp_path / "mixed.json"
    path.write_bytes(log_file([good[0], good[1], bad, good[2], good[3]]))
    result = server.cli_as(account, "put-events", str(path), check=False)
    assert result.returncode == 1
    assert "accepted: 4" in result.stdout
    assert "rejected: 1 (FieldNotFound 1)" in result.stdout
    assert f"{path} Records[2] eventID {bad['eventID']}: FieldNotFound:" in result.stdout
    assert "eventTime" in result.stdout
    assert {e["EventId"] for e in events(server, account)} == {r["eventID"] for r in good}

    as_json = server.cli_as(account, "put-events", str(path), "--output", "json", check=False)
    assert as_json.returncode == 1
    rejected = summary(as_json)["rejected"]
    assert len(rejected) == 1
    assert rejected[0]["file"] == str(path)
    assert rejected[0]["where"] == "Records[2]"
    assert rejected[0]["eventID"] == bad["eventID"]
    assert rejected[0]["errorCode"] == "FieldNotFound"
    assert "eventTime" in rejected[0]["errorMessage"]


def test_bad_record_in_json_lines_is_located_by_line(
    server: Server, account: Credentials, tmp_path: Path
) -> None:
    bad = record(1, awsRegion="Not A Region!")
    path = tmp_path / "lines.json"
    path.write_text("\n".join(json.dumps(r) for r in (record(0), bad)) + "\n")
    result = server.cli_as(account, "put-events", str(path), "--output", "json", check=False)
    assert result.returncode == 1
    (rejection,) = summary(result)["rejected"]
    assert (rejection["where"], rejection["errorCode"]) == ("line 2", "InvalidData")
    assert "awsRegion" in rejection["errorMessage"]


BAD_FILES = [
    pytest.param("bad.json", b"this is not json", "not valid JSON", id="not-json"),
    pytest.param("bad.json", b'{"Records": [{"a": 1}', "not valid JSON", id="truncated-json"),
    pytest.param("bad.json.gz", log_file([record(0)]), "named .gz but not gzip-compressed", id="gz-not-gzip"),
    pytest.param(
        "bad.json.gz", gzip.compress(log_file([record(0)]))[:-12], "not a valid gzip file", id="gz-cut"
    ),
    pytest.param("bad.json", b'{"Records": "x"}', '"Records" must be an array', id="records-not-array"),
    pytest.param("bad.json", b'{"Records": null}', '"Records" must be an array', id="records-null"),
    pytest.param("bad.json", b'{"Records": [{}, 3]}', "Records[1] is a JSON number", id="record-number"),
    pytest.param("bad.json", b'[{}, "x"]', "element [1] is a JSON string", id="array-string"),
    pytest.param("bad.json", b"42", "expected a CloudTrail log file", id="scalar"),
    pytest.param("bad.json", b"null", "got a JSON null", id="null"),
    pytest.param("bad.json", b"", "the file is empty", id="empty"),
    pytest.param("bad.json", b'{"a": 1}\n{"b": 2}\n{"c": \n', "line 3 is not valid JSON", id="jsonl-broken"),
    pytest.param("bad.json", b'{"a": 1}\n[1]\n', "line 2 is a JSON array", id="jsonl-array"),
]


@pytest.fixture(scope="module")
def sender(server: Server) -> Credentials:
    """One account for the bad-file cases: they send nothing, and each checks its own fresh eventID."""
    return server.new_account("bad-files")


@pytest.mark.parametrize(("name", "content", "reason"), BAD_FILES)
def test_bad_file_is_named_and_nothing_is_sent(
    server: Server, sender: Credentials, tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    account = sender
    good = record(0)
    first = tmp_path / "good.json"
    first.write_bytes(log_file([good]))
    path = tmp_path / name
    path.write_bytes(content)
    result = server.cli_as(account, "put-events", str(first), str(path), check=False)
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.stderr
    # Files are checked before anything is sent: the good file before the bad one stayed unsent.
    assert stored(server, account, good["eventID"]) is None


def test_every_bad_file_is_listed(server: Server, sender: Credentials, tmp_path: Path) -> None:
    account = sender
    (tmp_path / "a.json").write_text("nope")
    (tmp_path / "b.json").write_text("[1]")
    result = server.cli_as(
        account, "put-events", str(tmp_path / "a.json"), str(tmp_path / "b.json"), check=False
    )
    assert result.returncode == 2
    assert "2 files cannot be replayed" in result.stderr
    assert "a.json" in result.stderr
    assert "b.json" in result.stderr


def test_rerun_does_not_duplicate(server: Server, account: Credentials, tmp_path: Path) -> None:
    records = [record(i) for i in range(30)]
    path = tmp_path / "log.json.gz"
    path.write_bytes(gzip.compress(log_file(records)))
    for _ in range(2):
        result = server.cli_as(account, "put-events", str(path), "--batch-size", "8", "--output", "json")
        # A retried or repeated batch is acknowledged again; the server keeps one copy.
        assert summary(result)["accepted"] == 30
    found = events(server, account)
    assert len(found) == 30
    assert len({e["EventId"] for e in found}) == 30


def test_events_land_in_the_callers_account_only(
    server: Server, account: Credentials, tmp_path: Path
) -> None:
    other = server.new_account("other")
    records = [record(i) for i in range(5)]
    path = tmp_path / "log.json"
    path.write_bytes(log_file(records))
    server.cli_as(account, "put-events", str(path))
    assert len(events(server, account)) == 5
    assert events(server, other) == []
    # recipientAccountId in the records names a third account; the server files them under the
    # caller's account and keeps the field as sent.
    assert json.loads(stored(server, account, records[0]["eventID"]) or "{}")["recipientAccountId"] == (
        "111122223333"
    )


def test_account_id_needs_a_grant(server: Server, account: Credentials, tmp_path: Path) -> None:
    target = server.new_account("target")
    records = [record(i) for i in range(3)]
    path = tmp_path / "log.json"
    path.write_bytes(log_file(records))

    refused = server.cli_as(account, "put-events", str(path), "--account-id", target.account_id, check=False)
    assert refused.returncode == 1
    assert "AccessDeniedException" in refused.stdout
    assert "not sent: 3" in refused.stdout
    assert events(server, target) == []
    assert events(server, account) == []

    server.cli("account", "grant", "--grantee", account.account_id, "--target", target.account_id)
    granted = server.cli_as(account, "put-events", str(path), "--account-id", target.account_id)
    assert "accepted: 3" in granted.stdout
    assert {e["EventId"] for e in events(server, target)} == {r["eventID"] for r in records}
    assert events(server, account) == []


def test_account_id_must_be_twelve_digits(server: Server, account: Credentials, tmp_path: Path) -> None:
    path = tmp_path / "log.json"
    path.write_bytes(log_file([record(0)]))
    result = server.cli_as(account, "put-events", str(path), "--account-id", "12345", check=False)
    assert result.returncode == 2
    assert "--account-id must be 12 digits" in result.stderr


def test_unknown_credentials_fail_the_batch(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "log.json"
    path.write_bytes(log_file([record(0)]))
    nobody = Credentials("000000000000", "AKIANOBODY0000000000", "wrong-secret")
    result = server.cli_as(nobody, "put-events", str(path), check=False)
    assert result.returncode == 1
    assert "UnrecognizedClientException" in result.stdout
    assert "retrying" not in result.stderr  # an authentication failure is not worth a retry


def test_unreachable_server_fails_after_retries(server: Server, account: Credentials, tmp_path: Path) -> None:
    path = tmp_path / "log.json"
    path.write_bytes(log_file([record(0)]))
    closed = f"http://127.0.0.1:{free_port()}"
    result = server.cli_as(
        account, "put-events", str(path), "--endpoint-url", closed, "--max-attempts", "2", check=False
    )
    assert result.returncode == 1
    assert "retrying in" in result.stderr
    assert "ConnectionError" in result.stdout
    assert "after 2 attempts" in result.stdout
    assert "not sent: 1" in result.stdout


@pytest.mark.slow
def test_retries_until_the_server_is_back(fresh_server: Server, tmp_path: Path) -> None:
    server = fresh_server
    server.stop()
    assert server.root is not None
    records = [record(i) for i in range(20)]
    path = tmp_path / "log.json"
    path.write_bytes(log_file(records))
    # The server comes back while put-events is backing off; the batch then goes through.
    restart = threading.Timer(1.0, server.start)
    restart.start()
    try:
        result = server.cli_as(
            server.root, "put-events", str(path), "--max-attempts", "8", "--output", "json"
        )
    finally:
        restart.join()
    assert "retrying in" in result.stderr
    assert summary(result)["accepted"] == 20
    assert len(events(server, server.root)) == 20
