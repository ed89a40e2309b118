"""The spool folder (``server/bodies/spool.py``): what a killed process left is removed at the next
start, what a live request is writing is not."""

from __future__ import annotations

import os
import time
from pathlib import Path

from opentrail.server.bodies.spool import STALE_SECONDS, Sink, prepare


def test_prepare_removes_stale_spool_files_only(tmp_path: Path) -> None:
    folder = tmp_path / "tmp" / "bodies"
    prepare(folder)
    stale, live, other = folder / "body-stale", folder / "body-live", folder / "part-1"
    for path in (stale, live, other):
        path.write_bytes(b"x")
    old = time.time() - STALE_SECONDS - 10
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    prepare(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["body-live", "part-1"]


def test_a_discarded_sink_removes_its_file(tmp_path: Path) -> None:
    sink = Sink(hash_raw=True, decoder=None)
    sink.open(tmp_path)
    sink.feed(b"abc")
    assert sink.path is not None
    assert sink.path.exists()
    sink.discard()
    assert not sink.path.exists()
