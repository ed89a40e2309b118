"""Typed access to a request's JSON members, with CloudTrail's errors when a member is wrong.

botocore checks only required members, types and minimums before sending; everything else (maximums,
enums, patterns) the server must check. Wrong JSON types are ``SerializationException``, as AWS answers.
"""

from __future__ import annotations

import math
from typing import Any

from opentrail.clock import parse_time
from opentrail.errors import ApiError, InvalidParameter, InvalidTimeRange, RecordError, SerializationException

Params = dict[str, Any]


def _missing(name: str, error: type[ApiError]) -> ApiError:
    return error(f"{name} is required but was not provided")


def string(
    params: Params,
    name: str,
    *,
    required: bool = False,
    min_len: int = 0,
    max_len: int | None = None,
    error: type[ApiError] = InvalidParameter,
) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise _missing(name, error)
        return None
    if not isinstance(value, str):
        raise SerializationException(f"{name} must be a string, got {type(value).__name__} {value!r}")
    if len(value) < min_len or (max_len is not None and len(value) > max_len):
        bound = f"between {min_len} and {max_len}" if max_len is not None else f"at least {min_len}"
        raise error(f"{name} must be {bound} characters long, got {len(value)}: {value[:80]!r}")
    return value


def required_string(params: Params, name: str, **kwargs: Any) -> str:
    value = string(params, name, required=True, **kwargs)
    assert value is not None  # noqa: S101 - required=True never returns None
    return value


def boolean(params: Params, name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise SerializationException(f"{name} must be a boolean, got {type(value).__name__} {value!r}")
    return value


def integer(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SerializationException(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    return value


def timestamp(params: Params, name: str) -> float | None:
    """Epoch seconds; botocore sends integers, other SDKs floats. ISO strings are accepted too."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise SerializationException(f"{name} must be a timestamp in epoch seconds, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise SerializationException(f"{name} must be a finite timestamp, got {value!r}")
        return float(value)
    if isinstance(value, str):
        try:
            return parse_time(value)
        except RecordError:
            raise SerializationException(
                f"{name} must be a timestamp (epoch seconds or ISO-8601), got {value!r}"
            ) from None
    raise SerializationException(f"{name} must be a timestamp in epoch seconds, got {value!r}")


def array(
    params: Params, name: str, *, required: bool = False, error: type[ApiError] = InvalidParameter
) -> list[Any] | None:
    value = params.get(name)
    if value is None:
        if required:
            raise _missing(name, error)
        return None
    if not isinstance(value, list):
        raise SerializationException(f"{name} must be a list, got {type(value).__name__}")
    return value


def structure(value: Any, name: str) -> Params:
    if not isinstance(value, dict):
        raise SerializationException(f"{name} must be an object, got {type(value).__name__} {value!r}")
    return value


# 9999-12-31T23:59:59Z: the last second an ISO-8601 timestamp (and CloudTrail's eventTime) can name.
MAX_EPOCH = 253_402_300_799


def time_bound(params: Params, name: str) -> float | int | None:
    """Epoch seconds as sent (int or float), or an ISO-8601 string's value; ``None`` when absent.

    A time no timestamp can represent (negative, past year 9999, NaN, infinite) is a bad time range,
    not a malformed request: the JSON is fine, the value is out of range.
    """
    value = params.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        number: float | int = value
    else:
        parsed = timestamp(params, name)  # strings, and the SerializationException for wrong types
        if parsed is None:
            return None
        number = parsed
    # NaN compares false with everything, so this one test refuses it along with the infinities.
    if not 0 <= number <= MAX_EPOCH:
        raise InvalidTimeRange(
            f"{name} {value!r} is outside the range of possible values; expected epoch seconds from 0 "
            f"(1970-01-01T00:00:00Z) to {MAX_EPOCH} (9999-12-31T23:59:59Z)"
        )
    return number
