"""Reading trails back: GetTrail's and DescribeTrails' errors, and ListTrails' pages over every
region."""

from __future__ import annotations

from tests.support.server import Server
from tests.support.trails import Tenant, expect_error


def test_get_trail_errors(shared: Tenant) -> None:
    client = shared.client()
    expect_error("TrailNotFoundException", client.get_trail, Name="nothing-here")
    expect_error("InvalidTrailNameException", client.get_trail, Name="no way")
    expect_error(
        "CloudTrailARNInvalidException", client.get_trail, Name="arn:aws:cloudtrail:us-east-1:1:trail/x"
    )
    expect_error("TrailNotFoundException", client.get_trail_status, Name="nothing-here")


def test_describe_trails_errors(shared: Tenant) -> None:
    client = shared.client()
    assert client.describe_trails(trailNameList=["unknown-trail"])["trailList"] == []
    expect_error("InvalidTrailNameException", client.describe_trails, trailNameList=["bad name"])
    expect_error(
        "CloudTrailARNInvalidException", client.describe_trails, trailNameList=["arn:aws:cloudtrail:x"]
    )


def test_list_trails_paginates_all_regions(server: Server, tenant: Tenant) -> None:
    regions = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1"]
    expected = sorted((region, f"t{i}-{region}") for region in regions for i in range(5))
    for region, name in expected:
        tenant.trail(name, region=region)
    client = tenant.client("eu-central-1")
    first = client.list_trails()
    assert len(first["Trails"]) == 20
    assert first["NextToken"]
    second = client.list_trails(NextToken=first["NextToken"])
    assert len(second["Trails"]) == 5
    assert "NextToken" not in second
    listed = first["Trails"] + second["Trails"]
    assert [(t["HomeRegion"], t["Name"]) for t in listed] == expected
    assert listed[0] == {
        "TrailARN": tenant.arn(expected[0][1], expected[0][0]),
        "Name": expected[0][1],
        "HomeRegion": expected[0][0],
    }
    pages = list(client.get_paginator("list_trails").paginate())
    assert sum(len(page["Trails"]) for page in pages) == 25
    expect_error("InvalidNextTokenException", client.list_trails, NextToken=first["NextToken"][:-2] + "xx")
    expect_error("InvalidNextTokenException", client.list_trails, NextToken="garbage")
    # A token is bound to the account that received it.
    expect_error(
        "InvalidNextTokenException", Tenant.create(server).client().list_trails, NextToken=first["NextToken"]
    )
