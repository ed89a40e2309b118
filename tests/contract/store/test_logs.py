"""Log groups, streams and metric filters on every backend: names unique per account and region,
listings in byte order with their pagination, changes under the group's lock, deletes that take
everything inside, and retention's purge."""

from __future__ import annotations

import pytest

from opentrail.errors import ConflictError
from opentrail.store import Store
from opentrail.store.logs import LogGroup, MetricFilter
from tests.support.store import ACCOUNT, OTHER

REGION = "us-east-1"
DAY_MS = 86_400_000
COUNT = [{"metricName": "m", "metricNamespace": "ns", "metricValue": "1"}]


def make(store: Store, name: str, account: str = ACCOUNT, region: str = REGION, **kw: object) -> LogGroup:
    return store.logs.create_group(LogGroup(account, region, name, 1_000, **kw))  # type: ignore[arg-type]


def names(groups: list[LogGroup]) -> list[str]:
    return [g.name for g in groups]


def test_groups_are_unique_per_account_and_region(store: Store) -> None:
    make(store, "app", tags={"team": "sec"}, kms_key_id="k", group_class="INFREQUENT_ACCESS")
    with pytest.raises(ConflictError):
        make(store, "app")
    make(store, "app", account=OTHER)
    make(store, "app", region="eu-west-1")
    found = store.logs.group(ACCOUNT, REGION, "app")
    assert found == LogGroup(ACCOUNT, REGION, "app", 1_000, None, "k", "INFREQUENT_ACCESS", {"team": "sec"})
    assert found.arn == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:app"
    assert store.logs.group(ACCOUNT, REGION, "other") is None


def test_groups_list_in_byte_order_with_prefix_and_pages(store: Store) -> None:
    for name in ("b", "a/x", "a/y", "B", "a", "_z"):
        make(store, name)
    make(store, "a/other-account", account=OTHER)
    listed = store.logs.groups(ACCOUNT, REGION)
    assert names(listed) == ["B", "_z", "a", "a/x", "a/y", "b"]
    assert names(store.logs.groups(ACCOUNT, REGION, prefix="a/")) == ["a/x", "a/y"]
    assert names(store.logs.groups(ACCOUNT, REGION, limit=2)) == ["B", "_z"]
    assert names(store.logs.groups(ACCOUNT, REGION, after="_z", limit=2)) == ["a", "a/x"]
    assert names(store.logs.groups(ACCOUNT, "eu-west-1")) == []


def test_update_group_changes_retention_and_tags_or_refuses(store: Store) -> None:
    make(store, "g")
    changed = store.logs.update_group(
        ACCOUNT, REGION, "g", lambda g: LogGroup(**{**_fields(g), "retention_days": 7, "tags": {"a": "1"}})
    )
    assert (changed.retention_days, changed.tags) == (7, {"a": "1"})
    stored = store.logs.group(ACCOUNT, REGION, "g")
    assert stored is not None
    assert (stored.retention_days, stored.tags) == (7, {"a": "1"})

    def refuse(g: LogGroup) -> LogGroup:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        store.logs.update_group(ACCOUNT, REGION, "g", refuse)
    with pytest.raises(KeyError):
        store.logs.update_group(ACCOUNT, REGION, "missing", lambda g: g)


def _fields(g: LogGroup) -> dict[str, object]:
    return {name: getattr(g, name) for name in LogGroup.__slots__}


def test_streams_list_by_name_or_last_event_with_pages(store: Store) -> None:
    make(store, "g")
    logs = store.logs
    for name in ("b", "a", "c", "ab"):
        logs.create_stream(ACCOUNT, REGION, "g", name, 5)
    with pytest.raises(ConflictError):
        logs.create_stream(ACCOUNT, REGION, "g", "a", 6)
    with pytest.raises(KeyError):
        logs.create_stream(ACCOUNT, REGION, "missing", "a", 6)
    logs.append(ACCOUNT, REGION, "g", "c", [(10, "x")])
    logs.append(ACCOUNT, REGION, "g", "a", [(30, "x")])
    logs.append(ACCOUNT, REGION, "g", "b", [(20, "x")])

    def listed(**kw: object) -> list[str]:
        return [s.name for s in logs.streams(ACCOUNT, REGION, "g", **kw)]  # type: ignore[arg-type]

    assert listed() == ["a", "ab", "b", "c"]
    assert listed(prefix="a") == ["a", "ab"]
    assert listed(descending=True) == ["c", "b", "ab", "a"]
    assert listed(after=(0, "ab"), limit=1) == ["b"]
    assert listed(by_last_event=True) == ["ab", "c", "b", "a"]
    assert listed(by_last_event=True, descending=True) == ["a", "b", "c", "ab"]
    assert listed(by_last_event=True, descending=True, after=(20, "b")) == ["c", "ab"]
    with pytest.raises(KeyError):
        logs.streams(ACCOUNT, REGION, "missing")


