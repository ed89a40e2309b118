"""The group-commit writer both backends append through: groups of up to MAX_GROUP_ROWS rows, futures
resolved only after their group's commit, a failed group failing its own callers alone, and a close that
finishes what was queued. The backend's commit is a fake that records what it was given."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from opentrail.errors import StoreError
from opentrail.events import EventRow
from opentrail.ingest.records import index_record
from opentrail.store.writer import MAX_GROUP_ROWS, GroupWriter, Task

WAIT = 30
ROW = index_record(
    json.dumps(
        {
            "eventVersion": "1.11",
            "eventTime": "2024-05-01T12:00:00Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "awsRegion": "us-east-1",
            "eventID": "e",
        }
    ).encode(),
    "111111111111",
)


def rows(count: int) -> list[EventRow]:
    return [ROW] * count


class Boom(Exception):
    """What the fake database raises."""


class FakeBackend:
    """Commits groups into a list. ``gate`` holds a commit until set; a group holding a task of
    ``poison`` rows fails whole; a function task's result is what it returns or raises."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []  # each committed group's row counts, task by task
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.poison = -1
        self.after = 0
        self.finished = 0

    def commit(self, group: list[Task]) -> list[Any]:
        self.entered.set()
        assert self.gate.wait(WAIT)
        if any(task.rows is not None and len(task.rows) == self.poison for task in group):
            raise Boom("the group is refused")
        results: list[Any] = []
        for task in group:
            if task.fn is None:
                results.append(None)
                continue
            try:
                results.append(task.fn("connection"))
            except Exception as exc:
                results.append(exc)
        self.groups.append([len(task.rows or ()) for task in group])
        return results

    def count_after(self) -> None:
        self.after += 1

    def count_finish(self) -> None:
        self.finished += 1


def translate(exc: BaseException) -> BaseException:
    """The store's translation: the fake database's errors become StoreError."""
    return StoreError(f"writing failed: {exc}") if isinstance(exc, Boom) else exc


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def writer(backend: FakeBackend) -> Iterator[GroupWriter]:
    writer = GroupWriter("test", backend.commit, translate, backend.count_after, backend.count_finish)
    try:
        yield writer
    finally:
        backend.gate.set()
        writer.close()


def block(backend: FakeBackend, writer: GroupWriter) -> Future[None]:
    """Hold the writer inside a commit, so what is submitted next queues up behind it."""
    backend.gate.clear()
    backend.entered.clear()
    first = writer.submit(rows(1))
    assert backend.entered.wait(WAIT)
    return first


def test_what_queues_during_a_commit_is_committed_together_up_to_the_row_limit(
    backend: FakeBackend, writer: GroupWriter
) -> None:
    first = block(backend, writer)
    part = 2000
    futures = [writer.submit(rows(part)) for _ in range(5)]
    backend.gate.set()
    for future in [first, *futures]:
        assert future.result(WAIT) is None
    # A group takes tasks while it holds fewer than MAX_GROUP_ROWS rows.
    assert backend.groups == [[1], [part, part, part], [part, part]]
    assert sum(backend.groups[1]) - part < MAX_GROUP_ROWS


def test_no_future_resolves_before_its_group_is_committed(backend: FakeBackend, writer: GroupWriter) -> None:
    first = block(backend, writer)
    queued = writer.submit(rows(3))
    called = writer.call(lambda conn: f"ran on {conn}")
    assert not first.done()
    assert not queued.done()
    assert not called.done()
    backend.gate.set()
    assert first.result(WAIT) is None
    assert queued.result(WAIT) is None
    assert called.result(WAIT) == "ran on connection"


def test_a_failed_group_fails_its_callers_translated_and_the_writer_goes_on(
    backend: FakeBackend, writer: GroupWriter
) -> None:
    backend.poison = 7
    first = block(backend, writer)
    doomed = [writer.submit(rows(7)), writer.submit(rows(2))]  # one group, refused whole
    backend.gate.set()
    assert first.result(WAIT) is None
    for future in doomed:
        with pytest.raises(StoreError, match="refused"):
            future.result(WAIT)
    assert writer.submit(rows(2)).result(WAIT) is None
    assert backend.groups[-1] == [2]


def test_a_function_that_raises_fails_only_its_own_caller(backend: FakeBackend, writer: GroupWriter) -> None:
    def fails(conn: Any) -> None:
        raise KeyError("missing")

    def refused(conn: Any) -> None:
        raise Boom("a key exists")

    first = block(backend, writer)
    futures = [writer.call(fails), writer.submit(rows(1)), writer.call(refused), writer.call(lambda c: 5)]
    backend.gate.set()
    assert first.result(WAIT) is None
    with pytest.raises(KeyError):
        futures[0].result(WAIT)
    assert futures[1].result(WAIT) is None
    with pytest.raises(StoreError, match="a key exists"):
        futures[2].result(WAIT)
    assert futures[3].result(WAIT) == 5


def test_close_commits_what_was_queued_and_refuses_what_comes_after(backend: FakeBackend) -> None:
    writer = GroupWriter("test", backend.commit, translate, backend.count_after, backend.count_finish)
    first = block(backend, writer)
    queued = writer.submit(rows(4))
    closing = threading.Thread(target=writer.close)
    closing.start()
    backend.gate.set()
    closing.join(WAIT)
    assert not closing.is_alive()
    assert first.result(WAIT) is None
    assert queued.result(WAIT) is None
    with pytest.raises(StoreError, match="closed"):
        writer.submit(rows(1)).result(WAIT)
    with pytest.raises(StoreError, match="closed"):
        writer.call(lambda conn: None).result(WAIT)
    writer.close()  # a second close is harmless
    assert backend.finished == 1
    assert backend.after >= 1  # after each group but the last, which the end marker came with


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="threads are named through /proc")
def test_the_writer_thread_is_named_for_the_operating_system(writer: GroupWriter) -> None:
    assert writer.submit(rows(1)).result(WAIT) is None  # the thread named itself before its first task
    comm = Path(f"/proc/self/task/{writer.native_id}/comm")
    assert comm.read_text().strip() == "ot-test-write"
