"""Trail delivery end to end: log files, digest chains and ``aws cloudtrail validate-logs`` (issue 3).

One server of this module's own, with a 1-second delivery interval and 4-second digests, so files
appear within seconds; every wait is bounded polling. Each test uses an account of its own.
"""

from __future__ import annotations

import calendar
import functools
import gzip
import itertools
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from opentrail.clock import SystemClock
from opentrail.delivery import worker as delivery
from opentrail.delivery.signing import Signer
from opentrail.ingest.records import index_record
from opentrail.storage import Encryption, LocalStorage, ObjectInfo, StorageError
from opentrail.store import Doc
from opentrail.store.sqlite.store import SQLiteStore
from opentrail.trails import model as trails
from tests.support.delivery import DIGEST_FOLDER, Tenant, record, single_member
from tests.support.server import Server, iso, server_on_backend, wait_for


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The module's server, on each store backend: delivery reads the log through ``read_log``."""
    env = {"OPENTRAIL_DELIVERY_INTERVAL": "1", "OPENTRAIL_DIGEST_INTERVAL": "4"}
    yield from server_on_backend(request, env)


@pytest.fixture
def tenant(server: Server) -> Tenant:
    return Tenant(server)


def test_log_files_layout_and_content(tenant: Tenant) -> None:
    tenant.trail("files")
    sent = [record(tenant.account) for _ in range(5)]
    tenant.ingest(sent)
    ids = {r["eventID"] for r in sent}
    tenant.wait_delivered(ids)
    for key in tenant.log_keys():
        folder, name = key.rsplit("/", 1)
        assert folder.startswith(f"AWSLogs/{tenant.account}/CloudTrail/us-east-1/")
        year, month, day = folder.split("/")[-3:]
        parts = name.split("_")
        assert parts[:3] == [tenant.account, "CloudTrail", "us-east-1"]
        assert parts[3] == f"{year}{month}{day}T{parts[3][9:13]}Z"
        assert len(parts[3]) == 14
        assert len(parts[4]) == len("Mu0KsOhtH1ar15ZZ.json.gz")
        assert parts[4].endswith(".json.gz")
        assert parts[4][:16].isalnum()
    delivered = {r["eventID"]: r for r in tenant.records()}
    # Every record comes out with every field it came in with, unknown ones included.
    for original in sent:
        assert delivered[original["eventID"]] == original
    # Whatever else was delivered is the account's own API calls after StartLogging (audited by the server).
    others = [r for i, r in delivered.items() if i not in ids]
    assert all(r["eventSource"] == "cloudtrail.amazonaws.com" for r in others)
    assert all(r["recipientAccountId"] == tenant.account for r in others)
    assert len(delivered) == len(tenant.records())  # each event in exactly one file
    status = tenant.cloudtrail.get_trail_status(Name="files")
    assert status["IsLogging"] is True
    assert "LatestDeliveryTime" in status
    assert "LatestDeliveryError" not in status
    assert status["LatestDeliveryAttemptSucceeded"] == status["LatestDeliveryAttemptTime"]


def test_regions_single_and_multi(tenant: Tenant) -> None:
    tenant.trail("single")
    tenant.trail("multi", IsMultiRegionTrail=True, S3KeyPrefix="multi")
    east, west = record(tenant.account), record(tenant.account, region="eu-west-1")
    tenant.ingest([east, west])
    multi_root = f"multi/AWSLogs/{tenant.account}/CloudTrail"

    def multi_ids(region: str) -> set[str]:
        ids: set[str] = set()
        for key in tenant.keys(f"{multi_root}/{region}/"):
            ids.update(r["eventID"] for r in json.loads(gzip.decompress(tenant.read(key)))["Records"])
        return ids

    wait_for(lambda: east["eventID"] in multi_ids("us-east-1"), "the multi-region trail's us-east-1 file")
    wait_for(lambda: west["eventID"] in multi_ids("eu-west-1"), "the multi-region trail's eu-west-1 file")
    assert west["eventID"] not in multi_ids("us-east-1")
    # The single-region trail (no prefix) sees its home region only.
    tenant.wait_delivered({east["eventID"]})
    assert tenant.log_keys("eu-west-1") == []
    assert west["eventID"] not in tenant.delivered_ids()


