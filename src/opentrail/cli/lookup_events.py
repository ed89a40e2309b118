"""``opentrail lookup-events``: event history through the server's LookupEvents, every page, as a table
or as the AWS CLI's JSON (a client command)."""

from __future__ import annotations

import json
from typing import Any

import click

from opentrail.cli.common import data_dir_option, endpoint_option, err_console, out, remote_client
from opentrail.errors import ConfigError, OpenTrailError

_ATTRIBUTE_MEMBERS = ("AttributeKey", "AttributeValue")


def _shorthand_pieces(text: str) -> list[str]:
    """Split at commas outside quotes; quotes group, a backslash escapes the next character."""
    pieces: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    escaped = False
    for ch in text:
        if escaped:
            buf.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif quote is not None:
            if ch == quote:
                quote = None
            else:
                buf.append(ch)
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            pieces.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if quote is not None or escaped:
        raise ConfigError(f"--lookup-attributes {text!r} ends inside a quote or after a backslash")
    pieces.append("".join(buf))
    return pieces


def lookup_attributes(text: str) -> list[dict[str, Any]]:
    """One ``--lookup-attributes`` value in the AWS CLI's forms: shorthand
    ``AttributeKey=EventName,AttributeValue=CreateTrail`` or JSON (an object or a list of them)."""
    if text.lstrip().startswith(("{", "[")):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"--lookup-attributes is not valid JSON: {exc}") from None
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, dict) for item in items):
            raise ConfigError("--lookup-attributes JSON must be an object or a list of objects")
        return items
    item: dict[str, Any] = {}
    last: str | None = None
    for piece in _shorthand_pieces(text):
        name, sep, value = piece.partition("=")
        if not sep and last is not None:
            # An unquoted comma inside a value (a resource name, say): it belongs to the value.
            item[last] += "," + piece
            continue
        if name.strip() not in _ATTRIBUTE_MEMBERS:
            raise ConfigError(
                f"--lookup-attributes takes AttributeKey=KEY,AttributeValue=VALUE, got {piece!r} in {text!r}"
                " (quote a value that contains '=' or ',')"
            )
        last = name.strip()
        item[last] = value
    return [item]


def _epoch(option: str, text: str) -> float:
    import math

    from opentrail.clock import parse_time

    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            # JSON has no NaN or infinity: they would be sent as null and silently ignored.
            raise ConfigError(f"{option} must be a finite number of epoch seconds, got {text!r}")
        return number
    try:
        return parse_time(text)
    except OpenTrailError:
        raise ConfigError(
            f"{option} must be epoch seconds or an ISO-8601 time such as 2024-05-01T12:00:00Z, got {text!r}"
        ) from None


def _lookup_table(events: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from opentrail.clock import format_time

    table = Table(show_edge=False, pad_edge=False)
    table.add_column("Time (UTC)", no_wrap=True)
    table.add_column("Event name")
    table.add_column("Source")
    table.add_column("User")
    table.add_column("Event ID", no_wrap=True, min_width=36)
    table.add_column("Resources")
    for event in events:
        resources = "\n".join(
            " ".join(filter(None, (r.get("ResourceType"), r.get("ResourceName"))))
            for r in event.get("Resources") or ()
        )
        cells = (
            format_time(event["EventTime"]) if "EventTime" in event else "",
            event.get("EventName", ""),
            event.get("EventSource", ""),
            event.get("Username", ""),
            event.get("EventId", ""),
            resources,
        )
        # Text, not str: event fields are untrusted and must not be read as rich markup.
        table.add_row(*(Text(str(cell)) for cell in cells))
    # Piped output keeps whole columns instead of being squeezed into 80 characters.
    console = out()
    if not console.is_terminal:
        console = Console(width=max(console.width, 200))
    console.print(table)
    err_console().print(f"{len(events)} event{'s' if len(events) != 1 else ''}")


@click.command("lookup-events")
@data_dir_option
@click.option(
    "--lookup-attributes",
    "attributes",
    multiple=True,
    metavar="AttributeKey=KEY,AttributeValue=VALUE",
    help="Filter by one attribute: EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, "
    "EventSource or AccessKeyId.",
)
@click.option("--start-time", default=None, help="Events at or after this time (ISO-8601 or epoch seconds).")
@click.option("--end-time", default=None, help="Events at or before this time (ISO-8601 or epoch seconds).")
@click.option("--event-category", type=click.Choice(["insight"]), default=None, help="Insights events.")
@click.option("--max-items", type=click.IntRange(min=1), default=None, help="Stop after N events [all].")
@click.option("--region", default=None, help="Region [from the AWS configuration, else us-east-1].")
@endpoint_option
@click.option("--output", type=click.Choice(["table", "json"]), default="table", help="Output format.")
def lookup_events_command(
    data_dir: str | None,
    attributes: tuple[str, ...],
    start_time: str | None,
    end_time: str | None,
    event_category: str | None,
    max_items: int | None,
    region: str | None,
    endpoint_url: str | None,
    output: str,
) -> None:
    """Look up management (or Insights) events in event history, newest first, all pages."""
    params: dict[str, Any] = {}
    if attributes:
        params["LookupAttributes"] = [item for text in attributes for item in lookup_attributes(text)]
    if start_time is not None:
        params["StartTime"] = _epoch("--start-time", start_time)
    if end_time is not None:
        params["EndTime"] = _epoch("--end-time", end_time)
    if event_category is not None:
        params["EventCategory"] = event_category
    # One page size for every page: the server binds NextToken to MaxResults.
    params["MaxResults"] = min(50, max_items or 50)
    events: list[dict[str, Any]] = []
    with remote_client(data_dir, endpoint_url, region) as conn:
        token: str | None = None
        while max_items is None or len(events) < max_items:
            page = conn.cloudtrail("LookupEvents", {**params, "NextToken": token} if token else params)
            events.extend(page.get("Events") or [])
            token = page.get("NextToken")
            if not token:
                break
    events = events[:max_items] if max_items is not None else events
    if output == "json":
        click.echo(json.dumps({"Events": events}, indent=4, ensure_ascii=False))
    else:
        _lookup_table(events)
