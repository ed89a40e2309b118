"""Placeholder until the channels operations land."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .context import Call
from .errors import raise_api

OPERATIONS: dict[str, Callable[[Call, dict[str, Any]], dict[str, Any]]] = {}


async def put_audit_events(call: Call, query: dict[str, str], body: bytes) -> dict[str, Any]:
    raise_api("ChannelNotFound", "no channels yet")
    return {}
