"""Trail listeners (``trails/listeners.py``): each announcement reaches its listeners in registration
order with what changed; ``trail_changed`` reports an organization trail if any version of the trail
is one; ``status`` merges what every source says."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from opentrail.trails.listeners import TrailListeners
from opentrail.trails.model import Trail

TRAIL = Trail(
    name="t1",
    trail_arn="arn:aws:cloudtrail:us-east-1:111122223333:trail/t1",
    home_region="us-east-1",
    s3_bucket_name="b",
)
ORGANIZATION_TRAIL = msgspec.structs.replace(TRAIL, is_organization_trail=True)


def test_listeners_run_in_registration_order() -> None:
    heard: list[tuple[Any, ...]] = []
    listeners = TrailListeners()
    listeners.changed.append(lambda account, organization: heard.append(("first", account, organization)))
    listeners.changed.append(lambda account, organization: heard.append(("second", account, organization)))
    listeners.started.append(lambda account, trail: heard.append(("started", account, trail.name)))
    listeners.stopped.append(lambda account, trail, deleted: heard.append(("stopped", trail.name, deleted)))
    listeners.covered.append(lambda trail: heard.append(("covered", trail.name)))
    listeners.trail_changed("111122223333", TRAIL)
    listeners.logging_started("111122223333", TRAIL)
    listeners.logging_stopped("111122223333", TRAIL)
    listeners.logging_stopped("111122223333", TRAIL, deleted=True)
    listeners.coverage_changed(TRAIL)
    assert heard == [
        ("first", "111122223333", False),
        ("second", "111122223333", False),
        ("started", "111122223333", "t1"),
        ("stopped", "t1", False),
        ("stopped", "t1", True),
        ("covered", "t1"),
    ]


@pytest.mark.parametrize(
    ("versions", "organization"),
    [
        ((TRAIL,), False),
        ((TRAIL, TRAIL), False),
        ((ORGANIZATION_TRAIL,), True),
        ((TRAIL, ORGANIZATION_TRAIL), True),  # became one: its members' coverage changed
        ((ORGANIZATION_TRAIL, TRAIL), True),  # stopped being one: so did theirs
    ],
)
def test_the_organization_flag_comes_from_any_version(
    versions: tuple[Trail, ...], organization: bool
) -> None:
    heard: list[bool] = []
    listeners = TrailListeners()
    listeners.changed.append(lambda _account, flag: heard.append(flag))
    listeners.trail_changed("111122223333", *versions)
    assert heard == [organization]


def test_an_exception_in_a_listener_reaches_the_caller() -> None:
    """The change is made; the caller's error tells the client to retry (every listener is idempotent)."""

    def broken(_account: str, _trail: Trail) -> None:
        raise RuntimeError("listener failed")

    listeners = TrailListeners()
    listeners.started.append(broken)
    with pytest.raises(RuntimeError, match="listener failed"):
        listeners.logging_started("111122223333", TRAIL)


def test_status_merges_every_source_later_ones_winning() -> None:
    listeners = TrailListeners()
    assert listeners.status("111122223333", TRAIL.trail_arn) == {}
    asked: list[tuple[str, str]] = []

    def delivery(account: str, arn: str) -> dict[str, Any]:
        asked.append((account, arn))
        return {"LatestDeliveryTime": 1.5, "LatestDeliveryError": "old"}

    listeners.status_sources.append(delivery)
    listeners.status_sources.append(lambda _account, _arn: {"LatestDeliveryError": "new", "X": 1})
    assert listeners.status("111122223333", TRAIL.trail_arn) == {
        "LatestDeliveryTime": 1.5,
        "LatestDeliveryError": "new",
        "X": 1,
    }
    assert asked == [("111122223333", TRAIL.trail_arn)]


def test_each_set_of_listeners_is_its_own() -> None:
    one, two = TrailListeners(), TrailListeners()
    one.changed.append(lambda _account, _organization: None)
    assert two.changed == []
