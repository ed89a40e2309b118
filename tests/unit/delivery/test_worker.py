"""The delivery worker (``delivery/worker.py``) in process, on a real SQLite store and bucket store: a
retry after a write whose acknowledgement was lost rewrites the same object (same key, same bytes, for
log files and final digests alike), a StartLogging before the previous stop is finished loses nothing,
and a membership change a crash cut short is carried out when delivery starts."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import msgspec

from opentrail.clock import FixedClock, SystemClock
from opentrail.delivery import worker as delivery
from opentrail.delivery.hooks import DeliveryHooks
from opentrail.delivery.notifications import Notice
from opentrail.delivery.signing import Signer
from opentrail.errors import StoreError
from opentrail.ingest.records import index_record
from opentrail.organizations import model as organizations
from opentrail.storage import Encryption, LocalStorage, ObjectInfo, StorageError
from opentrail.store import Doc
from opentrail.store.sqlite.store import SQLiteStore
from opentrail.trails import model as trails
from tests.support.delivery import BATCH, DIGEST_FOLDER, batch, record, single_member
from tests.support.server import management_record

REGION = "us-east-1"


# -- a crash between writing a file and advancing the cursor rewrites the same object --------------------


class LosesAnAck(LocalStorage):
    """A bucket store that writes an object, then fails once as if the process died before the write
    was recorded (a fake backend, not a mock: the object really is written). While ``armed``, the next
    write of a key containing ``within`` is the one that fails."""

    def __init__(self, root: Path, within: str = "", armed: bool = True) -> None:
        super().__init__(root)
        self.within = within
        self.armed = armed

    def _put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        metadata: dict[str, str],
        content_type: str,
        sse: Encryption | None = None,
    ) -> ObjectInfo:
        info = super()._put_object(bucket, key, data, metadata, content_type, sse)
        if self.armed and self.within in key:
            self.armed = False
            raise StorageError("connection reset after the write")
        return info


def test_retry_after_a_lost_write_rewrites_the_same_object(tmp_path: Path) -> None:
    account, bucket = "111122223333", "crash-bucket"
    store = SQLiteStore(str(tmp_path / "db.sqlite"))
    storage = LosesAnAck(tmp_path / "buckets")
    storage.create_bucket(bucket)
    clock = SystemClock()
    trail = trails.Trail(
        name="t",
        trail_arn=f"arn:aws:cloudtrail:us-east-1:{account}:trail/t",
        home_region="us-east-1",
        s3_bucket_name=bucket,
        is_logging=True,
    )
    store.insert_doc(trails.to_doc(trail, account))
    DeliveryHooks(store).logging_started(account, trail)
    sent = [record(account) for _ in range(10)]
    store.append([index_record(json.dumps(r).encode(), account) for r in sent])
    worker = delivery.Deliverer(store, storage, Signer.for_data_dir(store, tmp_path, clock), clock, 1.0, 4.0)
    try:
        worker.run_once(force=True)
        written = storage.list_objects(bucket).objects
        assert len(written) == 1
        first = storage.get_object(bucket, written[0].key)[1]
        assert "LatestDeliveryError" in DeliveryHooks(store).status(account, trail.trail_arn)
        # The retry (after its backoff) delivers the same range again: same key, same bytes, no second file.
        store.update_doc(delivery.KIND, account, trail.trail_arn, _retry_now)
        worker.run_once(force=True)
        again = storage.list_objects(bucket).objects
        assert [o.key for o in again] == [o.key for o in written]
        assert storage.get_object(bucket, again[0].key)[1] == first
        delivered = json.loads(single_member(first))["Records"]
        assert [r["eventID"] for r in delivered] == [r["eventID"] for r in sent]
        assert "LatestDeliveryError" not in DeliveryHooks(store).status(account, trail.trail_arn)
    finally:
        store.close()


def _retry_now(doc: Doc) -> Doc:
    doc.body["retry_at"] = 0.0
    return doc


def test_start_before_the_stop_is_finished_loses_nothing(tmp_path: Path) -> None:
    """StopLogging then StartLogging before the worker ran: the stop's tail and final digest are still
    written, the stopped interval is skipped, and delivery resumes from the StartLogging call."""
    account, bucket = "111122223333", "restart-bucket"
    store = SQLiteStore(str(tmp_path / "db.sqlite"))
    storage = LocalStorage(tmp_path / "buckets")
    storage.create_bucket(bucket)
    clock = SystemClock()
    arn = f"arn:aws:cloudtrail:us-east-1:{account}:trail/t"
    trail = trails.Trail(
        name="t",
        trail_arn=arn,
        home_region="us-east-1",
        s3_bucket_name=bucket,
        log_file_validation_enabled=True,
        is_logging=True,
        start_logging_time=1.0,
    )
    store.insert_doc(trails.to_doc(trail, account))
    DeliveryHooks(store).logging_started(account, trail)

    def ingest(n: int) -> set[str]:
        batch = [record(account) for _ in range(n)]
        store.append([index_record(json.dumps(r).encode(), account) for r in batch])
        return {r["eventID"] for r in batch}

    def set_trail(**changes: Any) -> None:
        def change(doc: Doc) -> Doc:
            doc.body = msgspec.to_builtins(msgspec.structs.replace(trails.decode(doc), **changes))
            return doc

        store.update_doc(trails.KIND, account, arn, change)

    worker = delivery.Deliverer(store, storage, Signer.for_data_dir(store, tmp_path, clock), clock, 1.0, 4.0)
    try:
        tail = ingest(3)
        set_trail(is_logging=False, stop_logging_time=2.0)
        DeliveryHooks(store).logging_stopped(account, trail)
        gap = ingest(2)
        set_trail(is_logging=True, start_logging_time=3.0)
        DeliveryHooks(store).logging_started(account, msgspec.structs.replace(trail, start_logging_time=3.0))
        after = ingest(2)
        worker.run_once(force=True)
        worker.run_once(force=True)
        logs = [o.key for o in storage.list_objects(bucket, f"AWSLogs/{account}/CloudTrail/").objects]
        delivered = [json.loads(single_member(storage.get_object(bucket, key)[1]))["Records"] for key in logs]
        ids = [r["eventID"] for records in delivered for r in records]
        assert sorted(ids) == sorted(tail | after)
        assert not gap & set(ids)
        digests = storage.list_objects(bucket, f"AWSLogs/{account}/{DIGEST_FOLDER}/").objects
        assert len(digests) == 1  # the final one; the resumed chain's first digest is due in 4 s
        final = json.loads(single_member(storage.get_object(bucket, digests[0].key)[1]))
        assert final["previousDigestSignature"] is None
        tail_files = [
            key for key, records in zip(logs, delivered, strict=True) if records[0]["eventID"] in tail
        ]
        assert [f["s3Object"] for f in final["logFiles"]] == tail_files
    finally:
        store.close()


# -- a final digest whose write was not recorded is rewritten under the same key ----------------------


def test_final_digest_rewritten_after_a_lost_write_keeps_its_key(tmp_path: Path) -> None:
    account, bucket = "111122223333", "final-bucket"
    arn = f"arn:aws:cloudtrail:us-east-1:{account}:trail/t"
    store = SQLiteStore(str(tmp_path / "db.sqlite"))
    storage = LosesAnAck(tmp_path / "buckets", within="/CloudTrail-Digest/", armed=False)
    storage.create_bucket(bucket)
    clock = FixedClock(1_760_000_000.0)
    trail = trails.Trail(
        name="t",
        trail_arn=arn,
        home_region=REGION,
        s3_bucket_name=bucket,
        log_file_validation_enabled=True,
        is_logging=True,
        start_logging_time=clock.now(),
    )
    store.insert_doc(trails.to_doc(trail, account))
    DeliveryHooks(store).logging_started(account, trail)
    worker = delivery.Deliverer(store, storage, Signer.for_data_dir(store, tmp_path, clock), clock, 1.0, 4.0)
    digest_folder = f"AWSLogs/{account}/CloudTrail-Digest/"
    try:
        body, ids = batch(account)
        store.append([index_record(json.dumps(r).encode(), account) for r in json.loads(body)["Records"]])
        worker.run_once(force=True)  # the log file; the digest period opens
        clock.advance(2)
        stopped = msgspec.structs.replace(trail, is_logging=False, stop_logging_time=clock.now())

        def stop(doc: Doc) -> Doc:
            doc.body = msgspec.to_builtins(stopped)
            return doc

        store.update_doc(trails.KIND, account, arn, stop)
        DeliveryHooks(store).logging_stopped(account, trail)
        storage.armed = True
        worker.run_once(force=True)  # the final digest is written, and its write "fails"
        first = storage.list_objects(bucket, digest_folder).objects
        assert len(first) == 1
        written = storage.get_object(bucket, first[0].key)
        assert "LatestDigestDeliveryError" in DeliveryHooks(store).status(account, arn)
        clock.advance(30)  # past the retry's backoff: "now" has moved on, the final digest's end has not
        worker.run_once(force=True)
        again = storage.list_objects(bucket, digest_folder).objects
        assert [o.key for o in again] == [first[0].key]
        rewritten = storage.get_object(bucket, again[0].key)
        assert rewritten[1] == written[1]
        assert rewritten[0].metadata == written[0].metadata
        listed = json.loads(gzip.decompress(rewritten[1]))["logFiles"]
        assert len(listed) == 1
        assert "LatestDigestDeliveryError" not in DeliveryHooks(store).status(account, arn)
        # Finished: the stop is settled and the chain closed, so a later pass writes nothing more.
        doc = store.get_doc(delivery.KIND, account, arn)
        assert doc is not None
        assert doc.body["until"] is None
        assert doc.body["regions"] == {}
        clock.advance(30)
        worker.run_once(force=True)
        assert [o.key for o in storage.list_objects(bucket, digest_folder).objects] == [first[0].key]
        assert len(ids) == BATCH
    finally:
        store.close()


# -- a membership change cut short by a crash -----------------------------------------------------------


def test_a_membership_change_cut_short_by_a_crash_is_carried_out_at_start(tmp_path: Path) -> None:
    """CreateAccount stored the member, then the process died before ``delivery.cover`` ran: the
    delivery worker's start covers it (its events from then on), and delivers them to its folder."""
    management, member = "111122223333", "444455556666"
    store = SQLiteStore(str(tmp_path / "db.sqlite"))
    storage = LocalStorage(tmp_path / "buckets")
    storage.create_bucket("org-bucket")
    clock = SystemClock()
    try:
        org = organizations.Organization(
            id="o-abcdefghij",
            management=management,
            feature_set="ALL",
            created=clock.now(),
            members=[
                organizations.Member(
                    id=management, name="m", email="m@example.com", joined_method="INVITED", joined=0
                ),
            ],
        )
        store.insert_doc(organizations.to_doc(org))
        trail = trails.Trail(
            name="org",
            trail_arn=f"arn:aws:cloudtrail:us-east-1:{management}:trail/org",
            home_region="us-east-1",
            s3_bucket_name="org-bucket",
            is_organization_trail=True,
            organization_id=org.id,
            is_logging=True,
        )
        store.insert_doc(trails.to_doc(trail, management))
        DeliveryHooks(store).logging_started(management, trail)
        org.members.append(
            organizations.Member(
                id=member, name="b", email="b@example.com", joined_method="CREATED", joined=0
            )
        )
        store.update_doc(organizations.KIND, management, org.arn, lambda doc: organizations.to_doc(org))
        assert store.get_doc(delivery.KIND, member, trail.trail_arn) is None  # the crash: never covered

        DeliveryHooks(store).cover_all()
        sent = management_record(member)
        store.append([index_record(json.dumps(sent).encode(), member)])
        worker = delivery.Deliverer(
            store, storage, Signer.for_data_dir(store, tmp_path, clock), clock, 1.0, 4.0
        )
        worker.run_once(force=True)
        keys = [o.key for o in storage.list_objects("org-bucket").objects]
        (key,) = [k for k in keys if k.startswith(f"AWSLogs/{org.id}/{member}/CloudTrail/us-east-1/")]
        records = json.loads(gzip.decompress(storage.get_object("org-bucket", key)[1]))["Records"]
        assert [r["eventID"] for r in records] == [sent["eventID"]]
    finally:
        store.close()


