"""What an attack suite sent and what came back: every request counted by route and status, so the suite
can say "N requests: X 2xx, Y 4xx, Z 5xx" and which route each 5xx came from.

A request the server closed without an HTTP answer (a slowloris cut off silently, an idle socket) is
counted as ``closed``: it is neither a success nor a server error."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

CLOSED = "closed"


def status_class(status: int | None) -> str:
    return CLOSED if status is None else f"{status // 100}xx"


class Tally:
    """Requests by (route, status); safe to record into from the threads and event loops attacks use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, int | None]] = Counter()
        # What the servers said of themselves when they stopped: their /metrics status counts and the
        # tracebacks in their logs, so a 5xx the client never saw (a dropped connection) still shows.
        self.server_statuses: Counter[str] = Counter()
        self.server_tracebacks = 0

    def record(self, route: str, status: int | None) -> None:
        with self._lock:
            self._counts[route, status] += 1

    def total(self) -> int:
        return sum(self._counts.values())

    def by_class(self) -> dict[str, int]:
        found: Counter[str] = Counter()
        for (_, status), n in self._counts.items():
            found[status_class(status)] += n
        return dict(sorted(found.items()))

    def server_errors(self) -> dict[str, dict[int, int]]:
        """The 5xx answers the suite received, by route and status."""
        found: dict[str, dict[int, int]] = {}
        for (route, status), n in self._counts.items():
            if status is not None and status >= 500:
                found.setdefault(route, {})[status] = n
        return found

    def lines(self) -> list[str]:
        classes = self.by_class()
        counted = ", ".join(f"{n} {name}" for name, n in classes.items()) or "none"
        lines = [f"{self.total()} requests: {counted}"]
        for route, statuses in sorted(self.server_errors().items()):
            lines.append(f"  5xx from {route}: {statuses}")
        if self.server_statuses:
            served = ", ".join(f"{n:g} {status}" for status, n in sorted(self.server_statuses.items()))
            lines.append(f"the servers counted (opentrail_requests_total by status): {served}")
        lines.append(f"tracebacks in the servers' logs: {self.server_tracebacks}")
        return lines

    def as_json(self) -> dict[str, Any]:
        routes: dict[str, dict[str, int]] = {}
        for (route, status), n in sorted(
            self._counts.items(), key=lambda item: (item[0][0], item[0][1] or 0)
        ):
            routes.setdefault(route, {})[str(status) if status is not None else CLOSED] = n
        return {
            "total": self.total(),
            "by_class": self.by_class(),
            "by_route": routes,
            "server_statuses": dict(self.server_statuses),
            "server_tracebacks": self.server_tracebacks,
        }
