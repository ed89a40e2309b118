"""Buckets in the S3 subset (``server/s3/buckets.py``): a bucket the store records for an account is that
account's alone (AccessDenied, 403, for anyone else; left out of their ListBuckets), one with no recorded
owner (made in the bucket store by hand) is served to any caller, and CreateBucket answers as S3 does:
BucketAlreadyExists (409) for another's name, BucketAlreadyOwnedByYou (409) for one's own, any
LocationConstraint accepted, a body that is not XML MalformedXML (400)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opentrail.errors import InvalidBucketName, S3Error
from opentrail.server.s3 import buckets
from tests.support.calls import Env
from tests.support.s3 import parsed
from tests.support.services import open_env

OWNER, OTHER = "111122223333", "444455556666"
CONFIGURATION = (
    b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"
)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    for env in open_env(tmp_path):
        env.services.storage.create_bucket("owned")
        env.store.add_bucket("owned", OWNER)
        env.services.storage.create_bucket("unowned")  # made in the bucket store, no owner recorded
        yield env


def refused(env: Env, account: str, bucket: str) -> tuple[str, int]:
    with pytest.raises(S3Error) as caught:
        buckets.check_access(env.call(account), bucket)
    return caught.value.s3_code, caught.value.s3_status


def create(env: Env, account: str, bucket: str, body: bytes = b"") -> dict[str, object]:
    return parsed("CreateBucket", asyncio.run(buckets.create_bucket(env.call(account), bucket, body)))


def create_refused(env: Env, account: str, bucket: str, body: bytes = b"") -> tuple[str, int]:
    with pytest.raises(S3Error) as caught:
        create(env, account, bucket, body)
    return caught.value.s3_code, caught.value.s3_status


def test_a_bucket_is_its_owners_alone(env: Env) -> None:
    buckets.check_access(env.call(OWNER), "owned")
    assert refused(env, OTHER, "owned") == ("AccessDenied", 403)


def test_a_bucket_with_no_recorded_owner_is_anyones(env: Env) -> None:
    for account in (OWNER, OTHER):
        buckets.check_access(env.call(account), "unowned")


def test_a_missing_bucket_or_a_name_no_bucket_can_have(env: Env) -> None:
    assert refused(env, OWNER, "never-made") == ("NoSuchBucket", 404)
    with pytest.raises(InvalidBucketName):
        buckets.check_access(env.call(OWNER), "Not_A_Bucket")


def test_list_buckets_shows_the_callers_and_the_unowned(env: Env) -> None:
    env.services.storage.create_bucket("theirs")
    env.store.add_bucket("theirs", OTHER)
    for account, names in ((OWNER, ["owned", "unowned"]), (OTHER, ["theirs", "unowned"])):
        listed = parsed("ListBuckets", asyncio.run(buckets.list_buckets(env.call(account))))
        assert [b["Name"] for b in listed["Buckets"]] == names
        assert listed["Owner"] == {"ID": account, "DisplayName": account}
        # The store keeps no creation time: every bucket says the epoch, a valid S3 timestamp.
        assert {b["CreationDate"] for b in listed["Buckets"]} == {datetime(1970, 1, 1, tzinfo=UTC)}


def test_a_created_bucket_is_recorded_for_its_creator(env: Env) -> None:
    result = create(env, OTHER, "fresh-bucket")
    assert result["Location"] == "/fresh-bucket"
    assert env.store.bucket_owner("fresh-bucket") == OTHER
    assert env.services.storage.bucket_exists("fresh-bucket")
    assert refused(env, OWNER, "fresh-bucket") == ("AccessDenied", 403)


def test_any_location_constraint_is_accepted(env: Env) -> None:
    assert create(env, OWNER, "in-eu-west-1", CONFIGURATION)["Location"] == "/in-eu-west-1"


def test_a_configuration_that_is_not_xml_is_malformed(env: Env) -> None:
    assert create_refused(env, OWNER, "not-made", b"<CreateBucketConfiguration>") == ("MalformedXML", 400)
    assert not env.services.storage.bucket_exists("not-made")


def test_a_taken_name_is_refused_in_s3s_words(env: Env) -> None:
    assert create_refused(env, OTHER, "owned") == ("BucketAlreadyExists", 409)
    assert create_refused(env, OWNER, "owned") == ("BucketAlreadyOwnedByYou", 409)
    assert create_refused(env, OTHER, "unowned") == ("BucketAlreadyOwnedByYou", 409)
    # Refusals change no ownership.
    assert (env.store.bucket_owner("owned"), env.store.bucket_owner("unowned")) == (OWNER, None)


def test_a_name_no_bucket_can_have_is_refused_and_nothing_is_made(env: Env) -> None:
    with pytest.raises(InvalidBucketName):
        create(env, OWNER, "192.168.1.1")
    assert env.store.bucket_owner("192.168.1.1") is None
