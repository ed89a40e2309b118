"""Generated events for the tests of event history, in-process and over HTTP."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from opentrail.clock import format_time

BASE = 1_704_067_200  # 2024-01-01T00:00:00Z


@dataclass(frozen=True)
class Spec:
    """One generated event."""

    offset: int
    name: str
    resource: bool
    read_only: bool
    category: str


def raw_record(spec: Spec, region: str = "us-east-1") -> bytes:
    rec: dict[str, Any] = {
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "userName": "u", "accessKeyId": "AKIAU"},
        "eventTime": format_time(BASE + spec.offset),
        "eventSource": "prop.example.com",
        "eventName": spec.name,
        "awsRegion": region,
        "eventID": str(uuid.uuid4()),
        "readOnly": spec.read_only,
        "eventCategory": spec.category,
    }
    if spec.resource:
        rec["resources"] = [{"ARN": "arn:aws:prop:::r", "type": "AWS::Prop::R"}]
    return json.dumps(rec).encode()
