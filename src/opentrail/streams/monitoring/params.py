"""Request parameters from each wire protocol into the one plain form operations take, walking the
operation's input shape: members keyed by the model's names, lists as lists, maps as dicts, numbers as
int or float, booleans as bool, timestamps as float epoch seconds.

- JSON 1.0 and rpc-v2-cbor (``from_tree``): the decoded body is walked; a value of the wrong type is
  ``SerializationException``, as AWS's JSON services answer. Timestamps come as epoch numbers (JSON),
  CBOR tag 1 (decoded by cbor2 to a datetime), or an ISO 8601 text.
- query (``from_query``): the flattened form (``MetricData.member.1.Dimensions.member.2.Name``) is
  first split into a tree by its dots, then walked the same way; its texts are converted by the shape
  (a text that is not the shape's type is ``InvalidParameterValue``, as the query API answers).

A structure's missing required member is ``MissingParameter`` (the model's
MissingRequiredParameterException); members the model does not know are ignored.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import math
from collections.abc import Iterable
from typing import Any

from opentrail.errors import SerializationException, api_error

__all__ = ["epoch", "from_query", "from_tree", "query_tree"]

InvalidParameterValue = api_error("InvalidParameterValueException")
MissingParameter = api_error("MissingRequiredParameterException")


def epoch(value: Any, where: str) -> float:
    """A timestamp as float epoch seconds: a number, a datetime, or ISO 8601 text (UTC if unzoned)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return float(value.timestamp())
    if isinstance(value, bool):
        raise SerializationException(f"{where} must be a timestamp, got a boolean")
    if isinstance(value, int | float):
        return _finite(value, where)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            return _finite(number, where)
        try:
            return epoch(datetime.datetime.fromisoformat(value), where)
        except ValueError:
            raise InvalidParameterValue(
                f"The parameter {where} must be a timestamp (ISO 8601 or epoch seconds), got {value[:64]!r}."
            ) from None
    raise SerializationException(f"{where} must be a timestamp, got {type(value).__name__}")


def _finite(value: float, where: str) -> float:
    """``value`` as a float, or ``SerializationException`` for what no float holds (an integer past
    1e308, infinities, NaN)."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise SerializationException(f"{where} must be a finite number, got {str(value)[:32]}")
    return number


def _required(shape: Any, found: dict[str, Any], where: str) -> dict[str, Any]:
    for name in shape.required_members:
        if name not in found:
            raise MissingParameter(f"The parameter {where}{name} is required.")
    return found


# -- JSON 1.0 and CBOR -------------------------------------------------------------------------------
_TREE_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "double": (int, float),
    "float": (int, float),
    "boolean": (bool,),
    "list": (list,),
    "map": (dict,),
    "structure": (dict,),
}


def from_tree(shape: Any, value: Any, where: str = "") -> Any:
    """``value`` (decoded JSON or CBOR) as the plain form of ``shape``."""
    _check_type(shape.type_name, value, where)
    kind = shape.type_name
    if kind == "timestamp":
        return epoch(value, where.rstrip(".") or shape.name)
    if kind == "blob":
        return _blob(value, where)
    if kind == "structure":
        found = {}
        for name, member in shape.members.items():
            item = value.get(member.serialization.get("name", name))
            if item is not None:
                found[name] = from_tree(member, item, f"{where}{name}.")
        return _required(shape, found, where)
    if kind == "list":
        return [
            from_tree(shape.member, item, f"{where.rstrip('.')}.member.{i}.")
            for i, item in enumerate(value, 1)
        ]
    if kind == "map":
        return {str(k): from_tree(shape.value, v, f"{where}{k}.") for k, v in value.items()}
    if kind in ("double", "float"):  # CBOR carries infinities and NaN, which no CloudWatch number takes
        return _finite(value, where.rstrip("."))
    return value


def _check_type(kind: str, value: Any, where: str) -> None:
    expected = _TREE_TYPES.get(kind, (object,))
    if not isinstance(value, expected) or (isinstance(value, bool) and kind != "boolean"):
        raise SerializationException(
            f"{where.rstrip('.') or 'the request body'} must be a {kind}, got {type(value).__name__}"
        )


def _blob(value: Any, where: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            pass
    raise SerializationException(f"{where.rstrip('.')} must be base64-encoded bytes")


# -- query -------------------------------------------------------------------------------------------
# child name -> Node; the text given for the node itself under None (no name part can be None, while
# "" can: ``a..b`` or ``a.`` are names a client may send).
Node = dict[str | None, Any]


def query_tree(pairs: Iterable[tuple[str, str]]) -> Node:
    """The form's flattened names split at their dots into a tree:
    ``a.b.1=x`` -> ``{a: {b: {1: {None: x}}}}``."""
    root: Node = {}
    for key, text in pairs:
        node = root
        for part in key.split("."):
            node = node.setdefault(part, {})
        node[None] = text
    return root


def from_query(shape: Any, node: Node, where: str = "") -> Any:
    """The query tree ``node`` as the plain form of ``shape``."""
    kind = shape.type_name
    if kind == "structure":
        found = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if wire in node:
                found[name] = from_query(member, node[wire], f"{where}{wire}.")
        return _required(shape, found, where)
    if kind == "list":
        items = (
            node
            if shape.serialization.get("flattened")
            else node.get(shape.member.serialization.get("name", "member"), {})
        )
        return [from_query(shape.member, items[i], f"{where}member.{i}.") for i in _indexes(items, where)]
    if kind == "map":
        entries = node.get("entry", {})
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        return {
            str(from_query(shape.key, entries[i].get(key_name, {}), where)): from_query(
                shape.value, entries[i].get(value_name, {}), f"{where}entry.{i}."
            )
            for i in _indexes(entries, where)
        }
    return _scalar(shape, node.get(None), where.rstrip("."))


def _indexes(items: Node, where: str) -> list[str]:
    numbered = [k for k in items if k is not None]
    if not all(k.isascii() and k.isdigit() and not k.startswith("0") for k in numbered):
        raise InvalidParameterValue(
            f"The parameter {where.rstrip('.')} has a member that is not numbered from 1."
        )
    return sorted(numbered, key=int)


def _scalar(shape: Any, text: str | None, where: str) -> Any:
    if text is None:
        raise MissingParameter(f"The parameter {where} is required.")
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("double", "float"):
            number = float(text)
            if math.isfinite(number):
                return number
            raise ValueError(text)
    except ValueError:
        raise InvalidParameterValue(
            f"The value {text[:64]} for parameter {where} is not a valid {kind}."
        ) from None
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise InvalidParameterValue(
                f"The value {text[:64]} for parameter {where} is not a valid boolean."
            )
        return text.lower() == "true"
    if kind == "timestamp":
        return epoch(text, where)
    if kind == "blob":
        return _blob(text, where)
    return text
