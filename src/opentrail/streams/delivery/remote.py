"""Forwarding a trail's log-group events to a CloudWatch Logs service too (``OPENTRAIL_FORWARD_LOGS_URL``):
AWS's own, or any endpoint that speaks its API, through boto3.

The log group must exist there, as CloudTrail needs it to; the log stream is created on first use.
Events go in PutLogEvents batches within CloudWatch Logs' limits (10,000 events, 1,048,576 bytes
counting 26 bytes per event, a span of at most 24 hours, in chronological order). Forwarding is at least
once: a batch retried after a failure that CloudWatch Logs in fact took is sent twice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from opentrail.settings import Settings

log = logging.getLogger("opentrail.streams")

MAX_EVENTS = 10_000
MAX_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_SPAN_MS = 24 * 3600 * 1000


class ForwardingError(Exception):
    """The remote CloudWatch Logs refused or could not be reached."""


def batches(events: Sequence[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    """``events`` in chronological order, cut into PutLogEvents batches within its limits."""
    batch: list[tuple[int, str]] = []
    size = 0
    for timestamp, message in sorted(events, key=lambda e: e[0]):
        cost = len(message.encode("utf-8")) + EVENT_OVERHEAD
        if batch and (
            len(batch) >= MAX_EVENTS or size + cost > MAX_BYTES or timestamp - batch[0][0] > MAX_SPAN_MS
        ):
            yield batch
            batch, size = [], 0
        batch.append((timestamp, message))
        size += cost
    if batch:
        yield batch


@dataclass
class RemoteLogs:
    session: boto3.Session
    endpoint_url: str | None
    # Log streams known to exist there, by (region, group, stream).
    _streams: set[tuple[str, str, str]] = field(default_factory=set)
    _clients: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> RemoteLogs:
        session = boto3.Session(profile_name=settings.forward_logs_profile or None)
        url = settings.forward_logs_url
        return cls(session, None if url == "aws" else url)

    def client(self, region: str) -> Any:
        found = self._clients.get(region)
        if found is None:
            config = botocore.config.Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2})
            found = self.session.client(
                "logs", region_name=region, endpoint_url=self.endpoint_url, config=config
            )
            self._clients[region] = found
        return found

    def put(self, region: str, group: str, stream: str, events: Sequence[tuple[int, str]]) -> None:
        client = self.client(region)
        try:
            self._ensure_stream(client, region, group, stream)
            for batch in batches(events):
                answer = client.put_log_events(
                    logGroupName=group,
                    logStreamName=stream,
                    logEvents=[{"timestamp": t, "message": m} for t, m in batch],
                )
                rejected = answer.get("rejectedLogEventsInfo")
                if rejected:
                    log.warning(
                        "the remote CloudWatch Logs rejected events of %s/%s: %s", group, stream, rejected
                    )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise ForwardingError(str(exc)) from None

    def _ensure_stream(self, client: Any, region: str, group: str, stream: str) -> None:
        if (region, group, stream) in self._streams:
            return
        with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
            client.create_log_stream(logGroupName=group, logStreamName=stream)
        self._streams.add((region, group, stream))
