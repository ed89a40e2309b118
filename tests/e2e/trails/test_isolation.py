"""Accounts are isolated: another account neither sees nor changes a trail, in any region, and its
errors name only the caller."""

from __future__ import annotations

from typing import Any

from tests.support.server import Server
from tests.support.trails import EAST, WEST, Tenant, expect_error


def test_accounts_are_isolated(server: Server, tenant: Tenant) -> None:
    tenant.trail("private", IsMultiRegionTrail=True, TagsList=[{"Key": "secret", "Value": "yes"}])
    arn = tenant.arn("private")
    intruder = Tenant.create(server)
    for region in (EAST, WEST):
        other = intruder.client(region)
        assert other.describe_trails()["trailList"] == []
        assert other.describe_trails(trailNameList=[arn, "private"])["trailList"] == []
        assert other.list_trails()["Trails"] == []
        trail_calls: list[tuple[Any, dict[str, Any]]] = [
            (other.get_trail, {"Name": arn}),
            (other.get_trail_status, {"Name": arn}),
            (other.update_trail, {"Name": arn, "S3BucketName": intruder.bucket}),
            (other.delete_trail, {"Name": arn}),
            (other.start_logging, {"Name": arn}),
            (other.stop_logging, {"Name": arn}),
            (other.get_event_selectors, {"TrailName": arn}),
            (
                other.put_event_selectors,
                {"TrailName": arn, "EventSelectors": [{"ReadWriteType": "ReadOnly"}]},
            ),
            (other.get_insight_selectors, {"TrailName": arn}),
            (other.put_insight_selectors, {"TrailName": arn, "InsightSelectors": []}),
        ]
        for operation, args in trail_calls:
            message = expect_error("TrailNotFoundException", operation, **args)
            assert intruder.account_id in message
            assert tenant.account_id not in message.split("user:")[-1]
        tag_calls: list[tuple[Any, dict[str, Any]]] = [
            (other.add_tags, {"ResourceId": arn, "TagsList": [{"Key": "x"}]}),
            (other.remove_tags, {"ResourceId": arn, "TagsList": [{"Key": "secret"}]}),
            (other.list_tags, {"ResourceIdList": [arn]}),
        ]
        for operation, args in tag_calls:
            expect_error("ResourceNotFoundException", operation, **args)
    # The same name is free in the other account, and nothing of the first account changed.
    intruder.trail("private")
    owner = tenant.client()
    assert owner.get_trail(Name="private")["Trail"]["S3BucketName"] == tenant.bucket
    assert owner.get_trail_status(Name="private")["IsLogging"] is False
    assert owner.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"] == [
        {"Key": "secret", "Value": "yes"}
    ]
    assert owner.get_event_selectors(TrailName="private")["EventSelectors"][0]["ReadWriteType"] == "All"
