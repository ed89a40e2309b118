"""Property tests of LookupEvents pagination and its NextTokens.

Most run in-process against a real SQLite store (no server, no mocks) so Hypothesis can try many
cases quickly; a few repeat the token properties over HTTP against the real server.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from opentrail.clock import FixedClock
from opentrail.context import Services
from opentrail.errors import ApiError
from opentrail.history import lookup
from opentrail.history.throttle import Throttle
from opentrail.ingest.coverage import Coverage
from opentrail.ingest.records import index_record
from opentrail.settings import Settings
from opentrail.storage import LocalStorage
from opentrail.store import open_store
from opentrail.tokens import TokenSealer
from opentrail.trails.listeners import TrailListeners
from tests.support.calls import Env
from tests.support.history import BASE, Spec, raw_record

NOW = BASE + 86_400
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("lookup-tokens")
    store = open_store(f"sqlite:///{tmp / 'opentrail.db'}")
    services = Services(
        settings=Settings(data_dir=tmp),
        store=store,
        storage=LocalStorage(tmp / "buckets"),
        clock=FixedClock(NOW),
        sealer=TokenSealer(secrets.token_bytes(32)),
        coverage=Coverage(store),
        throttle=Throttle(0),
        listeners=TrailListeners(),
    )
    try:
        yield Env(services, itertools.count(100_000_000_000))
    finally:
        store.close()


def page_through(env: Env, account: str, params: dict[str, Any]) -> list[list[dict[str, Any]]]:
    pages = []
    tokens: set[str] = set()
    call_params = dict(params)
    while True:
        response = lookup.lookup_events(env.call(account), call_params)
        pages.append(response["Events"])
        token = response.get("NextToken")
        if token is None:
            return pages
        assert token not in tokens  # botocore aborts on a repeated token
        tokens.add(token)
        call_params = {**params, "NextToken": token}


def matches(spec: Spec, attribute: tuple[str, str] | None) -> bool:
    if spec.category != "Management":
        return False
    if attribute is None:
        return True
    key, value = attribute
    if key == "EventName":
        return spec.name == value
    if key == "ReadOnly":
        return str(spec.read_only).lower() == value
    return spec.resource  # ResourceName / ResourceType of the one resource


specs = st.builds(
    Spec,
    offset=st.integers(0, 12),  # a narrow range, so many events share a second
    name=st.sampled_from(["A", "B"]),
    resource=st.booleans(),
    read_only=st.booleans(),
    category=st.sampled_from(["Management"] * 4 + ["Data", "Insight"]),
)
attributes = st.sampled_from(
    [
        None,
        ("EventName", "A"),
        ("ReadOnly", "true"),
        ("ResourceName", "arn:aws:prop:::r"),
        ("ResourceType", "AWS::Prop::R"),
    ]
)


@SETTINGS
@given(
    batches=st.lists(st.lists(specs, max_size=15), min_size=1, max_size=3),
    attribute=attributes,
    page_size=st.integers(1, 12),
    bounds=st.tuples(st.integers(-1, 13), st.integers(-1, 13)).map(sorted),
)
def test_paging_yields_every_event_once_in_order(
    env: Env,
    batches: list[list[Spec]],
    attribute: tuple[str, str] | None,
    page_size: int,
    bounds: list[int],
) -> None:
    account = env.new_account()
    stored: list[tuple[Spec, str]] = []
    for batch in batches:
        raws = [(spec, raw_record(spec)) for spec in batch]
        env.store.append([index_record(raw, account) for _, raw in raws])
        stored += [(spec, json.loads(raw)["eventID"]) for spec, raw in raws]
    start, end = bounds
    # The store's sequence breaks ties between events of the same second: newest first by (time, seq).
    expected = sorted(
        (
            (BASE + spec.offset, env.store.get_event(account, event_id).seq, event_id)  # type: ignore[union-attr]
            for spec, event_id in stored
            if matches(spec, attribute) and start <= spec.offset <= end
        ),
        reverse=True,
    )
    params: dict[str, Any] = {"MaxResults": page_size, "StartTime": BASE + start, "EndTime": BASE + end}
    if attribute is not None:
        params["LookupAttributes"] = [{"AttributeKey": attribute[0], "AttributeValue": attribute[1]}]
    pages = page_through(env, account, params)
    assert all(len(page) == page_size for page in pages[:-1])
    assert 0 < len(pages[-1]) <= page_size or len(pages) == 1  # no empty trailing page
    assert [e["EventId"] for page in pages for e in page] == [event_id for _, _, event_id in expected]


# -- tokens are bound to their query ----------------------------------------------------------------


@dataclass
class Seeded:
    account: str
    params: dict[str, Any]
    token: str


@pytest.fixture(scope="module")
def seeded(env: Env) -> Seeded:
    """Ten events that every query below matches, so each of them yields a NextToken."""
    account = env.new_account()
    rows = [index_record(raw_record(Spec(i, "A", True, True, "Management")), account) for i in range(10)]
    env.store.append(rows)
    params = {"MaxResults": 3, "StartTime": BASE, "EndTime": BASE + 20}
    token = lookup.lookup_events(env.call(account), params)["NextToken"]
    return Seeded(account, params, token)


def refused(env: Env, account: str, params: dict[str, Any], region: str = "us-east-1") -> str:
    with pytest.raises(ApiError) as info:
        lookup.lookup_events(env.call(account, region), params)
    assert info.value.code == "InvalidNextTokenException"
    return info.value.message


def test_the_unchanged_token_opens_with_the_same_parameters(env: Env, seeded: Seeded) -> None:
    first = lookup.lookup_events(env.call(seeded.account), {**seeded.params, "NextToken": seeded.token})
    again = lookup.lookup_events(env.call(seeded.account), {**seeded.params, "NextToken": seeded.token})
    assert first == again
    assert len(first["Events"]) == 3
    # 1704067200 and 1704067200.0 select the same window, so they are the same query.
    as_float = {**seeded.params, "StartTime": float(BASE), "NextToken": seeded.token}
    assert lookup.lookup_events(env.call(seeded.account), as_float) == first


CHANGES: list[tuple[str, Any]] = [
    ("MaxResults", 4),
    ("MaxResults", 50),
    ("StartTime", BASE - 1),
    ("StartTime", BASE + 0.001),
    ("EndTime", BASE + 21),
    ("EndTime", None),
    ("StartTime", None),
    ("LookupAttributes", [{"AttributeKey": "EventName", "AttributeValue": "A"}]),
    ("LookupAttributes", [{"AttributeKey": "ReadOnly", "AttributeValue": "true"}]),
    ("LookupAttributes", [{"AttributeKey": "ResourceName", "AttributeValue": "arn:aws:prop:::r"}]),
    ("EventCategory", "insight"),
    ("region", "eu-west-1"),
    ("account", "999999999999"),
]


@SETTINGS
@given(changes=st.lists(st.sampled_from(CHANGES), min_size=1, max_size=3, unique_by=lambda c: c[0]))
def test_a_token_opens_only_with_the_parameters_that_made_it(
    env: Env, seeded: Seeded, changes: list[tuple[str, Any]]
) -> None:
    params: dict[str, Any] = {**seeded.params, "NextToken": seeded.token}
    account, region = seeded.account, "us-east-1"
    for name, value in changes:
        if name == "region":
            region = value
        elif name == "account":
            account = value
        elif value is None:
            params.pop(name)
        else:
            params[name] = value
    attribute = params.get("LookupAttributes", [{}])[0].get("AttributeKey")
    # Insights lookups refuse these attributes before looking at the token.
    assume(params.get("EventCategory") != "insight" or attribute in (None, *lookup.INSIGHT_ATTRIBUTES))
    assert "different parameters" in refused(env, account, params, region)


def test_window_defaults_and_rounding() -> None:
    # Bounds round inward, exactly, even where float multiplication would not.
    assert lookup.millis(1704067200.123, up=True) == 1704067200123
    assert lookup.millis(1704067200.123, up=False) == 1704067200123
    assert lookup.millis(1704067200.1234, up=True) == 1704067200124
    assert lookup.millis(1704067200.1234, up=False) == 1704067200123
    assert lookup.millis(0.1, up=True) == 100
    request = lookup.parse_lookup({})
    assert lookup.window(request, NOW, 90) == ((NOW - 90 * 86_400) * 1000, NOW * 1000)
    past_end = lookup.parse_lookup({"EndTime": BASE - 400 * 86_400})
    assert lookup.window(past_end, NOW, 90) == ((BASE - 490 * 86_400) * 1000, (BASE - 400 * 86_400) * 1000)
    future_end = lookup.parse_lookup({"EndTime": NOW + 86_400})
    assert lookup.window(future_end, NOW, 7)[0] == (NOW - 7 * 86_400) * 1000
    with pytest.raises(ApiError, match=r"EndTime nan is outside the range"):
        lookup.parse_lookup({"EndTime": float("nan")})
    with pytest.raises(ApiError, match=r"StartTime inf is outside the range"):
        lookup.parse_lookup({"StartTime": float("inf")})
    assert lookup.weighted_length("a_b c,d\ne") == 9 + 4
