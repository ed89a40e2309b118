"""DeleteTrail by name and by ARN, and its errors."""

from __future__ import annotations

from tests.support.trails import Tenant, body, expect_error


def test_delete_trail(shared: Tenant) -> None:
    client = shared.client()
    shared.trail("gone")
    assert body(client.delete_trail(Name="gone")) == {}
    expect_error("TrailNotFoundException", client.get_trail, Name="gone")
    message = expect_error("TrailNotFoundException", client.delete_trail, Name="gone")
    assert message == f"Unknown trail: gone for the user: {shared.account_id}"
    shared.trail("by-arn")
    client.delete_trail(Name=shared.arn("by-arn"))
    assert client.describe_trails()["trailList"] == []
    expect_error("InvalidTrailNameException", client.delete_trail, Name="x")
    expect_error("CloudTrailARNInvalidException", client.delete_trail, Name="arn:aws:cloudtrail:bad")
