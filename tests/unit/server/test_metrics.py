"""The server's metrics (``server/metrics.py``): calls counted by operation and status, timed by
operation, events counted, rendered in Prometheus' text format, and each app counting on its own."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from opentrail.server.metrics import Metrics


def test_calls_are_counted_by_operation_and_status_and_timed_by_operation() -> None:
    metrics = Metrics()
    metrics.observe("ListTrails", 200, 0.01)
    metrics.observe("ListTrails", 200, 0.02)
    metrics.observe("ListTrails", 400, 0.5)
    metrics.observe("LookupEvents", 200, 0.003)
    sample = metrics.registry.get_sample_value
    assert sample("opentrail_requests_total", {"operation": "ListTrails", "status": "200"}) == 2
    assert sample("opentrail_requests_total", {"operation": "ListTrails", "status": "400"}) == 1
    assert sample("opentrail_requests_total", {"operation": "LookupEvents", "status": "200"}) == 1
    assert sample("opentrail_request_seconds_count", {"operation": "ListTrails"}) == 3
    assert sample("opentrail_request_seconds_sum", {"operation": "ListTrails"}) == 0.53
    assert sample("opentrail_request_seconds_bucket", {"operation": "ListTrails", "le": "0.025"}) == 2


def test_events_accepted_add_up() -> None:
    metrics = Metrics()
    metrics.events_accepted(3)
    metrics.events_accepted(0)
    metrics.events_accepted(4)
    assert metrics.registry.get_sample_value("opentrail_events_ingested_total") == 7


def test_two_apps_in_one_process_count_apart() -> None:
    one, two = Metrics(), Metrics()
    one.observe("GetTrail", 200, 0.1)
    assert (
        two.registry.get_sample_value("opentrail_requests_total", {"operation": "GetTrail", "status": "200"})
        is None
    )


def test_the_rendering_is_prometheus_text() -> None:
    metrics = Metrics()
    metrics.observe("GetTrail", 404, 0.2)
    metrics.events_accepted(1)
    assert metrics.content_type.startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    assert {"opentrail_requests", "opentrail_events_ingested", "opentrail_request_seconds"} <= set(families)
    (counted,) = [s for s in families["opentrail_requests"].samples if s.name == "opentrail_requests_total"]
    assert (counted.labels, counted.value) == ({"operation": "GetTrail", "status": "404"}, 1.0)


def test_connections_open_are_read_when_rendered_and_drops_counted_by_reason() -> None:
    metrics = Metrics()
    open_now = [3]
    metrics.count_connections(lambda: open_now[0])
    metrics.connection_dropped("header_timeout")
    metrics.connection_dropped("header_timeout")
    metrics.connection_dropped("evicted")
    sample = metrics.registry.get_sample_value
    assert sample("opentrail_connections_open") == 3
    open_now[0] = 7
    assert sample("opentrail_connections_open") == 7
    assert sample("opentrail_connections_dropped_total", {"reason": "header_timeout"}) == 2
    assert sample("opentrail_connections_dropped_total", {"reason": "evicted"}) == 1
