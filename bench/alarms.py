"""Alarm latency: from an acknowledged event that matches a metric filter to the alarm's notification
arriving at a webhook topic, with a 10-second-period alarm on the filter's metric.

The event goes the whole real-time path: ``POST /IngestRecords`` (acknowledged once durable), a trail
streaming to a log group, a metric filter counting it, the alarm evaluated when its period closes, the
notification sent from the durable outbox to a webhook on loopback. Each trial waits for the alarm to be
OK, ingests one matching event, and times the ALARM notification: after the end of the period holding
the event (the alarm cannot know before), and after the acknowledgement. The alarm returns to OK on the
next empty period (TreatMissingData notBreaching) before the next trial.

    python -m bench.alarms [--trials 10] [--period 10]

Goal (issue 14): p99 under 2 s after the period closes (AWS: minutes of CloudTrail-to-CloudWatch
delivery, then the period). Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .common import OPENTRAIL, Connection, Server, Signer, median, percentile, remove_dir, temp_dir
from .streams import client

GOAL_P99_S = 2.0
GROUP = "CloudTrail/alarms"
PROBE = "BenchAlarmProbe"


class Webhook:
    """A webhook topic's endpoint on loopback: each POSTed notification with its arrival time."""

    def __init__(self) -> None:
        arrivals: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.arrivals = arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                arrivals.put((time.time(), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def next_state(self, state: str, timeout: float) -> float:
        """When the next notification of a transition to ``state`` arrived."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                arrived, envelope = self.arrivals.get(timeout=max(0.0, deadline - time.time()))
            except queue.Empty:
                break
            if json.loads(envelope.get("Message", "{}")).get("NewStateValue") == state:
                return arrived
        raise RuntimeError(f"no {state} notification within {timeout:.0f} s")


def configure(server: Server, webhook: Webhook, period: int) -> None:
    assert server.root is not None
    account = server.root.account_id
    env = {**server.env(), "OPENTRAIL_ENDPOINT_URL": f"http://127.0.0.1:{server.port}"}
    subprocess.run(
        [*OPENTRAIL, "topic", "create", "alarms", "--url", webhook.url],
        env=env,
        check=True,
        capture_output=True,
    )
    topic = f"arn:aws:sns:us-east-1:{account}:alarms"
    client(server, "s3").create_bucket(Bucket="bench-alarms")
    logs = client(server, "logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.put_metric_filter(
        logGroupName=GROUP,
        filterName="probe",
        filterPattern=f'{{ $.eventName = "{PROBE}" }}',
        metricTransformations=[{"metricName": "Probes", "metricNamespace": "Bench", "metricValue": "1"}],
    )
    cloudtrail = client(server, "cloudtrail")
    cloudtrail.create_trail(
        Name="alarms",
        S3BucketName="bench-alarms",
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:us-east-1:{account}:log-group:{GROUP}:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{account}:role/CloudTrail_CloudWatchLogs_Role",
    )
    cloudtrail.start_logging(Name="alarms")
    client(server, "cloudwatch").put_metric_alarm(
        AlarmName="probe-alarm",
        MetricName="Probes",
        Namespace="Bench",
        Statistic="Sum",
        Period=period,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic],
        OKActions=[topic],
    )


def probe(account: str, now: float) -> bytes:
    record = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "accountId": account, "userName": "bench"},
        "eventTime": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "ec2.amazonaws.com",
        "eventName": PROBE,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.1",
        "userAgent": "bench",
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    return json.dumps({"Records": [record]}).encode()


def trials(server: Server, webhook: Webhook, count: int, period: int) -> list[tuple[float, float]]:
    """(seconds after the period closed, seconds after the acknowledgement), per trial."""
    assert server.root is not None
    webhook.next_state("OK", timeout=4 * period + 30)  # INSUFFICIENT_DATA -> OK once a period passed
    signer = Signer(server.root, "us-east-1", "cloudtrail-data", f"127.0.0.1:{server.port}")
    found = []
    for _ in range(count):
        # Early in a period, so the event's second is clearly inside it.
        time.sleep((-time.time()) % period + 1.0)
        # A connection per trial: the server closes one idle for longer than its keep-alive timeout.
        conn = Connection(server.port)
        sent = time.time()
        body = probe(server.root.account_id, sent)
        try:
            status, answer = conn.post(
                "/IngestRecords", body, signer.headers("/IngestRecords", body, "application/json")
            )
        finally:
            conn.close()
        acknowledged = time.time()
        if status != 200:
            raise RuntimeError(f"ingest failed: {status} {answer[:200]!r}")
        closes = (math.floor(sent) // period + 1) * period
        arrived = webhook.next_state("ALARM", timeout=3 * period + 30)
        found.append((arrived - closes, arrived - acknowledged))
        print(
            f"  trial {len(found):>2}: {arrived - closes:6.2f} s after the period closed, "
            f"{arrived - acknowledged:6.2f} s after the ack",
            flush=True,
        )
        webhook.next_state("OK", timeout=3 * period + 30)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=10, help="alarm transitions timed [10]")
    parser.add_argument(
        "--period", type=int, default=10, choices=(10, 30, 60), help="alarm period, seconds [10]"
    )
    opts = parser.parse_args()
    print(f"OpenTrail alarm latency: {os.cpu_count()} cores, SQLite; a {opts.period}-second period alarm")
    data_dir = temp_dir("opentrail-bench-alarms-")
    server = Server(data_dir, env_extra={"OPENTRAIL_DELIVERY_INTERVAL": "1"})
    webhook = Webhook()
    try:
        server.start()
        configure(server, webhook, opts.period)
        found = trials(server, webhook, opts.trials, opts.period)
    finally:
        server.stop()
        webhook.httpd.shutdown()
        remove_dir(data_dir)
    after_close = [a for a, _ in found]
    after_ack = [b for _, b in found]
    print()
    print(
        f"after the period closed: p50 {median(after_close):.2f} s, p99 {percentile(after_close, 99):.2f} s "
        f"(goal p99 < {GOAL_P99_S:.0f} s); after the ack: p50 {median(after_ack):.2f} s, "
        f"p99 {percentile(after_ack, 99):.2f} s, over {len(found)} trials"
    )


if __name__ == "__main__":
    main()
