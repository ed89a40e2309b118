"""A Payload gives the same bytes whether held in memory or spooled, and leaves no spool file behind."""

from __future__ import annotations

from pathlib import Path

from opentrail.server.payload import Payload


def test_an_in_memory_payload_reads_opens_and_moves(tmp_path: Path) -> None:
    payload = Payload(b"object bytes")
    assert payload.size == 12
    assert payload.read() == b"object bytes"
    with payload.open() as stream:
        assert stream.read() == b"object bytes"
    payload.move_to(tmp_path / "placed")
    assert (tmp_path / "placed").read_bytes() == b"object bytes"


def test_a_spooled_payload_moves_by_rename_and_close_removes_the_spool(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.write_bytes(b"x" * 1000)
    with Payload(path=spool) as payload:
        assert payload.size == 1000
        assert payload.read() == b"x" * 1000
        payload.move_to(tmp_path / "object")
    assert not spool.exists()
    assert (tmp_path / "object").read_bytes() == b"x" * 1000
    other = tmp_path / "other"
    other.write_bytes(b"y")
    Payload(path=other).close()
    assert not other.exists()


def test_closing_gives_the_memory_back_once() -> None:
    released = []
    payload = Payload(b"x" * 10, release=lambda: released.append(1))
    payload.close()
    payload.close()
    assert released == [1]
