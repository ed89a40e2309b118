"""Buckets in the S3 subset (``server/s3/buckets.py``): a bucket the store records for an account is that
account's alone (AccessDenied, 403, for anyone else; left out of their ListBuckets), one with no recorded
owner (made in the bucket store by hand) is served to any caller, and CreateBucket answers as S3 does:
BucketAlreadyExists (409) for another's name, BucketAlreadyOwnedByYou (409) for one's own, any
LocationConstraint accepted, a body that is not XML MalformedXML (400). ListBuckets gives each bucket's
creation time and pages by ``max-buckets`` and ``continuation-token``; DeleteBucket deletes an empty
bucket and frees its name (BucketNotEmpty, 409, while it holds an object)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opentrail.errors import BucketNotEmpty, InvalidBucketName, S3Error
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


def list_buckets(env: Env, account: str, **query: str) -> dict[str, Any]:
    return parsed("ListBuckets", asyncio.run(buckets.list_buckets(env.call(account), query)))


def test_list_buckets_shows_the_callers_and_the_unowned(env: Env) -> None:
    env.services.storage.create_bucket("theirs")
    env.store.add_bucket("theirs", OTHER)
    for account, names in ((OWNER, ["owned", "unowned"]), (OTHER, ["theirs", "unowned"])):
        listed = list_buckets(env, account)
        assert [b["Name"] for b in listed["Buckets"]] == names
        assert {b["BucketRegion"] for b in listed["Buckets"]} == {"us-east-1"}
        assert listed["Owner"] == {"ID": account, "DisplayName": account}
        assert "ContinuationToken" not in listed


def test_list_buckets_tells_when_each_was_created(env: Env) -> None:
    before = time.time()
    create(env, OWNER, "fresh-bucket")
    dates = {b["Name"]: b["CreationDate"].timestamp() for b in list_buckets(env, OWNER)["Buckets"]}
    assert before - 1 <= dates["fresh-bucket"] <= time.time() + 1
    assert dates["owned"] <= dates["fresh-bucket"]


def test_list_buckets_pages_and_filters_as_s3_does(env: Env) -> None:
    for name in ("logs-a", "logs-b", "logs-c"):
        create(env, OWNER, name)
    first = list_buckets(env, OWNER, prefix="logs-", **{"max-buckets": "2"})
    assert ([b["Name"] for b in first["Buckets"]], first["Prefix"]) == (["logs-a", "logs-b"], "logs-")
    token = first["ContinuationToken"]
    rest = list_buckets(env, OWNER, prefix="logs-", **{"max-buckets": "2", "continuation-token": token})
    assert [b["Name"] for b in rest["Buckets"]] == ["logs-c"]
    assert "ContinuationToken" not in rest


@pytest.mark.parametrize(
    "query",
    [
        {"max-buckets": "0"},
        {"max-buckets": "10001"},
        {"max-buckets": "x"},
        {"max-buckets": "\u00b2"},
        {"continuation-token": "%%"},
    ],
)
def test_bad_list_buckets_parameters_are_invalid_arguments(env: Env, query: dict[str, str]) -> None:
    with pytest.raises(S3Error) as caught:
        list_buckets(env, OWNER, **query)
    assert (caught.value.s3_code, caught.value.s3_status) == ("InvalidArgument", 400)


def test_deleting_a_bucket_frees_its_name(env: Env) -> None:
    deleted = asyncio.run(buckets.delete_bucket(env.call(OWNER), "owned"))
    assert deleted.status_code == 204
    assert not env.services.storage.bucket_exists("owned")
    assert env.store.bucket_owner("owned") is None
    create(env, OTHER, "owned")
    assert env.store.bucket_owner("owned") == OTHER


def test_a_bucket_holding_objects_keeps_them_and_its_owner(env: Env) -> None:
    env.services.storage.put_object("owned", "k", b"x")
    with pytest.raises(BucketNotEmpty):
        asyncio.run(buckets.delete_bucket(env.call(OWNER), "owned"))
    assert env.store.bucket_owner("owned") == OWNER
    assert env.services.storage.get_object("owned", "k")[1] == b"x"


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
