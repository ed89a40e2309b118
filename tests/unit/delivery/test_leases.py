"""Delivery leases (``leases.py``) on every store backend, in process, with a hand-driven clock.

Leases live in documents and go through ``Store.update_doc`` only, so they work on any backend; SQLite
(one process) normally skips them (``Store.shared`` is false), and these tests force them on to hold it
to the same contract as PostgreSQL: nodes split documents by fair share, a dead node's documents move
after one lease period, and a node that lost a lease can neither renew it nor write through it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from opentrail.clock import FixedClock
from opentrail.delivery import worker as delivery
from opentrail.delivery.hooks import DeliveryHooks
from opentrail.delivery.leases import LeaseLost, Leases
from opentrail.delivery.signing import Signer
from opentrail.delivery.state import load_state
from opentrail.errors import ConfigError
from opentrail.ingest.records import index_record
from opentrail.settings import Settings
from opentrail.storage import LocalStorage
from opentrail.store import Doc, Store, open_store
from opentrail.trails import model as trails
from tests.support.databases import BACKENDS
from tests.support.server import management_record

ACCOUNT = "111122223333"
REGION = "us-east-1"
LEASE = 10.0


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(BACKENDS[request.param](request, tmp_path))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(1_760_000_000.0)


def node(store: Store, clock: FixedClock, name: str) -> Leases:
    return Leases(store, clock, name, LEASE, shared=True)


def docs(store: Store, n: int) -> Callable[[], list[Doc]]:
    for i in range(n):
        arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/t{i}"
        store.insert_doc(Doc(delivery.KIND, ACCOUNT, REGION, f"t{i}", arn, {}))
    return lambda: store.list_docs(delivery.KIND)


def test_nodes_split_documents_by_fair_share(store: Store, clock: FixedClock) -> None:
    listed = docs(store, 4)
    a, b = node(store, clock, "a"), node(store, clock, "b")
    assert len(a.plan(listed())) == 4  # alone: everything
    assert b.plan(listed()) == []  # b joins: nothing free yet, but a now counts two nodes
    assert len(a.plan(listed())) == 2  # a releases what is beyond its share
    assert len(b.plan(listed())) == 2
    assert len(a.plan(listed())) == 2
    mine_a = {d.arn for d in a.plan(listed())}
    mine_b = {d.arn for d in b.plan(listed())}
    assert mine_a.isdisjoint(mine_b)
    assert len(mine_a | mine_b) == 4


def test_a_dead_node_s_documents_move_after_one_lease_period(store: Store, clock: FixedClock) -> None:
    listed = docs(store, 3)
    a, b = node(store, clock, "a"), node(store, clock, "b")
    a.beat()
    b.beat()
    assert len(a.plan(listed())) + len(b.plan(listed())) == 3
    clock.advance(LEASE - 1)  # a dies; its leases still run
    assert len(b.plan(listed())) < 3
    clock.advance(2)
    assert len(b.plan(listed())) == 3


def test_a_node_that_lost_its_lease_cannot_renew_or_write(store: Store, clock: FixedClock) -> None:
    listed = docs(store, 1)
    a, b = node(store, clock, "a"), node(store, clock, "b")
    (held,) = a.plan(listed())
    a.renew(held)
    clock.advance(LEASE + 1)  # a paused past its lease; b takes the document
    assert len(b.plan(listed())) == 1
    with pytest.raises(LeaseLost):
        a.renew(held)
    with pytest.raises(LeaseLost):
        a.fence(held)(store.get_doc(delivery.KIND, ACCOUNT, held.arn).body)  # type: ignore[union-attr]
    # Even once b's lease has run out too, a's old token stays fenced off: it must take the lease anew.
    clock.advance(LEASE + 1)
    with pytest.raises(LeaseLost):
        a.renew(held)


def test_a_fenced_worker_writes_no_file_and_moves_no_cursor(
    store: Store, clock: FixedClock, tmp_path: Path
) -> None:
    bucket = "fenced"
    storage = LocalStorage(tmp_path / "buckets")
    storage.create_bucket(bucket)
    arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/t"
    trail = trails.Trail(
        name="t",
        trail_arn=arn,
        home_region=REGION,
        s3_bucket_name=bucket,
        is_logging=True,
        start_logging_time=clock.now(),
    )
    store.insert_doc(trails.to_doc(trail, ACCOUNT))
    DeliveryHooks(store).logging_started(ACCOUNT, trail)
    signer = Signer.for_data_dir(store, tmp_path, clock)

    def worker(name: str) -> delivery.Deliverer:
        leases = node(store, clock, name)
        return delivery.Deliverer(store, storage, signer, clock, 1.0, 3600.0, leases=leases)

    def ingest() -> None:
        records = [management_record(ACCOUNT, REGION) for _ in range(3)]
        store.append([index_record(json.dumps(r).encode(), ACCOUNT) for r in records])

    def files() -> list[str]:
        return [o.key for o in storage.list_objects(bucket, f"AWSLogs/{ACCOUNT}/CloudTrail/").objects]

    a, b = worker("a"), worker("b")
    ingest()
    a.run_once(force=True)
    assert len(files()) == 1
    b.run_once(force=True)  # a holds the trail: b delivers nothing
    ingest()
    clock.advance(LEASE + 1)  # a stalls past its lease
    b.run_once(force=True)
    assert len(files()) == 2
    doc = store.get_doc(delivery.KIND, ACCOUNT, arn)
    assert doc is not None
    assert doc.body["lease"]["node"] == "b"
    cursor = doc.body["cursor"]
    # a wakes up with its old lease: it may not renew, write or advance the cursor of the trail.
    state = load_state(doc)
    with pytest.raises(LeaseLost):
        a._deliver(doc, state, trail)
    ingest()
    with pytest.raises(LeaseLost):
        a._deliver(doc, load_state(doc), trail)
    assert len(files()) == 2
    after = store.get_doc(delivery.KIND, ACCOUNT, arn)
    assert after is not None
    assert after.body["cursor"] == cursor
    assert after.body["lease"]["node"] == "b"


def test_a_worker_writes_nothing_once_start_logging_reset_its_state(
    store: Store, clock: FixedClock, tmp_path: Path
) -> None:
    """StartLogging on another node resets the state while this node's pass holds the old one: the pass
    writes no object and no cursor (the state's generation moved), though the lease is still its own."""
    bucket = "reset"
    storage = LocalStorage(tmp_path / "buckets")
    storage.create_bucket(bucket)
    arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/r"
    trail = trails.Trail(
        name="r",
        trail_arn=arn,
        home_region=REGION,
        s3_bucket_name=bucket,
        is_logging=True,
        start_logging_time=clock.now(),
    )
    store.insert_doc(trails.to_doc(trail, ACCOUNT))
    DeliveryHooks(store).logging_started(ACCOUNT, trail)
    leases = node(store, clock, "a")
    worker = delivery.Deliverer(
        store, storage, Signer.for_data_dir(store, tmp_path, clock), clock, 1.0, 3600.0, leases=leases
    )
    (doc,) = leases.plan(store.list_docs(delivery.KIND))
    records = [management_record(ACCOUNT, REGION) for _ in range(3)]
    store.append([index_record(json.dumps(r).encode(), ACCOUNT) for r in records])
    read = load_state(doc)
    clock.advance(1)
    DeliveryHooks(store).logging_started(ACCOUNT, trail)  # "another node": a new generation, cursor at now
    with pytest.raises(LeaseLost):
        worker._deliver(doc, read, trail)
    assert storage.list_objects(bucket, f"AWSLogs/{ACCOUNT}/CloudTrail/").objects == []
    after = store.get_doc(delivery.KIND, ACCOUNT, arn)
    assert after is not None
    assert after.body["generation"] == read.generation + 1
    assert after.body["batch"] is None


def test_role_and_lease_settings_are_checked() -> None:
    assert Settings.from_env({}).role == "all"
    worker = Settings.from_env({"OPENTRAIL_ROLE": "worker", "OPENTRAIL_LEASE_SECONDS": "4.5"})
    assert (worker.runs_workers, worker.serves_api, worker.lease_seconds) == (True, False, 4.5)
    api = Settings.from_env({}, role="api")
    assert (api.runs_workers, api.serves_api) == (False, True)
    with pytest.raises(ConfigError, match="OPENTRAIL_ROLE must be one of all, api, worker, got 'both'"):
        Settings.from_env({"OPENTRAIL_ROLE": "both"})
    with pytest.raises(ConfigError, match=r"OPENTRAIL_LEASE_SECONDS must be positive, got 0\.0"):
        Settings.from_env({"OPENTRAIL_LEASE_SECONDS": "0"})
