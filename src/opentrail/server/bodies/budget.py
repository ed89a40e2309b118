"""The bytes of request bodies held in memory across every request in flight, bounded by one setting
(``OPENTRAIL_MAX_INFLIGHT_BODY_BYTES``): a request that cannot get room is told to retry rather than
growing the server's memory."""

from __future__ import annotations


class Budget:
    """Reservations against a fixed number of bytes. Touched on the event loop only, so no lock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def reserve(self, size: int) -> bool:
        """Take ``size`` bytes if they fit; False (and nothing taken) if not."""
        if self.held + size > self.limit:
            return False
        self.held += size
        return True

    def release(self, size: int) -> None:
        self.held = max(0, self.held - size)