def test_write_only_selector_skips_reads(tenant: Tenant) -> None:
    tenant.cloudtrail.create_trail(Name="writes", S3BucketName=tenant.bucket)
    tenant.cloudtrail.put_event_selectors(
        TrailName="writes", EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]
    )
    tenant.cloudtrail.start_logging(Name="writes")
    read, write = record(tenant.account, read_only=True), record(tenant.account)
    tenant.ingest([read, write])
    tenant.wait_delivered({write["eventID"]})
    records = tenant.records()
    assert read["eventID"] not in {r["eventID"] for r in records}
    assert all(r.get("readOnly") is not True for r in records)


def test_stop_logging_stops_and_start_resumes(tenant: Tenant) -> None:
    tenant.trail("stops")
    before = record(tenant.account)
    tenant.ingest([before])
    tenant.wait_delivered({before["eventID"]})
    tenant.cloudtrail.stop_logging(Name="stops")
    stopped = record(tenant.account)
    tenant.ingest([stopped])
    time.sleep(2.5)  # more than two delivery intervals: a delivery would have happened by now
    assert stopped["eventID"] not in tenant.delivered_ids()
    tenant.cloudtrail.start_logging(Name="stops")
    after = record(tenant.account)
    tenant.ingest([after])
    got = tenant.wait_delivered({after["eventID"]})
    assert stopped["eventID"] not in got
    status = tenant.cloudtrail.get_trail_status(Name="stops")
    assert status["IsLogging"] is True


def test_missing_bucket_is_reported_and_nothing_is_lost(tenant: Tenant, server: Server) -> None:
    tenant.trail("bucketless")
    first = record(tenant.account)
    tenant.ingest([first])
    tenant.wait_delivered({first["eventID"]})
    # The S3 API has no DeleteBucket; removing the folder is what losing the bucket looks like.
    shutil.rmtree(server.data_dir / "buckets" / tenant.bucket)
    lost = [record(tenant.account) for _ in range(3)]
    tenant.ingest(lost)

    def error() -> str | None:
        value: str | None = tenant.cloudtrail.get_trail_status(Name="bucketless").get("LatestDeliveryError")
        return value

    assert wait_for(error, "LatestDeliveryError") == "NoSuchBucket"
    tenant.s3.create_bucket(Bucket=tenant.bucket)
    tenant.wait_delivered({r["eventID"] for r in lost})
    wait_for(lambda: error() is None, "the error to clear after a delivery")


# -- validate-logs: the unmodified AWS CLI accepts our chain, and catches each kind of tampering ----------


@pytest.fixture(scope="module")
def chain(server: Server) -> dict[str, Any]:
    """A finished chain: logs delivered across several digest periods, then StopLogging's final digest."""
    tenant = Tenant(server)
    t0 = time.time() - 60
    arn = tenant.trail("validated", EnableLogFileValidation=True)
    for _ in range(3):
        tenant.ingest([record(tenant.account) for _ in range(4)])
        time.sleep(1.5)
    wait_for(lambda: len(tenant.digest_keys()) >= 2, "two digests")
    tenant.cloudtrail.stop_logging(Name="validated")

    def final_digest() -> dict[str, Any] | None:
        keys = tenant.digest_keys()
        newest = json.loads(gzip.decompress(tenant.read(keys[-1])))
        stop = tenant.cloudtrail.get_trail_status(Name="validated")["StopLoggingTime"].timestamp()
        return newest if time.time() > stop + 1.5 and newest["digestEndTime"] >= iso(stop) else None

    wait_for(final_digest, "the final digest")
    status = tenant.cloudtrail.get_trail_status(Name="validated")
    assert "LatestDigestDeliveryTime" in status
    assert "LatestDigestDeliveryError" not in status
    return {"tenant": tenant, "arn": arn, "start": iso(t0)}


def validate(chain: dict[str, Any]) -> tuple[int, str, str]:
    tenant: Tenant = chain["tenant"]
    result = tenant.server.aws(
        "cloudtrail",
        "validate-logs",
        "--trail-arn",
        chain["arn"],
        "--start-time",
        chain["start"],
        "--verbose",
        "--region",
        "us-east-1",
        creds=tenant.creds,
    )
    return result.returncode, result.stdout, result.stderr


