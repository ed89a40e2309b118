"""Pages of event history: MaxResults, boto3's paginator, the AWS CLI's automatic pagination, and
NextToken bound to the query that issued it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.lookup import BASE, WINDOW, all_pages, ids, lean, lookup_error
from tests.support.server import Credentials, Server, iso


def test_max_results_default_bounds_and_last_page(
    server: Server, many: tuple[Credentials, list[str]]
) -> None:
    creds, expected = many
    ct = server.client("cloudtrail", creds)
    first = ct.lookup_events(**WINDOW)
    assert ids(first) == expected[:50]
    assert first["NextToken"]
    rest = ct.lookup_events(NextToken=first["NextToken"], **WINDOW)
    assert ids(rest) == expected[50:]
    assert "NextToken" not in rest
    assert ids(ct.lookup_events(MaxResults=1, **WINDOW)) == expected[:1]
    assert ids(ct.lookup_events(MaxResults=50, **WINDOW)) == expected[:50]
    with pytest.raises(ct.exceptions.InvalidMaxResultsException, match="between 1 and 50, got 51"):
        ct.lookup_events(MaxResults=51, **WINDOW)
    with lean(server, creds) as conn:
        assert "got 0" in lookup_error(conn, {"MaxResults": 0})
    # Exactly a multiple of the page size: the last full page carries no token.
    exact = ct.lookup_events(MaxResults=5, StartTime=BASE + 50, EndTime=BASE + 54)
    assert ids(exact) == expected[:5]
    assert "NextToken" not in exact


@pytest.mark.parametrize("page_size", [1, 7, 50])
def test_boto3_paginator_yields_every_event_once(
    server: Server, many: tuple[Credentials, list[str]], page_size: int
) -> None:
    creds, expected = many
    ct = server.client("cloudtrail", creds)
    source = [{"AttributeKey": "EventSource", "AttributeValue": "paging.example.com"}]
    events = all_pages(ct, LookupAttributes=source, **WINDOW, PaginationConfig={"PageSize": page_size})
    assert [e["EventId"] for e in events] == expected
    capped = ct.get_paginator("lookup_events").paginate(
        **WINDOW, PaginationConfig={"PageSize": 7, "MaxItems": 10}
    )
    assert [e["EventId"] for e in capped.build_full_result()["Events"]] == expected[:10]


def test_aws_cli_auto_paginates(server: Server, many: tuple[Credentials, list[str]]) -> None:
    creds, expected = many
    args = ["cloudtrail", "lookup-events", "--start-time", iso(BASE - 60), "--end-time", str(BASE + 3600)]
    result = server.aws(
        *args,
        "--lookup-attributes",
        "AttributeKey=EventSource,AttributeValue=paging.example.com",
        "--page-size",
        "8",
        creds=creds,
    )
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)["Events"]
    assert [e["EventId"] for e in events] == expected
    assert isinstance(events[0]["CloudTrailEvent"], str)
    assert events[0]["EventTime"] == BASE + 54  # the CLI prints wire timestamps: epoch seconds
    capped = server.aws(*args, "--max-items", "12", "--page-size", "5", creds=creds)
    assert capped.returncode == 0, capped.stderr
    output = json.loads(capped.stdout)
    assert [e["EventId"] for e in output["Events"]] == expected[:12]
    assert output["NextToken"]  # the CLI's own resume token
    error = server.aws(*args, "--max-results", "51", creds=creds)
    assert error.returncode == 255
    assert "InvalidMaxResultsException" in error.stderr


def test_next_token_tampered_or_reused_with_other_parameters(
    server: Server, many: tuple[Credentials, list[str]]
) -> None:
    creds, expected = many
    ct = server.client("cloudtrail", creds)
    source = [{"AttributeKey": "EventSource", "AttributeValue": "paging.example.com"}]
    params: dict[str, Any] = {"LookupAttributes": source, "MaxResults": 3, **WINDOW}
    first = ct.lookup_events(**params)
    token = first["NextToken"]
    # The same parameters may fetch the same page again.
    assert ids(ct.lookup_events(NextToken=token, **params)) == expected[3:6]
    assert ids(ct.lookup_events(NextToken=token, **params)) == expected[3:6]
    other_attribute = [{"AttributeKey": "EventName", "AttributeValue": "Op10"}]
    variants = [
        {**params, "MaxResults": 4},
        {**params, "LookupAttributes": other_attribute},
        {**params, "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": "other"}]},
        {k: v for k, v in params.items() if k != "LookupAttributes"},
        {**params, "StartTime": BASE - 86_399},
        {k: v for k, v in params.items() if k != "EndTime"},
        {**params, "EventCategory": "insight", "LookupAttributes": other_attribute},
    ]
    for variant in variants:
        with pytest.raises(ct.exceptions.InvalidNextTokenException, match="different parameters"):
            ct.lookup_events(NextToken=token, **variant)
    for bad in [token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x", token[1:], "garbage", "a.b"]:
        with pytest.raises(ct.exceptions.InvalidNextTokenException, match="not a token this server issued"):
            ct.lookup_events(NextToken=bad, **params)
    # The same token in another region or another account is another query.
    east2 = server.client("cloudtrail", creds, region="us-east-2")
    with pytest.raises(east2.exceptions.InvalidNextTokenException):
        east2.lookup_events(NextToken=token, **params)
    stranger = server.client("cloudtrail", server.root)
    with pytest.raises(stranger.exceptions.InvalidNextTokenException):
        stranger.lookup_events(NextToken=token, **params)
    # An int and a float naming the same second are the same query.
    same = ct.lookup_events(NextToken=token, **{**params, "StartTime": float(BASE - 86_400)})
    assert ids(same) == expected[3:6]
