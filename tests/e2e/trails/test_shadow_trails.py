"""Shadow trails and regions: a multi-region trail is seen, by its ARN, in every region, is changed
only in its home region, and takes its name in every region it is seen."""

from __future__ import annotations

from typing import Any

from tests.support.trails import EAST, WEST, Tenant, body, expect_error


def test_names_are_unique_where_a_trail_is_visible(shared: Tenant) -> None:
    shared.trail("same", region=WEST)
    shared.trail("same", region=EAST)  # two single-region trails in different regions do not meet
    shared.trail("global", region=EAST, IsMultiRegionTrail=True)
    expect_error("TrailAlreadyExistsException", shared.trail, "global", WEST)
    message = expect_error(
        "TrailAlreadyExistsException", shared.trail, "same", "eu-west-1", IsMultiRegionTrail=True
    )
    assert message == f"Trail same already exists for customer: {shared.account_id}"


def test_describe_trails_with_shadow_trails(shared: Tenant) -> None:
    shared.trail("global", IsMultiRegionTrail=True)
    shared.trail("local-east")
    shared.trail("local-west", region=WEST)
    west = shared.client(WEST)
    names = [t["Name"] for t in west.describe_trails()["trailList"]]
    assert names == ["local-west", "global"]
    assert [t["Name"] for t in west.describe_trails(includeShadowTrails=True)["trailList"]] == names
    assert [t["Name"] for t in west.describe_trails(includeShadowTrails=False)["trailList"]] == ["local-west"]
    # A shadow trail is described as its home region's trail.
    shadow = west.describe_trails(trailNameList=[shared.arn("global")])["trailList"]
    assert shadow == [shared.client().get_trail(Name="global")["Trail"]]
    assert shadow[0]["HomeRegion"] == EAST
    # Names match only trails homed in the call's region; other regions need the ARN.
    assert west.describe_trails(trailNameList=["global", "local-east"])["trailList"] == []
    listed = west.describe_trails(
        trailNameList=["local-west", shared.arn("local-east"), shared.arn("local-west")]
    )
    assert [t["Name"] for t in listed["trailList"]] == ["local-west", "local-east"]
    assert (
        west.describe_trails(trailNameList=[shared.arn("global")], includeShadowTrails=False)["trailList"]
        == []
    )
    east = shared.client()
    assert [t["Name"] for t in east.describe_trails()["trailList"]] == ["global", "local-east"]


def test_shadow_trails_read_by_arn_but_changed_only_at_home(shared: Tenant) -> None:
    shared.trail("roaming", IsMultiRegionTrail=True)
    arn = shared.arn("roaming")
    west = shared.client(WEST)
    assert west.get_trail(Name=arn)["Trail"]["HomeRegion"] == EAST
    assert west.get_trail_status(Name=arn)["IsLogging"] is False
    assert west.get_event_selectors(TrailName=arn)["TrailARN"] == arn
    expect_error("TrailNotFoundException", west.get_trail, Name="roaming")
    changes: list[tuple[Any, dict[str, Any]]] = [
        (west.update_trail, {"Name": arn, "S3KeyPrefix": "x"}),
        (west.delete_trail, {"Name": arn}),
        (west.start_logging, {"Name": arn}),
        (west.stop_logging, {"Name": arn}),
        (west.put_event_selectors, {"TrailName": arn, "EventSelectors": [{"ReadWriteType": "All"}]}),
        (
            west.put_insight_selectors,
            {"TrailName": arn, "InsightSelectors": [{"InsightType": "ApiCallRateInsight"}]},
        ),
    ]
    for operation, args in changes:
        message = expect_error("InvalidHomeRegionException", operation, **args)
        assert EAST in message
    assert body(shared.client().get_trail(Name="roaming"))["Trail"]["HasCustomEventSelectors"] is False
    # Turning multi-region off removes the shadow from other regions' default listing.
    shared.client().update_trail(Name="roaming", IsMultiRegionTrail=False)
    assert west.describe_trails()["trailList"] == []
