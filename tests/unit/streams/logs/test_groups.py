"""CreateLogGroup, DeleteLogGroup and DescribeLogGroups in process: names, classes, listing filters and
pages, AWS's errors, and accounts that never see each other's groups."""

from __future__ import annotations

import pytest

from opentrail.errors import InvalidParameter, ResourceAlreadyExists, ResourceNotFound
from tests.support.calls import Env
from tests.support.logs import ACCOUNT, NOW_MS, OTHER, run


def names(result: dict[str, list[dict[str, object]]]) -> list[object]:
    return [g["logGroupName"] for g in result["logGroups"]]


def test_create_and_describe_a_group_as_aws_shows_it(env: Env) -> None:
    assert run(env, "CreateLogGroup", logGroupName="/aws/app-1", kmsKeyId="key", tags={"team": "sec"}) == {}
    run(env, "PutRetentionPolicy", logGroupName="/aws/app-1", retentionInDays=30)
    [group] = run(env, "DescribeLogGroups")["logGroups"]
    arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/app-1"
    assert group == {
        "logGroupName": "/aws/app-1",
        "creationTime": NOW_MS,
        "retentionInDays": 30,
        "metricFilterCount": 0,
        "arn": f"{arn}:*",
        "storedBytes": 0,
        "kmsKeyId": "key",
        "logGroupClass": "STANDARD",
        "logGroupArn": arn,
    }


def test_a_name_is_taken_once_per_account_and_region(env: Env) -> None:
    run(env, "CreateLogGroup", logGroupName="g")
    with pytest.raises(ResourceAlreadyExists, match="The specified log group already exists"):
        run(env, "CreateLogGroup", logGroupName="g")
    run(env, "CreateLogGroup", logGroupName="g", account=OTHER)
    run(env, "CreateLogGroup", logGroupName="g", region="eu-west-1")
    assert names(run(env, "DescribeLogGroups", account=OTHER)) == ["g"]


@pytest.mark.parametrize("bad", ["", "a:b", "x" * 513, "sp ace", "ünï"])
def test_names_outside_the_models_pattern_are_refused(env: Env, bad: str) -> None:
    with pytest.raises(InvalidParameter, match="logGroupName"):
        run(env, "CreateLogGroup", logGroupName=bad)


def test_classes_and_unsupported_options(env: Env) -> None:
    run(env, "CreateLogGroup", logGroupName="ia", logGroupClass="INFREQUENT_ACCESS")
    run(env, "CreateLogGroup", logGroupName="std")
    with pytest.raises(InvalidParameter, match="enum value set"):
        run(env, "CreateLogGroup", logGroupName="x", logGroupClass="GOLD")
    with pytest.raises(InvalidParameter, match="deletionProtectionEnabled"):
        run(env, "CreateLogGroup", logGroupName="x", deletionProtectionEnabled=True)
    assert names(run(env, "DescribeLogGroups", logGroupClass="INFREQUENT_ACCESS")) == ["ia"]


def test_prefix_pattern_and_identifiers_filter_the_listing(env: Env) -> None:
    for name in ("DataLogs", "aws/DataLogs", "GroupDataLogs", "datalogs", "Other"):
        run(env, "CreateLogGroup", logGroupName=name)
    assert names(run(env, "DescribeLogGroups", logGroupNamePrefix="aws/")) == ["aws/DataLogs"]
    # A pattern is a case-sensitive substring, and shows only the name, creation time and ARN.
    found = run(env, "DescribeLogGroups", logGroupNamePattern="DataLogs")
    assert names(found) == ["DataLogs", "GroupDataLogs", "aws/DataLogs"]
    assert set(found["logGroups"][0]) == {"logGroupName", "creationTime", "arn"}
    arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:Other:*"
    assert names(run(env, "DescribeLogGroups", logGroupIdentifiers=["datalogs", arn, "missing"])) == [
        "Other",
        "datalogs",
    ]
    with pytest.raises(InvalidParameter, match="mutually exclusive"):
        run(env, "DescribeLogGroups", logGroupNamePrefix="a", logGroupNamePattern="b")


def test_pages_follow_the_token_and_a_token_is_bound_to_its_query(env: Env) -> None:
    for i in range(7):
        run(env, "CreateLogGroup", logGroupName=f"g{i}")
    seen, token = [], None
    while True:
        page = run(env, "DescribeLogGroups", limit=3, **({"nextToken": token} if token else {}))
        seen += names(page)
        token = page.get("nextToken")
        if token is None:
            break
    assert seen == [f"g{i}" for i in range(7)]
    first = run(env, "DescribeLogGroups", limit=3)
    with pytest.raises(InvalidParameter, match="nextToken"):
        run(env, "DescribeLogGroups", limit=3, logGroupNamePrefix="g", nextToken=first["nextToken"])
    with pytest.raises(InvalidParameter, match="nextToken"):
        run(env, "DescribeLogGroups", nextToken=first["nextToken"], account=OTHER)
    with pytest.raises(InvalidParameter, match="less than or equal to 50"):
        run(env, "DescribeLogGroups", limit=51)


def test_delete_takes_the_group_and_says_when_there_is_none(env: Env) -> None:
    run(env, "CreateLogGroup", logGroupName="g")
    with pytest.raises(ResourceNotFound, match=r"^The specified log group does not exist\.$"):
        run(env, "DeleteLogGroup", logGroupName="g", account=OTHER)
    assert run(env, "DeleteLogGroup", logGroupName="g") == {}
    assert names(run(env, "DescribeLogGroups")) == []
    with pytest.raises(ResourceNotFound):
        run(env, "DeleteLogGroup", logGroupName="g")
