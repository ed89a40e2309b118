"""``opentrail lookup-events``: JSON output paginated as the AWS CLI does, a table, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.lookup import BASE, record, send
from tests.support.server import Credentials, Server, iso


def credentials_dir(tmp_path: Path, creds: Credentials) -> str:
    """A data directory holding only ``credentials``, so the CLI signs as ``creds``."""
    (tmp_path / "credentials").write_text(
        f"[default]\naws_access_key_id = {creds.access_key_id}\naws_secret_access_key = {creds.secret}\n"
    )
    return str(tmp_path)


def test_cli_json_output_paginates_like_the_aws_cli(
    server: Server, many: tuple[Credentials, list[str]], tmp_path: Path
) -> None:
    creds, expected = many
    data_dir = credentials_dir(tmp_path, creds)
    window = ["--start-time", iso(BASE - 60), "--end-time", str(BASE + 3600)]
    result = server.cli("lookup-events", "--data-dir", data_dir, *window, "--output", "json")
    events = json.loads(result.stdout)["Events"]
    assert [e["EventId"] for e in events] == expected  # 55 events: two pages
    assert events[0]["EventTime"] == BASE + 54
    assert json.loads(events[0]["CloudTrailEvent"])["eventID"] == expected[0]
    capped = server.cli(
        "lookup-events",
        "--data-dir",
        data_dir,
        *window,
        "--max-items",
        "3",
        "--lookup-attributes",
        "AttributeKey=EventSource,AttributeValue=paging.example.com",
        "--output",
        "json",
    )
    assert [e["EventId"] for e in json.loads(capped.stdout)["Events"]] == expected[:3]


def test_cli_table_output(server: Server, account: Credentials, tmp_path: Path) -> None:
    tricky = record(
        at=BASE + 5,
        name="[bold red]NotMarkup[/]",
        user="dave",
        resources=[{"ARN": "arn:aws:s3:::a,b", "type": "AWS::S3::Bucket"}],
    )
    plain = record(at=BASE + 4, name="Plain", region="eu-west-1")
    send(server, account, [tricky, plain])
    data_dir = credentials_dir(tmp_path, account)
    result = server.cli(
        "lookup-events",
        "--data-dir",
        data_dir,
        "--start-time",
        "2023-12-31",
        "--lookup-attributes",
        'AttributeKey=ResourceName,AttributeValue="arn:aws:s3:::a,b"',
    )
    out = result.stdout
    assert tricky["eventID"] in out
    assert "[bold red]NotMarkup[/]" in out
    assert "2024-01-01T00:00:05Z" in out
    assert "AWS::S3::Bucket arn:aws:s3:::a,b" in out
    assert "dave" in out
    assert "Plain" not in out
    assert "1 event" in result.stderr
    regional = server.cli(
        "lookup-events", "--data-dir", data_dir, "--start-time", "2023-12-31", "--region", "eu-west-1"
    )
    assert plain["eventID"] in regional.stdout
    assert tricky["eventID"] not in regional.stdout


def test_cli_reports_bad_input(server: Server, tmp_path: Path) -> None:
    assert server.root is not None
    data_dir = credentials_dir(tmp_path, server.root)
    bad = server.cli(
        "lookup-events", "--data-dir", data_dir, "--lookup-attributes", "Key=EventName", check=False
    )
    assert bad.returncode == 2
    assert "AttributeKey=KEY,AttributeValue=VALUE" in bad.stderr
    backwards = server.cli(
        "lookup-events",
        "--data-dir",
        data_dir,
        "--start-time",
        "2024-01-02",
        "--end-time",
        "2024-01-01",
        check=False,
    )
    assert backwards.returncode == 2
    assert "InvalidTimeRangeException" in backwards.stderr
    nan = server.cli("lookup-events", "--data-dir", data_dir, "--end-time", "nan", check=False)
    assert nan.returncode == 2
    assert "finite" in nan.stderr
