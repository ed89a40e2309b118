"""Five trails per region, counting the multi-region trails a region sees, held under concurrent
creates and when a trail turns multi-region."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from tests.support.trails import EAST, WEST, Tenant, expect_error


def test_five_trails_per_region_counting_multi_region_trails(shared: Tenant) -> None:
    for i in range(4):
        shared.trail(f"east-{i}")
    shared.trail("everywhere", region=WEST, IsMultiRegionTrail=True)  # seen in us-east-1 too: five there
    message = expect_error("MaximumNumberOfTrailsExceededException", shared.trail, "east-5")
    # AWS's text (linz/geostore#1450).
    assert message == f"User: {shared.account_id} already has 5 trails in {EAST}."
    # us-west-2 sees its own multi-region trail only, so it has room for single-region trails...
    shared.trail("west-1", region=WEST)
    # ...but not for another multi-region trail, which us-east-1 would see as a sixth.
    expect_error(
        "MaximumNumberOfTrailsExceededException", shared.trail, "west-2", WEST, IsMultiRegionTrail=True
    )
    assert len(shared.client().list_trails()["Trails"]) == 6


def test_concurrent_creates_cannot_exceed_the_limit(shared: Tenant) -> None:
    client = shared.client()  # botocore clients are thread-safe

    def create(i: int) -> str:
        try:
            client.create_trail(Name=f"race-{i}", S3BucketName=shared.bucket)
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        return "created"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = sorted(pool.map(create, range(10)))
    assert outcomes == ["MaximumNumberOfTrailsExceededException"] * 5 + ["created"] * 5
    assert len(client.describe_trails()["trailList"]) == 5


def test_update_to_multi_region_respects_other_regions(shared: Tenant) -> None:
    for i in range(5):
        shared.trail(f"west-{i}", region=WEST)
    shared.trail("home")
    expect_error(
        "MaximumNumberOfTrailsExceededException",
        shared.client().update_trail,
        Name="home",
        IsMultiRegionTrail=True,
    )
    assert shared.client().get_trail(Name="home")["Trail"]["IsMultiRegionTrail"] is False
