"""CloudTrail Lake channels in process: services whose ids are ``channel-0000``, ``channel-0001``, ...,
and a channel made by CreateChannel, for the tests of ``trails/channels.py`` and
``ingest/audit_events.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opentrail.clock import FixedClock
from opentrail.trails import channels
from tests.support.calls import Env
from tests.support.services import open_env

OWNER, OTHER = "111111111111", "222222222222"
EDS = f"arn:aws:cloudtrail:us-east-1:{OWNER}:eventdatastore/eds-1"


def channel_env(tmp_path: Path, clock: FixedClock) -> Iterator[Env]:
    """Services on a fresh store whose new ids number the channels in order."""
    ids = iter(f"channel-{i:04d}" for i in range(1000))
    for env in open_env(tmp_path, clock):
        env.services.new_id = lambda: next(ids)
        yield env


def create(env: Env, name: str, account: str = OWNER, region: str = "us-east-1", **p: Any) -> dict[str, Any]:
    """CreateChannel of a custom channel to ``account``'s event data store, in ``region``."""
    store = EDS.replace(OWNER, account)
    request = {
        "Name": name,
        "Source": "Custom",
        "Destinations": [{"Type": "EVENT_DATA_STORE", "Location": store}],
    }
    return channels.create_channel(env.call(account, region), {**request, **p})
