"""A request's body as the edge hands it on: read in full, checked against what was signed, and
decoded when it came aws-chunked.

Small bodies are held in memory; a large S3 one waits in a spool file under the data dir (``path``), so
an object upload need not sit in the server's memory. Whoever is handed a ``Payload`` either moves its
bytes somewhere (``move_to``) or leaves it to be closed by the edge, which removes any spool file and
gives the memory it held back to the budget of bodies in flight (``release``).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


class Payload:
    """The body bytes, in memory (``data``) or in a spool file (``path``)."""

    def __init__(
        self, data: bytes = b"", path: Path | None = None, release: Callable[[], None] | None = None
    ) -> None:
        self._data = data
        self.path = path
        self.size = path.stat().st_size if path is not None else len(data)
        self._release = release

    def read(self) -> bytes:
        if self.path is None:
            return self._data
        return self.path.read_bytes()

    def open(self) -> BinaryIO:
        if self.path is None:
            return io.BytesIO(self._data)
        return self.path.open("rb")

    def move_to(self, target: Path) -> None:
        """The bytes placed at ``target`` (a rename when spooled on the same filesystem); the payload is
        empty afterwards."""
        if self.path is None:
            target.write_bytes(self._data)
        else:
            try:
                os.replace(self.path, target)
            except OSError:
                shutil.copyfile(self.path, target)
                self.path.unlink()
            self.path = None
        self._data = b""

    def close(self) -> None:
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self.path = None
        self._data = b""
        if self._release is not None:
            release, self._release = self._release, None
            release()

    def __enter__(self) -> Payload:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