# -- a notification is kept before the cursor moves past its file ------------------------------------------


def test_a_notice_that_cannot_be_kept_holds_the_cursor_back(tmp_path: Path) -> None:
    account, bucket = "111122223333", "notified-bucket"
    store = SQLiteStore(str(tmp_path / "db.sqlite"))
    storage = LocalStorage(tmp_path / "buckets")
    storage.create_bucket(bucket)
    clock = SystemClock()
    trail = trails.Trail(
        name="t",
        trail_arn=f"arn:aws:cloudtrail:us-east-1:{account}:trail/t",
        home_region="us-east-1",
        s3_bucket_name=bucket,
        sns_topic_arn=f"arn:aws:sns:us-east-1:{account}:topic",
        is_logging=True,
    )
    store.insert_doc(trails.to_doc(trail, account))
    DeliveryHooks(store).logging_started(account, trail)
    store.append([index_record(json.dumps(record(account)).encode(), account) for _ in range(3)])
    kept: list[Notice] = []
    failures = [StoreError("the outbox cannot be written")]

    def notify(notice: Notice) -> None:
        if failures:
            raise failures.pop()
        kept.append(notice)

    worker = delivery.Deliverer(
        store, storage, Signer.for_data_dir(store, tmp_path, clock), clock, 1.0, 4.0, notify=notify
    )
    try:
        worker.run_once(force=True)  # the file is written, its notice is not kept: the pass stops there
        written = [item.key for item in storage.list_objects(bucket).objects]
        (state,) = store.list_docs("delivery")
        assert len(written) == 1
        assert state.body["batch"] is not None  # the range is still being delivered
        assert kept == []
        worker.run_once(force=True)
        assert [item.key for item in storage.list_objects(bucket).objects] == written  # the same file
        assert [(n.topic_arn, n.bucket, n.keys) for n in kept] == [
            (trail.sns_topic_arn, bucket, tuple(written))
        ]
        (state,) = store.list_docs("delivery")
        assert state.body["batch"] is None
    finally:
        store.close()
