"""A tenant of the real-time path's tests: an account with a bucket, a log group, and trails streaming
to it; readers of the group's log events."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.support.delivery import Tenant as DeliveryTenant
from tests.support.server import Server, wait_for

ROLE = "arn:aws:iam::{account}:role/CloudTrail_CloudWatchLogs_Role"


class Tenant(DeliveryTenant):
    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.logs = server.client("logs", self.creds)
        self.group = f"CloudTrail/{uuid.uuid4().hex[:8]}"
        self.logs.create_log_group(logGroupName=self.group)

    @property
    def group_arn(self) -> str:
        return f"arn:aws:logs:us-east-1:{self.account}:log-group:{self.group}:*"

    def streaming_trail(self, name: str, **options: Any) -> str:
        return self.trail(
            name,
            CloudWatchLogsLogGroupArn=self.group_arn,
            CloudWatchLogsRoleArn=ROLE.format(account=self.account),
            **options,
        )

    def stream(self, region: str = "us-east-1") -> str:
        return f"{self.account}_CloudTrail_{region}"

    def log_events(self, stream: str | None = None) -> list[dict[str, Any]]:
        """Every log event of the trail's stream, oldest first (GetLogEvents, page by page)."""
        found: list[dict[str, Any]] = []
        token = None
        while True:
            args: dict[str, Any] = {"logGroupName": self.group, "logStreamName": stream or self.stream()}
            args.update(startFromHead=True)
            if token:
                args["nextToken"] = token
            page = self.logs.get_log_events(**args)
            found.extend(page["events"])
            if not page["events"] or page["nextForwardToken"] == token:
                return found
            token = page["nextForwardToken"]

    def streamed_ids(self, stream: str | None = None) -> list[str]:
        try:
            events = self.log_events(stream)
        except self.logs.exceptions.ResourceNotFoundException:
            return []
        return [json.loads(e["message"])["eventID"] for e in events]

    def wait_streamed(self, ids: set[str], timeout: float = 30.0) -> list[str]:
        def arrived() -> list[str] | None:
            found = self.streamed_ids()
            return found if ids <= set(found) else None

        return wait_for(arrived, f"events {sorted(ids)[:3]}... in {self.group}", timeout)