def test_validate_logs_accepts_the_chain(chain: dict[str, Any]) -> None:
    tenant: Tenant = chain["tenant"]
    code, out, err = validate(chain)
    assert code == 0, out + err
    digests, logs = tenant.digest_keys(), tenant.log_keys()
    assert len(digests) >= 3
    assert logs
    for key in digests:
        assert f"Digest file\ts3://{tenant.bucket}/{key}\tvalid" in out
    for key in logs:
        assert f"Log file\ts3://{tenant.bucket}/{key}\tvalid" in out
    assert f"{len(digests)}/{len(digests)} digest files valid" in out
    assert f"{len(logs)}/{len(logs)} log files valid" in out
    assert "INVALID" not in out + err
    first = json.loads(gzip.decompress(tenant.read(digests[0])))
    assert first["previousDigestSignature"] is None  # a starting digest
    assert first["digestEndTime"].endswith("Z")
    assert first["digestStartTime"].endswith("Z")
    for older, newer in itertools.pairwise(digests):
        linked = json.loads(gzip.decompress(tenant.read(newer)))
        assert linked["previousDigestS3Object"] == older


def _put(tenant: Tenant, key: str, data: bytes, meta: dict[str, str]) -> None:
    tenant.s3.put_object(Bucket=tenant.bucket, Key=key, Body=data, Metadata=meta)


def _tampered(chain: dict[str, Any], expected: str) -> None:
    code, out, err = validate(chain)
    assert code == 1, out + err
    assert expected in err, err


def _restore(tenant: Tenant, key: str) -> Callable[[], None]:
    head = tenant.s3.get_object(Bucket=tenant.bucket, Key=key)
    data, meta = head["Body"].read(), head["Metadata"]
    return lambda: _put(tenant, key, data, meta)


def test_tampered_log_file(chain: dict[str, Any]) -> None:
    tenant: Tenant = chain["tenant"]
    key = tenant.log_keys()[0]
    restore = _restore(tenant, key)
    records = json.loads(gzip.decompress(tenant.read(key)))
    records["Records"][0]["eventName"] = "Innocent"
    _put(tenant, key, gzip.compress(json.dumps(records).encode(), mtime=0), {})
    try:
        _tampered(chain, "hash value doesn't match")
    finally:
        restore()


def test_deleted_log_file(chain: dict[str, Any]) -> None:
    tenant: Tenant = chain["tenant"]
    key = tenant.log_keys()[-1]
    restore = _restore(tenant, key)
    tenant.s3.delete_object(Bucket=tenant.bucket, Key=key)
    try:
        _tampered(chain, "not found")
    finally:
        restore()


def test_changed_digest(chain: dict[str, Any]) -> None:
    tenant: Tenant = chain["tenant"]
    key = tenant.digest_keys()[1]
    restore = _restore(tenant, key)
    meta = tenant.s3.get_object(Bucket=tenant.bucket, Key=key)["Metadata"]
    document = json.loads(gzip.decompress(tenant.read(key)))
    document["logFiles"] = []
    _put(tenant, key, gzip.compress(json.dumps(document).encode(), mtime=0), meta)
    try:
        _tampered(chain, "signature verification failed")
    finally:
        restore()


def test_deleted_digest(chain: dict[str, Any]) -> None:
    tenant: Tenant = chain["tenant"]
    key = tenant.digest_keys()[1]  # not the newest: a newer digest links to it
    restore = _restore(tenant, key)
    tenant.s3.delete_object(Bucket=tenant.bucket, Key=key)
    try:
        _tampered(chain, "not found")
    finally:
        restore()


def test_replaced_signature(chain: dict[str, Any]) -> None:
    tenant: Tenant = chain["tenant"]
    keys = tenant.digest_keys()
    key, other = keys[-1], keys[0]
    restore = _restore(tenant, key)
    other_meta = tenant.s3.get_object(Bucket=tenant.bucket, Key=other)["Metadata"]
    _put(tenant, key, tenant.read(key), other_meta)
    try:
        _tampered(chain, "signature verification failed")
    finally:
        restore()


