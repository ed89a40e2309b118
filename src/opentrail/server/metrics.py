"""The server's Prometheus metrics (``GET /metrics``): calls served and their latency, events accepted,
connections open and those the server closed early (``server/connections.py``), and metric filters'
metrics (``streams/metrics/prometheus.py``).

Each app has its own registry, so two apps in one process (tests, benchmarks) count apart.
"""

from __future__ import annotations

from collections.abc import Callable

import prometheus_client
from prometheus_client.registry import Collector

# nginx's "client closed request": the status a call is counted with when its client went away before
# the request was complete. Not a 4xx the server sent, nor a 5xx: dashboards keep it apart from both.
CLIENT_CLOSED_REQUEST = 499


class Metrics:
    def __init__(self) -> None:
        self.registry = prometheus_client.CollectorRegistry()
        self._requests = prometheus_client.Counter(
            "opentrail_requests", "API calls served", ["operation", "status"], registry=self.registry
        )
        self._events = prometheus_client.Counter(
            "opentrail_events_ingested", "Events accepted", registry=self.registry
        )
        self._latency = prometheus_client.Histogram(
            "opentrail_request_seconds", "API call latency", ["operation"], registry=self.registry
        )
        self._open = prometheus_client.Gauge(
            "opentrail_connections_open", "HTTP connections open", registry=self.registry
        )
        self._dropped = prometheus_client.Counter(
            "opentrail_connections_dropped",
            "Connections the server closed before the client did, by reason",
            ["reason"],
            registry=self.registry,
        )
        # The labelled children, looked up once per label set: operations and statuses are few.
        self._counted: dict[tuple[str, int], prometheus_client.Counter] = {}
        self._timed: dict[str, prometheus_client.Histogram] = {}

    def observe(self, operation: str, status: int, seconds: float) -> None:
        """Count and time one call."""
        counter = self._counted.get((operation, status))
        if counter is None:
            counter = self._counted.setdefault(
                (operation, status), self._requests.labels(operation, str(status))
            )
        histogram = self._timed.get(operation)
        if histogram is None:
            histogram = self._timed.setdefault(operation, self._latency.labels(operation))
        counter.inc()
        histogram.observe(seconds)

    def events_accepted(self, count: int) -> None:
        self._events.inc(count)

    def count_connections(self, count: Callable[[], int]) -> None:
        """Read the open connections from ``count`` whenever the metrics are rendered."""
        self._open.set_function(count)

    def connection_dropped(self, reason: str) -> None:
        """One connection closed by the server: a timeout, or to make room under the connection cap."""
        self._dropped.labels(reason).inc()

    def export(self, collector: Collector) -> None:
        """Export what ``collector`` reads at each scrape (metric filters' metrics, streams/metrics)."""
        self.registry.register(collector)

    def render(self) -> bytes:
        return prometheus_client.generate_latest(self.registry)

    content_type = prometheus_client.CONTENT_TYPE_LATEST
