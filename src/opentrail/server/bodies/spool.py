"""What becomes of a body's bytes as they arrive: hashed if the signature needs the hash, decoded if
aws-chunked, then kept in memory or written to a spool file under ``<data_dir>/tmp/bodies``.

A ``Sink`` is fed in order, on one thread at a time (the event loop for a body kept in memory, a worker
thread for a spooled one, so that hashing and writing a large body never hold the loop). Spool files
are named ``body-*``; ones left by a process that died are removed when the next one starts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO, Protocol

PREFIX = "body-"
# A spool file nobody has written for this long belongs to no request in flight (uploads are bounded
# by the body limit and the connection timeouts).
STALE_SECONDS = 3600.0


class Decoder(Protocol):
    """A content decoding applied as the bytes arrive (``s3.chunked.AwsChunked``)."""

    def feed(self, data: bytes) -> bytes: ...

    def finish(self) -> object: ...


class Sink:
    """One body's destination."""

    def __init__(self, hash_raw: bool, decoder: Decoder | None) -> None:
        self.sha256: Any = hashlib.sha256() if hash_raw else None
        self.decoder = decoder
        self.pieces: list[bytes] = []
        self.file: BinaryIO | None = None
        self.path: Path | None = None

    def open(self, folder: Path) -> None:
        """Write to a new spool file from now on (called before the first byte)."""
        fd, name = tempfile.mkstemp(prefix=PREFIX, dir=folder)
        self.path = Path(name)
        self.file = os.fdopen(fd, "wb")

    def feed(self, data: bytes) -> None:
        if self.sha256 is not None:
            self.sha256.update(data)
        if self.decoder is not None:
            data = self.decoder.feed(data)
        if self.file is not None:
            self.file.write(data)
        elif data:
            self.pieces.append(data)

    def finish(self) -> None:
        """The body is whole: the decoder's last checks, the spool file closed."""
        if self.decoder is not None:
            self.decoder.finish()
        if self.file is not None:
            self.file.close()

    def digest(self) -> str | None:
        return self.sha256.hexdigest() if self.sha256 is not None else None

    def discard(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
        self.pieces = []


def prepare(folder: Path, now: float | None = None) -> None:
    """Create the spool folder and remove what dead processes left in it."""
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = (time.time() if now is None else now) - STALE_SECONDS
    for entry in os.scandir(folder):
        if entry.name.startswith(PREFIX) and entry.stat().st_mtime < cutoff:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
