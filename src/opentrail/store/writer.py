"""The group-commit writer both backends append through (ADRs 0003 and 0007).

One queue and one thread per store. The thread takes everything queued, up to ``MAX_GROUP_ROWS`` event
rows, hands the group to the backend's ``commit`` and only then resolves each caller's future: no caller
is told its events are stored before the commit that makes them durable, and concurrent callers share
that commit (the cost is per commit — the fsync — not per row). A group that fails fails its own
callers; the thread goes on with the next one, since a dead writer would leave every later caller
waiting forever. ``close`` lets the thread finish what was queued before it.

A task carries event rows, or (SQLite, whose every write goes through its one writer) a function of the
writer's connection; the backend's ``commit`` decides what each means.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from opentrail.errors import StoreError
from opentrail.events import EventRow
from opentrail.store.threads import name_os_thread

__all__ = ["MAX_GROUP_ROWS", "GroupWriter", "Task"]

T = TypeVar("T")

# DESIGN.md: SQLite inserts ~20k rows/s at 100 rows a transaction, ~60k at 5,000; PostgreSQL COPYs
# ~97k rows/s at 5,000 rows a transaction here, ~62k at 100.
MAX_GROUP_ROWS = 5000


class Task:
    """One caller's share of a group: its rows or its function, and the future it waits on."""

    __slots__ = ("fn", "future", "rows")

    def __init__(self, rows: list[EventRow] | None, fn: Callable[[Any], Any] | None = None) -> None:
        self.rows = rows
        self.fn = fn
        self.future: Future[Any] = Future()


# A backend's commit: the group's results in task order (a value, or the exception that task alone
# failed with); raising fails the whole group.
Commit = Callable[[list[Task]], list[Any]]


class GroupWriter:
    """The writer thread of one store. ``commit`` writes a group in one transaction; ``after`` runs
    after each group (the history indexers' back-pressure); ``finish`` when the thread ends;
    ``failure`` turns an exception into what a caller may see (the store's driver errors become
    ``StoreError``)."""

    def __init__(
        self,
        name: str,
        commit: Commit,
        failure: Callable[[BaseException], BaseException],
        after: Callable[[], None] | None = None,
        finish: Callable[[], None] | None = None,
    ) -> None:
        self._commit = commit
        self._failure = failure
        self._after = after
        self._finish = finish
        self._queue: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # a task is queued before close's end marker, or refused
        self._closed = False
        self._os_name = f"ot-{name}-write"
        self._thread = threading.Thread(target=self._run, name=f"opentrail-{name}-writer", daemon=True)
        self._thread.start()

    @property
    def native_id(self) -> int | None:
        """The writer thread's id for the operating system (``/proc/self/task/<id>``)."""
        return self._thread.native_id

    def submit(self, rows: list[EventRow]) -> Future[None]:
        return self._put(Task(rows))

    def call(self, fn: Callable[[Any], T]) -> Future[T]:
        """Run ``fn`` with the writer's connection inside the next group's transaction."""
        return self._put(Task(None, fn))

    def close(self) -> None:
        """Stop after the tasks queued so far are committed; later tasks fail with ``StoreError``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()

    def _put(self, task: Task) -> Future[Any]:
        with self._lock:
            if self._closed:
                task.future.set_exception(StoreError("the store is closed"))
            else:
                self._queue.put(task)
        return task.future

    def _run(self) -> None:
        name_os_thread(self._os_name)
        try:
            while True:
                group, stop = self._gather()
                if group:
                    self._resolve(group)
                if stop:
                    return
                if self._after is not None:
                    self._after()
        finally:
            if self._finish is not None:
                self._finish()

    def _gather(self) -> tuple[list[Task], bool]:
        """Wait for a task, then take what else is queued, up to ``MAX_GROUP_ROWS`` rows; True once the
        end marker was taken."""
        first = self._queue.get()
        if first is None:
            return [], True
        group = [first]
        rows = len(first.rows or ())
        while rows < MAX_GROUP_ROWS:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                break
            if task is None:
                return group, True
            group.append(task)
            rows += len(task.rows or ())
        return group, False

    def _resolve(self, group: list[Task]) -> None:
        try:
            results = self._commit(group)
        except Exception as exc:  # the writer outlives any failed group: its callers get the error
            error = self._failure(exc)
            for task in group:
                task.future.set_exception(error)
            return
        for task, result in zip(group, results, strict=True):
            if isinstance(result, BaseException):
                task.future.set_exception(self._failure(result))
            else:
                task.future.set_result(result)
