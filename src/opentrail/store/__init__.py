"""Stores, opened from a URL by scheme."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from opentrail.clock import Clock
from opentrail.errors import ConfigError
from opentrail.store.base import (
    LOOKUP_ATTRIBUTES,
    AccessKey,
    Account,
    Doc,
    EventQuery,
    LogRow,
    LogSlice,
    Store,
)

__all__ = [
    "LOOKUP_ATTRIBUTES",
    "AccessKey",
    "Account",
    "Doc",
    "EventQuery",
    "LogRow",
    "LogSlice",
    "Store",
    "open_store",
    "redacted",
]


def redacted(url: str) -> str:
    """``url`` fit to print: a password in it (``postgresql://user:secret@host/db``, or libpq's
    ``?password=secret``) shows as ``***``."""
    parts = urlsplit(url)
    query = re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    if parts.password is None and query == parts.query:
        return url  # unchanged, as written (geturl() would turn sqlite:///x into sqlite:/x)
    if parts.password is not None:
        host = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username}:***@{host}")
    return parts._replace(query=query).geturl()


def open_store(url: str, clock: Clock | None = None) -> Store:
    """``sqlite:///abs/path.db`` (or ``sqlite:relative.db``), or ``postgresql://user@host:port/dbname``
    (any libpq URI; ``postgres://`` too)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = parts.path if parts.netloc == "" else parts.netloc + parts.path
        if not path:
            raise ConfigError(f"database URL {url!r} names no file; expected sqlite:///path/to/opentrail.db")
        from opentrail.store.sqlite.store import SQLiteStore

        return SQLiteStore(path, clock)
    if parts.scheme in ("postgresql", "postgres"):
        from opentrail.store.postgres.store import PostgresStore

        return PostgresStore(url, clock)
    raise ConfigError(
        f"database URL {redacted(url)!r} has an unsupported scheme {parts.scheme!r}; "
        "expected sqlite:///path or postgresql://user@host/dbname"
    )
