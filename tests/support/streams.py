"""A tenant of the real-time path's tests: an account with a bucket, a log group, and trails streaming
to it; readers of the group's log events."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tests.support.delivery import Tenant as DeliveryTenant
from tests.support.server import Server, iso, wait_for
from tests.support.stub import Stub

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


# -- metric filters, metrics and alarms on the tenant's group ---------------------------------------------


def at(record: dict[str, Any], epoch: int, **fields: Any) -> dict[str, Any]:
    """``record`` happening at second ``epoch`` (its eventTime), with ``fields`` changed."""
    return {**record, "eventTime": iso(epoch), **fields}


class Monitored(Tenant):
    """A tenant whose trail streams to its group, with CloudWatch at hand: metric filters on the group,
    the statistics of their metrics, alarms."""

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.cloudwatch = server.client("cloudwatch", self.creds)
        self.namespace = f"OpenTrail/{uuid.uuid4().hex[:8]}"

    def metric_filter(self, name: str, pattern: str, value: str = "1", **transformation: Any) -> None:
        self.logs.put_metric_filter(
            logGroupName=self.group,
            filterName=name,
            filterPattern=pattern,
            metricTransformations=[
                {
                    "metricName": name,
                    "metricNamespace": self.namespace,
                    "metricValue": value,
                    **transformation,
                }
            ],
        )

    def statistics(
        self, metric: str, start: int, end: int, period: int = 1, **dimensions: str
    ) -> dict[int, tuple[float, float]]:
        """GetMetricStatistics of ``metric``: period start -> (Sum, SampleCount)."""
        found = self.cloudwatch.get_metric_statistics(
            Namespace=self.namespace,
            MetricName=metric,
            Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
            StartTime=start,
            EndTime=end,
            Period=period,
            Statistics=["Sum", "SampleCount"],
        )["Datapoints"]
        return {int(p["Timestamp"].timestamp()): (p["Sum"], p["SampleCount"]) for p in found}

    def wait_statistics(
        self,
        metric: str,
        start: int,
        end: int,
        expected: dict[int, tuple[float, float]],
        timeout: float = 20.0,
        **dimensions: str,
    ) -> dict[int, tuple[float, float]]:
        """The statistics once they are ``expected`` (they only grow as events are counted), then
        again a moment later: nothing is counted twice."""

        def settled() -> dict[int, tuple[float, float]] | None:
            found = self.statistics(metric, start, end, **dimensions)
            return found if found == expected else None

        try:
            wait_for(settled, f"{metric} = {expected}", timeout)
        except AssertionError as err:
            raise AssertionError(
                f"{err}; found {self.statistics(metric, start, end, **dimensions)}"
            ) from None
        time.sleep(0.6)  # three passes of the metric-filter consumer
        found = self.statistics(metric, start, end, **dimensions)
        assert found == expected
        return found

    def topic(self, name: str, url: str) -> str:
        """A webhook topic of the tenant's (``opentrail topic create``): its ARN."""
        created = self.server.cli("topic", "create", name, "--url", url, "--account", self.account)
        return created.stdout.strip()


def alarm_notifications(webhook: Stub, alarm: str | None = None) -> list[dict[str, Any]]:
    """The alarm notifications a webhook received (CloudWatch's messages), oldest first; only
    ``alarm``'s when it is given."""
    found = []
    for sent in list(webhook.requests):
        message = json.loads(json.loads(sent.body)["Message"])
        if "AlarmName" in message and alarm in (None, message["AlarmName"]):
            found.append(message)
    return found


def wait_states(webhook: Stub, alarm: str, states: list[str], timeout: float = 30.0) -> list[dict[str, Any]]:
    """The alarm's notifications once their new states are ``states`` (failing on any other)."""

    def arrived() -> list[dict[str, Any]] | None:
        found = alarm_notifications(webhook, alarm)
        seen = [m["NewStateValue"] for m in found]
        assert seen == states[: len(seen)], f"{alarm} notified {seen}, expected {states}"
        return found if len(found) == len(states) else None

    return wait_for(arrived, f"{alarm}'s notifications {states}", timeout)