def test_deleting_a_stream_or_a_group_takes_what_is_inside(store: Store) -> None:
    make(store, "g")
    logs = store.logs
    logs.append(ACCOUNT, REGION, "g", "s", [(1, "a")], create_stream=True)
    logs.append(ACCOUNT, REGION, "g", "t", [(2, "b")], create_stream=True)
    logs.put_metric_filter(MetricFilter(ACCOUNT, REGION, "g", "f", "", COUNT, 3))
    assert logs.delete_stream(ACCOUNT, REGION, "g", "s") is True
    assert logs.delete_stream(ACCOUNT, REGION, "g", "s") is False
    assert [e.message for e in logs.events_after(0, 10)] == ["b"]
    assert logs.delete_group(ACCOUNT, REGION, "g") is True
    assert logs.delete_group(ACCOUNT, REGION, "g") is False
    assert logs.events_after(0, 10) == []
    assert logs.metric_filters() == []
    # The sequence never goes back: a new group's events are numbered after the deleted ones.
    make(store, "g")
    logs.append(ACCOUNT, REGION, "g", "s", [(3, "c")], create_stream=True)
    assert [e.seq for e in logs.events_after(0, 10)] == [3]


def test_metric_filters_replace_by_name_count_and_keep_a_limit(store: Store) -> None:
    make(store, "g")
    make(store, "h", account=OTHER)
    logs = store.logs
    assert logs.put_metric_filter(MetricFilter(ACCOUNT, REGION, "g", "f2", "ERROR", COUNT, 5), limit=2)
    assert logs.put_metric_filter(MetricFilter(ACCOUNT, REGION, "g", "f1", "", COUNT, 6), limit=2)
    assert not logs.put_metric_filter(MetricFilter(ACCOUNT, REGION, "g", "f3", "", COUNT, 7), limit=2)
    replaced = MetricFilter(ACCOUNT, REGION, "g", "f2", "WARN", COUNT, 8)
    assert logs.put_metric_filter(replaced, limit=2)  # a replacement is not a new filter
    logs.put_metric_filter(MetricFilter(OTHER, REGION, "h", "x", "", COUNT, 9))
    mine = logs.metric_filters(ACCOUNT)
    assert [(f.name, f.pattern, f.created) for f in mine] == [("f1", "", 6), ("f2", "WARN", 5)]
    assert mine[0].transformations == COUNT
    assert [f.group for f in logs.metric_filters()] == ["g", "g", "h"]
    assert [f.name for f in logs.metric_filters(OTHER, REGION, "h")] == ["x"]
    found = logs.group(ACCOUNT, REGION, "g")
    assert found is not None
    assert found.metric_filter_count == 2
    assert logs.delete_metric_filter(ACCOUNT, REGION, "g", "f1") is True
    assert logs.delete_metric_filter(ACCOUNT, REGION, "g", "f1") is False
    with pytest.raises(KeyError):
        logs.put_metric_filter(MetricFilter(ACCOUNT, REGION, "missing", "f", "", COUNT, 1))
    with pytest.raises(KeyError):
        logs.delete_metric_filter(ACCOUNT, REGION, "missing", "f")


def test_purge_removes_events_older_than_their_groups_retention(store: Store) -> None:
    now = 1_000 * DAY_MS
    make(store, "short", retention_days=1)
    make(store, "forever")
    logs = store.logs
    old, recent = now - 2 * DAY_MS, now - DAY_MS // 2
    logs.append(ACCOUNT, REGION, "short", "s", [(old, "old"), (recent, "recent")], create_stream=True)
    logs.append(ACCOUNT, REGION, "forever", "s", [(old, "kept")], create_stream=True)
    assert logs.purge(now) == 1
    assert sorted(e.message for e in logs.events_after(0, 10)) == ["kept", "recent"]
    stream = logs.stream(ACCOUNT, REGION, "short", "s")
    assert stream is not None
    assert (stream.first_event, stream.stored_bytes) == (recent, len("recent") + 26)
    assert logs.purge(now) == 0
