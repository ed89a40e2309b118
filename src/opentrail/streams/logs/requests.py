"""What every CloudWatch Logs operation reads from its request: names and identifiers checked against
the logs model's patterns and lengths, limits, and the errors AWS answers for a missing group or stream.

Constraint failures read as AWS's (``1 validation error detected: Value 'x' at 'logGroupName' failed to
satisfy constraint: ...``) under ``InvalidParameterException``, as CloudWatch Logs answers them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from opentrail import params
from opentrail.context import Call
from opentrail.errors import ApiError, InvalidParameter, ResourceNotFound, SerializationException
from opentrail.store.logs import LogGroup

GROUP_NAME = re.compile(r"[.\-_/#A-Za-z0-9]+")
STREAM_NAME = re.compile(r"[^:*]*")
GROUP_NOT_FOUND = "The specified log group does not exist."
STREAM_NOT_FOUND = "The specified log stream does not exist."
MAX_NAME = 512
MAX_LONG = 2**63 - 1  # the model's ``long``; and the databases' integers


def invalid(value: Any, member: str, constraint: str) -> ApiError:
    text = str(value)
    shown = text if len(text) <= 100 else text[:100] + "..."
    return InvalidParameter(
        f"1 validation error detected: Value '{shown}' at '{member}' failed to satisfy constraint: "
        f"Member must {constraint}"
    )


def name(
    value: Any, member: str, pattern: re.Pattern[str], *, max_len: int = MAX_NAME, min_len: int = 1
) -> str:
    """A name member, checked against its length and its pattern."""
    text = params.string({member: value}, member, required=True)
    assert text is not None  # noqa: S101 - required=True never returns None
    if len(text) < min_len:
        raise invalid(text, member, f"have length greater than or equal to {min_len}")
    if len(text) > max_len:
        raise invalid(text, member, f"have length less than or equal to {max_len}")
    if not pattern.fullmatch(text):
        raise invalid(text, member, f"satisfy regular expression pattern: {pattern.pattern}")
    return text


def group_name(p: params.Params, member: str = "logGroupName") -> str:
    if p.get(member) is None:
        raise InvalidParameter(f"{member} is required but was not provided")
    return name(p[member], member, GROUP_NAME)


def stream_name(p: params.Params, member: str = "logStreamName") -> str:
    if p.get(member) is None:
        raise InvalidParameter(f"{member} is required but was not provided")
    return name(p[member], member, STREAM_NAME)


def optional_prefix(p: params.Params, member: str, pattern: re.Pattern[str]) -> str | None:
    return None if p.get(member) is None else name(p[member], member, pattern)


def group_of_arn(call: Call, arn: str) -> str | None:
    """The group name an ARN of this account and region names (``:*`` allowed at the end), else None:
    another account's group is not found, as it does not exist for this caller."""
    prefix = f"arn:aws:logs:{call.region}:{call.account}:log-group:"
    if not arn.startswith(prefix):
        return None
    rest = arn[len(prefix) :].removesuffix(":*")
    return rest if GROUP_NAME.fullmatch(rest) and len(rest) <= MAX_NAME else None


def identified_group(call: Call, p: params.Params) -> str:
    """The group a read names, by ``logGroupName`` or ``logGroupIdentifier`` (a name or an ARN); exactly
    one of them."""
    by_name, identifier = params.string(p, "logGroupName"), params.string(p, "logGroupIdentifier")
    if (by_name is None) == (identifier is None):
        raise InvalidParameter("Exactly one of logGroupName or logGroupIdentifier must be specified.")
    if by_name is not None:
        return group_name(p)
    text = params.required_string(p, "logGroupIdentifier", max_len=2048)
    if text.startswith("arn:"):
        found = group_of_arn(call, text)
        if found is None:
            raise ResourceNotFound(GROUP_NOT_FOUND)
        return found
    return name(text, "logGroupIdentifier", GROUP_NAME)


def existing_group(call: Call, group: str) -> LogGroup:
    found = call.store.logs.group(call.account, call.region, group)
    if found is None:
        raise ResourceNotFound(GROUP_NOT_FOUND)
    return found


def limit(p: params.Params, member: str, high: int, default: int) -> int:
    value = params.integer(p, member)
    if value is None:
        return default
    if value < 1:
        raise invalid(value, member, "have value greater than or equal to 1")
    if value > high:
        raise invalid(value, member, f"have value less than or equal to {high}")
    return value


def millis(p: params.Params, member: str) -> int | None:
    """A timestamp member (epoch milliseconds, a long of at least 0)."""
    value = params.integer(p, member)
    if value is not None and value < 0:
        raise invalid(value, member, "have value greater than or equal to 0")
    if value is not None and value > MAX_LONG:
        raise invalid(value, member, f"have value less than or equal to {MAX_LONG}")
    return value


_TYPE_CHECKS: dict[str, Callable[[params.Params, str], object]] = {
    "boolean": params.boolean,
    "string": params.string,
    "list": params.array,
    "structure": lambda p, member: None if p.get(member) is None else params.structure(p[member], member),
    "strings": lambda p, member: [text(v, member) for v in params.array(p, member) or []],
}


def typed(p: params.Params, **members: str) -> None:
    """Members this server accepts without acting on them still hold the model's JSON type
    (``SerializationException`` otherwise, as for every member)."""
    for member, kind in members.items():
        _TYPE_CHECKS[kind](p, member)


def text(value: Any, member: str) -> str:
    """An element of a list or a map that the model types as a string."""
    if not isinstance(value, str):
        raise SerializationException(f"{member} must be a string, got {type(value).__name__} {value!r}")
    return value


def touch_group(call: Call, group: str) -> None:
    """Name the group in the call's audit record."""
    call.touch("AWS::Logs::LogGroup", f"arn:aws:logs:{call.region}:{call.account}:log-group:{group}")