def test_moved_digest(chain: dict[str, Any]) -> None:
    tenant: Tenant = chain["tenant"]
    key = tenant.digest_keys()[-1]
    head = tenant.s3.get_object(Bucket=tenant.bucket, Key=key)
    # The same object under a key one second later, as a copy to another location would be.
    stamp = key[-24:-8]
    later = time.strftime(
        "%Y%m%dT%H%M%SZ", time.gmtime(calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ")) + 1)
    )
    moved = key[:-24] + later + ".json.gz"
    _put(tenant, moved, head["Body"].read(), head["Metadata"])
    try:
        _tampered(chain, "has been moved from its original location")
    finally:
        tenant.s3.delete_object(Bucket=tenant.bucket, Key=moved)
    code, out, err = validate(chain)
    assert code == 0, out + err


def test_delete_trail_writes_final_digests_per_region(server: Server) -> None:
    """A multi-region trail's chains, one per source region, each signed with that region's key (what
    validate-logs asks ListPublicKeys for), end with a final digest when the trail is deleted."""
    tenant = Tenant(server)
    t0 = iso(time.time() - 60)
    arn = tenant.trail("everywhere", IsMultiRegionTrail=True, EnableLogFileValidation=True)
    east, west = record(tenant.account), record(tenant.account, region="eu-west-1")
    tenant.ingest([east, west])
    tenant.wait_delivered({east["eventID"]})
    tenant.wait_delivered({west["eventID"]}, "eu-west-1")
    tenant.cloudtrail.delete_trail(Name="everywhere")
    deleted_at = iso(time.time())

    def finished(region: str) -> bool:
        keys = tenant.digest_keys(region)
        if not keys:
            return False
        newest = json.loads(gzip.decompress(tenant.read(keys[-1])))
        return bool(newest["digestEndTime"] >= deleted_at)

    for region in ("us-east-1", "eu-west-1"):
        wait_for(functools.partial(finished, region), f"the final digest in {region}")
        listed: set[str] = set()
        for key in tenant.digest_keys(region):
            document = json.loads(gzip.decompress(tenant.read(key)))
            listed.update(entry["s3Object"] for entry in document["logFiles"])
        assert listed == set(tenant.log_keys(region))
        # The trail is gone, so DescribeTrails cannot name the bucket: --s3-bucket does.
        result = server.aws(
            "cloudtrail",
            "validate-logs",
            "--trail-arn",
            arn,
            "--start-time",
            t0,
            "--s3-bucket",
            tenant.bucket,
            "--region",
            region,
            "--verbose",
            creds=tenant.creds,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "INVALID" not in result.stdout + result.stderr
        assert f"{len(listed)}/{len(listed)} log files valid" in result.stdout


# -- in process: a crash between writing a file and advancing the cursor rewrites the same object -------


class _LosesTheAck(LocalStorage):
    """A bucket store that writes each object, then fails once as if the process died before the
    cursor was advanced (a fake backend, not a mock: the object really is written)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.failures_left = 1

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
        if self.failures_left:
            self.failures_left -= 1
            raise StorageError("connection reset after the write")
        return info


def test_retry_after_a_lost_write_rewrites_the_same_object(tmp_path: Path) -> None:
    account, bucket = "111122223333", "crash-bucket"
    store = SQLiteStore(str(tmp_path / "db.sqlite"))
    storage = _LosesTheAck(tmp_path / "buckets")
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
    delivery.logging_started(store, account, trail)
    sent = [record(account) for _ in range(10)]
    store.append([index_record(json.dumps(r).encode(), account) for r in sent])
    worker = delivery.Deliverer(store, storage, Signer.for_data_dir(store, tmp_path, clock), clock, 1.0, 4.0)
    try:
        worker.run_once(force=True)
        written = storage.list_objects(bucket).objects
        assert len(written) == 1
        first = storage.get_object(bucket, written[0].key)[1]
        assert "LatestDeliveryError" in delivery.status(store, account, trail.trail_arn)
        # The retry (after its backoff) delivers the same range again: same key, same bytes, no second file.
        store.update_doc(delivery.KIND, account, trail.trail_arn, _retry_now)
        worker.run_once(force=True)
        again = storage.list_objects(bucket).objects
        assert [o.key for o in again] == [o.key for o in written]
        assert storage.get_object(bucket, again[0].key)[1] == first
        delivered = json.loads(single_member(first))["Records"]
        assert [r["eventID"] for r in delivered] == [r["eventID"] for r in sent]
        assert "LatestDeliveryError" not in delivery.status(store, account, trail.trail_arn)
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
    delivery.logging_started(store, account, trail)

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
        delivery.logging_stopped(store, account, trail)
        gap = ingest(2)
        set_trail(is_logging=True, start_logging_time=3.0)
        delivery.logging_started(store, account, msgspec.structs.replace(trail, start_logging_time=3.0))
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
