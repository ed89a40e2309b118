"""Replay CloudTrail records from files into OpenTrail's native batch endpoint (``put-events``).

Accepted inputs, plain or gzip-compressed (detected by content, and required when the name ends in
``.gz``): a CloudTrail log file ``{"Records": [...]}``, a JSON array of records, JSON Lines (one record
per line), or a file holding one record object. Directories are searched for ``*.json`` and
``*.json.gz``.

Records are sliced out of the file as raw bytes (``msgspec.Raw``) and sent exactly as they are written
there, never re-serialised: the server keeps the bytes it receives as evidence, so what it stores is
what the file holds. Every file is parsed once before anything is sent, so a bad file stops the run
before it has written half of its data; the same pass counts the records for the progress bar.

Batches are safe to retry (the server deduplicates by account and eventID), so a batch is resent on
connection errors, 5xx answers and throttling, with exponential backoff.
"""

from __future__ import annotations

import enum
import gzip
import random
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec

from opentrail.errors import ConfigError, RemoteError

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_ATTEMPTS = 5
_ENVELOPE = len(b'{"Records":[]}')
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_RETRYABLE_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
_KINDS = {b'"': "string", b"[": "array", b"t": "boolean", b"f": "boolean", b"n": "null"}


class Shape(enum.Enum):
    LOG_FILE = "CloudTrail log file"
    ARRAY = "JSON array"
    LINES = "JSON Lines"
    RECORD = "single record"


class _Top(msgspec.Struct):
    """A top-level object: a log file when it has ``Records``, else taken as one record."""

    Records: list[msgspec.Raw] | msgspec.UnsetType = msgspec.UNSET


_top_decoder = msgspec.json.Decoder(_Top)
_array_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_raw_decoder = msgspec.json.Decoder(msgspec.Raw)


@dataclass(slots=True)
class Source:
    """The records of one file, as raw bytes, in file order."""

    path: Path
    shape: Shape
    records: list[bytes]
    lines: list[int] | None = None  # 1-based line of each record, for JSON Lines

    def where(self, index: int) -> str:
        """Where record ``index`` sits in the file, in terms a user can look up (jq path or line)."""
        if self.shape is Shape.LOG_FILE:
            return f"Records[{index}]"
        if self.shape is Shape.ARRAY:
            return f"[{index}]"
        if self.shape is Shape.LINES and self.lines is not None:
            return f"line {self.lines[index]}"
        return "record"


def _bad(path: Path, reason: str) -> ConfigError:
    return ConfigError(f"{path}: {reason}")


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given; directories replaced by their ``*.json`` and ``*.json.gz`` files, sorted."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        inside = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith((".json", ".json.gz")))
        if not inside:
            raise _bad(path, "directory holds no .json or .json.gz files")
        found.extend(inside)
    return found


def read_bytes(path: Path) -> bytes:
    """The file's JSON text: gunzipped when it is gzip, without a UTF-8 byte-order mark."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _bad(path, f"cannot read the file: {exc.strerror or exc}") from None
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise _bad(path, f"not a valid gzip file: {exc}") from None
    elif path.name.endswith(".gz"):
        raise _bad(path, f"named .gz but not gzip-compressed (it starts with {data[:8]!r})")
    return data.removeprefix(_BOM)


def _objects(path: Path, items: list[msgspec.Raw], label: Callable[[int], str]) -> list[bytes]:
    records = [bytes(item) for item in items]
    for index, record in enumerate(records):
        if record[:1] != b"{":
            kind = _KINDS.get(record[:1], "number")
            raise _bad(path, f"{label(index)} is a JSON {kind}, not a record object")
    return records


def _json_lines(path: Path, data: bytes, whole_error: msgspec.DecodeError) -> Source:
    """Parse JSON Lines; if the first line is not a JSON object alone, report the whole-file error."""
    records: list[bytes] = []
    numbers: list[int] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        text = line.strip()
        if not text:
            continue
        try:
            raw = bytes(_raw_decoder.decode(text))
        except msgspec.DecodeError as exc:
            if not records:
                raise _bad(path, f"not valid JSON: {whole_error}") from None
            raise _bad(path, f"line {number} is not valid JSON: {exc}") from None
        if raw[:1] != b"{":
            if not records:
                raise _bad(path, f"not valid JSON: {whole_error}")
            raise _bad(path, f"line {number} is a JSON {_KINDS.get(raw[:1], 'number')}, not a record object")
        records.append(raw)
        numbers.append(number)
    return Source(path, Shape.LINES, records, numbers)


def parse_source(path: Path, data: bytes) -> Source:
    """Recognise the file's shape and slice out its records; ``ConfigError`` names what is wrong."""
    first = data.lstrip()[:1]
    if not first:
        raise _bad(path, "the file is empty; expected CloudTrail records in JSON")
    if first == b"[":
        try:
            items = _array_decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise _bad(path, f"not valid JSON: {exc}") from None
        return Source(path, Shape.ARRAY, _objects(path, items, lambda i: f"element [{i}]"))
    if first == b"{":
        try:
            top = _top_decoder.decode(data)
        except msgspec.ValidationError as exc:
            raise _bad(path, f'"Records" must be an array of record objects: {exc}') from None
        except msgspec.DecodeError as exc:
            return _json_lines(path, data, exc)
        if isinstance(top.Records, msgspec.UnsetType):
            return Source(path, Shape.RECORD, [bytes(_raw_decoder.decode(data))])
        return Source(path, Shape.LOG_FILE, _objects(path, top.Records, lambda i: f"Records[{i}]"))
    try:
        value = bytes(_raw_decoder.decode(data))
    except msgspec.DecodeError as exc:
        raise _bad(path, f"not valid JSON: {exc}") from None
    raise _bad(
        path,
        f'expected a CloudTrail log file {{"Records": [...]}}, a JSON array of records or JSON Lines, '
        f"got a JSON {_KINDS.get(value[:1], 'number')}",
    )


