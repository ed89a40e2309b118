"""Placeholder until the trails operations land."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .context import Call

OPERATIONS: dict[str, Callable[[Call, dict[str, Any]], dict[str, Any]]] = {}
