"""ListPublicKeys (``delivery/public_keys.py``) in process: the caller's keys of its region whose
validity overlaps the window (each absent time "now"), each as PKCS#1 DER with CloudTrail's MD5
fingerprint, none made by the call itself, and the reserved NextToken refused (reference §2.14, §5.7)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import rsa as pyrsa

from opentrail.clock import FixedClock
from opentrail.delivery.public_keys import list_public_keys
from opentrail.delivery.signing import DAY, SIGNING_PERIOD, Signer
from opentrail.errors import InvalidTimeRange, InvalidToken, SerializationException
from opentrail.storage.encryption import MasterKey
from tests.support.calls import Env
from tests.support.services import START, open_env

ACCOUNT, OTHER = "111122223333", "444455556666"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def env(tmp_path: Path, clock: FixedClock) -> Iterator[Env]:
    for env in open_env(tmp_path, clock):
        env.services.signer = Signer(env.store, MasterKey.load_or_create(tmp_path), clock)
        yield env


def signed_once(env: Env, account: str = ACCOUNT, region: str = "us-east-1") -> None:
    """Sign a digest now, which is what makes a key (ListPublicKeys never does)."""
    assert env.services.signer is not None
    env.services.signer.sign(account, region, b"digest")


def test_no_digest_signed_no_key(env: Env) -> None:
    assert list_public_keys(env.call(ACCOUNT), {}) == {"PublicKeyList": []}
    assert list_public_keys(env.call(ACCOUNT), {}) == {"PublicKeyList": []}  # the read made none


def test_the_current_key_as_cloudtrail_publishes_it(env: Env) -> None:
    signed_once(env)
    (key,) = list_public_keys(env.call(ACCOUNT), {})["PublicKeyList"]
    assert set(key) == {"Value", "ValidityStartTime", "ValidityEndTime", "Fingerprint"}
    assert key["Fingerprint"] == hashlib.md5(key["Value"], usedforsecurity=False).hexdigest()
    # PKCS#1 RSAPublicKey DER of a 2048-bit key: what the AWS CLI's verifier loads.
    public = pyrsa.PublicKey.load_pkcs1(key["Value"], format="DER")
    assert public.n.bit_length() == 2048
    assert (key["ValidityStartTime"], key["ValidityEndTime"]) == (START, START + SIGNING_PERIOD)
    # On the wire the blob is base64, as botocore expects.
    wire = msgspec.json.decode(msgspec.json.encode(key))
    assert wire["Value"].startswith("MIIBCgKCAQEA")


def test_keys_are_per_account_and_region(env: Env) -> None:
    signed_once(env, ACCOUNT, "eu-west-1")
    signed_once(env, OTHER, "us-east-1")
    assert list_public_keys(env.call(ACCOUNT, "us-east-1"), {})["PublicKeyList"] == []
    assert len(list_public_keys(env.call(ACCOUNT, "eu-west-1"), {})["PublicKeyList"]) == 1


def test_the_window_selects_keys_by_validity(env: Env, clock: FixedClock) -> None:
    signed_once(env)
    clock.advance(29 * DAY + 1)  # the first key is past its rotation: a successor signs from now
    signed_once(env)
    call = env.call(ACCOUNT)
    both = list_public_keys(call, {"StartTime": START, "EndTime": START + 40 * DAY})["PublicKeyList"]
    assert [k["ValidityStartTime"] for k in both] == [START, START + 29 * DAY + 1]
    first = list_public_keys(call, {"StartTime": START, "EndTime": START + DAY})["PublicKeyList"]
    assert [k["ValidityStartTime"] for k in first] == [START]
    now = list_public_keys(call, {})["PublicKeyList"]  # both are valid now: the windows overlap
    assert len(now) == 2
    before = list_public_keys(call, {"StartTime": START - 10 * DAY, "EndTime": START - DAY})["PublicKeyList"]
    assert before == []
    # Only an end: from now to then; an ISO string works as well as epoch seconds.
    later = list_public_keys(call, {"EndTime": "2030-01-01T00:00:00Z"})["PublicKeyList"]
    assert len(later) == 2


def test_a_start_after_the_end_is_an_invalid_time_range(env: Env) -> None:
    with pytest.raises(InvalidTimeRange, match=r"StartTime 200 is after EndTime 100"):
        list_public_keys(env.call(ACCOUNT), {"StartTime": 200, "EndTime": 100})
    with pytest.raises(InvalidTimeRange, match=r"is after EndTime 1704067200\.0 \(now, the default\)"):
        list_public_keys(env.call(ACCOUNT), {"StartTime": START + DAY})
    with pytest.raises(SerializationException):
        list_public_keys(env.call(ACCOUNT), {"StartTime": True})


def test_next_token_is_reserved(env: Env) -> None:
    with pytest.raises(InvalidToken):
        list_public_keys(env.call(ACCOUNT), {"NextToken": "anything"})
    # A token this server sealed for another listing is no token of this one.
    token = env.services.sealer.seal(f"ListTrails:{ACCOUNT}", ["us-east-1", "trail-1"])
    with pytest.raises(InvalidToken):
        list_public_keys(env.call(ACCOUNT), {"NextToken": token})