def load_source(path: Path) -> Source:
    """The records of the file at ``path``."""
    return parse_source(path, read_bytes(path))


@dataclass(slots=True)
class Batch:
    """Up to ``max_records`` records (never split) and the body that carries them."""

    number: int
    origins: list[tuple[Source, int]]
    body: bytes


def batches(sources: Iterable[Source], max_records: int, max_bytes: int) -> Iterator[Batch]:
    """Pack records into batch bodies, crossing file boundaries so many small files share a call."""
    origins: list[tuple[Source, int]] = []
    parts: list[bytes] = []
    size = _ENVELOPE
    number = 0
    for source in sources:
        for index, record in enumerate(source.records):
            cost = len(record) + (1 if parts else 0)
            if parts and (len(parts) >= max_records or size + cost > max_bytes):
                number += 1
                yield Batch(number, origins, b'{"Records":[' + b",".join(parts) + b"]}")
                origins, parts, size = [], [], _ENVELOPE
                cost = len(record)
            origins.append((source, index))
            parts.append(record)
            size += cost
    if parts:
        yield Batch(number + 1, origins, b'{"Records":[' + b",".join(parts) + b"]}")


@dataclass(frozen=True, slots=True)
class Rejection:
    """One record the server refused, located in its file."""

    path: Path
    where: str
    event_id: str | None
    code: str
    message: str

    def line(self) -> str:
        event = f" eventID {self.event_id}" if self.event_id else ""
        return f"{self.path} {self.where}{event}: {self.code}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "where": self.where,
            "eventID": self.event_id,
            "errorCode": self.code,
            "errorMessage": self.message,
        }


@dataclass(slots=True)
class Summary:
    files: int
    records: int
    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    not_sent: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.rejected and self.error is None and self.not_sent == 0

    def lines(self, limit: int) -> list[str]:
        out = [
            f"files: {self.files}",
            f"records: {self.records}",
            f"accepted: {self.accepted}",
            f"rejected: {len(self.rejected)}{self._by_code()}",
        ]
        out.extend(f"  {rejection.line()}" for rejection in self.rejected[:limit])
        if len(self.rejected) > limit:
            out.append(f"  ... and {len(self.rejected) - limit} more (all of them with --output json)")
        if self.not_sent:
            out.append(f"not sent: {self.not_sent}")
        if self.error:
            out.append(f"error: {self.error}")
        return out

    def _by_code(self) -> str:
        if not self.rejected:
            return ""
        counts = Counter(rejection.code for rejection in self.rejected)
        return " (" + ", ".join(f"{code} {n}" for code, n in counts.most_common()) + ")"

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "records": self.records,
            "accepted": self.accepted,
            "rejected": [rejection.to_dict() for rejection in self.rejected],
            "notSent": self.not_sent,
            "error": self.error,
        }


class _Failure(msgspec.Struct):
    index: int
    eventID: str | None = None
    errorCode: str = ""
    errorMessage: str = ""


class _Response(msgspec.Struct):
    accepted: int
    failed: list[_Failure]


class _BatchFailed(Exception):
    """A batch the server did not take (after retries); the run stops there."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def retryable(err: RemoteError) -> bool:
    """Connection errors, 5xx and throttling: resending is safe because the server dedupes by eventID."""
    return err.status == 0 or err.status >= 500 or err.status == 429 or err.code in _RETRYABLE_CODES


RetryHook = Callable[[Batch, int, float, RemoteError], None]


class Ingest(Protocol):
    """Where batches go: ``client.remote.Client``, signed, to the server's native ingest endpoint."""

    def ingest_records(self, body: bytes, account_id: str | None = None) -> Any: ...


