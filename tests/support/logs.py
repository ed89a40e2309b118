"""Helpers for the CloudWatch Logs tests: run an operation in process, as an account."""

from __future__ import annotations

from typing import Any

from opentrail.streams.logs.operations import OPERATIONS
from tests.support.calls import Env
from tests.support.services import START

ACCOUNT = "111111111111"
OTHER = "222222222222"
NOW_MS = int(START * 1000)


def run(env: Env, operation: str, account: str = ACCOUNT, region: str = "us-east-1", **params: Any) -> Any:
    """``operation``'s result for ``params`` (the wire's member names), called by ``account``."""
    return OPERATIONS[operation](env.call(account, region), params)


def group_with_events(env: Env, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    run(env, "CreateLogGroup", logGroupName=group)
    run(env, "CreateLogStream", logGroupName=group, logStreamName=stream)
    put(env, group, stream, events)


def put(env: Env, group: str, stream: str, events: list[tuple[int, str]], **extra: Any) -> Any:
    batch = [{"timestamp": t, "message": m} for t, m in events]
    return run(env, "PutLogEvents", logGroupName=group, logStreamName=stream, logEvents=batch, **extra)
