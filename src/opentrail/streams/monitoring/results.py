"""Operation results out to each wire protocol, walking the operation's output shape (the plain form
operations return: timestamps as float epoch seconds).

- JSON 1.0: epoch seconds as numbers (botocore's ``unixtimestamp``).
- rpc-v2-cbor: CBOR, timestamps as tag 1 over epoch seconds (what botocore's CBOR parser reads).
- query: XML in CloudWatch's namespace, ``<OpResponse><OpResult>...</OpResult><ResponseMetadata>``, lists
  as ``<member>`` elements, maps as ``<entry><key/><value/></entry>``, timestamps in ISO 8601.

Members the shape does not know, and None values, are left out.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

import cbor2

from opentrail.streams.monitoring.model import NAMESPACE

__all__ = ["iso8601", "to_cbor_tree", "to_json_tree", "to_xml"]


# Characters XML 1.0 cannot carry, even escaped: replaced so that a label or message holding one still
# gives a document botocore can parse.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def text(value: str) -> str:
    """``value`` as XML character data."""
    return escape(_NOT_XML.sub("\ufffd", value))


def iso8601(seconds: float) -> str:
    """CloudWatch's XML timestamp: UTC, milliseconds, ``Z``."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _number(value: Any) -> Any:
    number = float(value)
    if math.isfinite(number):
        return number
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


def _tree(shape: Any, value: Any, stamp: Callable[[float], Any]) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return {
            member.serialization.get("name", name): _tree(member, value[name], stamp)
            for name, member in shape.members.items()
            if value.get(name) is not None
        }
    if kind == "list":
        return [_tree(shape.member, item, stamp) for item in value]
    if kind == "map":
        return {str(k): _tree(shape.value, v, stamp) for k, v in value.items()}
    if kind == "timestamp":
        return stamp(float(value))
    if kind in ("double", "float"):
        return _number(value)
    if kind in ("integer", "long"):
        return int(value)
    return value


def to_json_tree(shape: Any, value: dict[str, Any]) -> Any:
    return {} if shape is None else _tree(shape, value, lambda seconds: seconds)


def to_cbor_tree(shape: Any, value: dict[str, Any]) -> Any:
    return {} if shape is None else _tree(shape, value, lambda seconds: cbor2.CBORTag(1, seconds))


def _xml_text(shape: Any, value: Any) -> str:
    kind = shape.type_name
    if kind == "timestamp":
        return iso8601(float(value))
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("double", "float"):
        number = _number(value)
        return number if isinstance(number, str) else repr(number)
    return text(str(value))


def _xml(shape: Any, value: Any, out: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        for name, member in shape.members.items():
            if value.get(name) is not None:
                tag = member.serialization.get("name", name)
                out.append(f"<{tag}>")
                _xml(member, value[name], out)
                out.append(f"</{tag}>")
    elif kind == "list":
        tag = shape.member.serialization.get("name", "member")
        for item in value:
            out.append(f"<{tag}>")
            _xml(shape.member, item, out)
            out.append(f"</{tag}>")
    elif kind == "map":
        for k, v in value.items():
            out.append(f"<entry><key>{text(str(k))}</key><value>")
            _xml(shape.value, v, out)
            out.append("</value></entry>")
    else:
        out.append(_xml_text(shape, value))


def to_xml(operation: str, shape: Any, value: dict[str, Any], request_id: str) -> bytes:
    """The query protocol's answer to ``operation``."""
    out = [f'<{operation}Response xmlns="{NAMESPACE}">']
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{operation}Result")
        out.append(f"<{wrapper}>")
        _xml(shape, value, out)
        out.append(f"</{wrapper}>")
    out.append(f"<ResponseMetadata><RequestId>{text(request_id)}</RequestId></ResponseMetadata>")
    out.append(f"</{operation}Response>")
    return "".join(out).encode()


def xml_error(code: str, message: str, sender: bool, request_id: str) -> bytes:
    """The query protocol's error document."""
    side = "Sender" if sender else "Receiver"
    return (
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{side}</Type><Code>{text(code)}</Code>'
        f"<Message>{text(message)}</Message></Error><RequestId>{text(request_id)}</RequestId>"
        "</ErrorResponse>"
    ).encode()