class Replayer:
    """Sends batches through one client, retrying what is safe to retry."""

    def __init__(
        self,
        client: Ingest,
        account_id: str | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        base_delay: float = 0.5,
        max_delay: float = 10.0,
        on_retry: RetryHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {max_attempts}")
        self.client = client
        self.account_id = account_id
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.on_retry = on_retry
        self.sleep = sleep

    def delay(self, attempt: int) -> float:
        # Jitter spreads the retries of concurrent replays so they do not hit a recovering server together.
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - retry jitter, not a secret

    def post(self, batch: Batch) -> _Response:
        attempt = 1
        while True:
            try:
                result = self.client.ingest_records(batch.body, self.account_id)
                return msgspec.convert(result, _Response)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise _BatchFailed(f"the server's answer is not an ingest result: {exc}") from None
            except RemoteError as err:
                if not retryable(err) or attempt >= self.max_attempts:
                    tries = f" after {attempt} attempts" if attempt > 1 else ""
                    raise _BatchFailed(f"{err.code}: {err.message}{tries}", err.code) from None
                wait = self.delay(attempt)
                if self.on_retry is not None:
                    self.on_retry(batch, attempt, wait, err)
                self.sleep(wait)
                attempt += 1

    def send(self, batch: Batch) -> tuple[int, list[Rejection]]:
        """Send one batch; return how many records were accepted and which were rejected."""
        try:
            response = self.post(batch)
        except _BatchFailed as exc:
            if len(batch.origins) == 1 and exc.code == "RequestEntityTooLargeException":
                # A lone record too large for any call is that record's fault, not the run's.
                return 0, [_rejection(batch, 0, None, exc.code, str(exc))]
            raise
        size = len(batch.origins)
        indexes = {failure.index for failure in response.failed}
        if response.accepted + len(response.failed) != size or not all(0 <= i < size for i in indexes):
            raise _BatchFailed(
                f"the server reported {response.accepted} accepted and {len(response.failed)} failed "
                f"for a batch of {size} records"
            )
        rejected = [
            _rejection(batch, f.index, f.eventID, f.errorCode, f.errorMessage) for f in response.failed
        ]
        return response.accepted, rejected

    def run(
        self,
        paths: list[Path],
        counts: list[int],
        max_records: int = MAX_BATCH_RECORDS,
        max_bytes: int = MAX_BATCH_BYTES,
        on_progress: Callable[[int], None] | None = None,
    ) -> Summary:
        """Replay ``paths`` (already checked by ``scan``) and summarise what the server did."""
        summary = Summary(files=len(paths), records=sum(counts))
        sent = 0
        try:
            for batch in batches(_reload(paths, counts), max_records, max_bytes):
                try:
                    accepted, rejected = self.send(batch)
                except _BatchFailed as exc:
                    first, last = batch.origins[0], batch.origins[-1]
                    raise _BatchFailed(
                        f"batch {batch.number} ({first[0].path} {first[0].where(first[1])} to "
                        f"{last[0].path} {last[0].where(last[1])}) failed: {exc}"
                    ) from None
                summary.accepted += accepted
                summary.rejected.extend(rejected)
                sent += len(batch.origins)
                if on_progress is not None:
                    on_progress(len(batch.origins))
        except (_BatchFailed, ConfigError) as exc:
            summary.error = str(exc)
            summary.not_sent = summary.records - sent
        return summary


def _rejection(batch: Batch, index: int, event_id: str | None, code: str, message: str) -> Rejection:
    source, position = batch.origins[index]
    return Rejection(source.path, source.where(position), event_id, code, message)


def scan(paths: list[Path]) -> list[int]:
    """Parse every file once and count its records; one ``ConfigError`` names every bad file."""
    counts: list[int] = []
    problems: list[str] = []
    for path in paths:
        try:
            counts.append(len(load_source(path).records))
        except ConfigError as exc:
            problems.append(str(exc))
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(f"{len(problems)} files cannot be replayed:\n  " + "\n  ".join(problems))
    return counts


def _reload(paths: list[Path], counts: list[int]) -> Iterator[Source]:
    # Files are parsed again rather than kept from ``scan``, so memory holds one file at a time.
    for path, count in zip(paths, counts, strict=True):
        source = load_source(path)
        found = len(source.records)
        if found != count:
            raise _bad(path, f"the file changed while being replayed: {count} records, now {found}")
        yield source
