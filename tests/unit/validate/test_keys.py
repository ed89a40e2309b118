"""The public keys of a run: asked for over the AWS CLI's window, loaded as PKCS#1 only, each once."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization

from opentrail.delivery.signing import SigningKey
from opentrail.errors import ValidationAborted
from opentrail.validate.keys import PublicKeys, load_public_keys
from opentrail.validate.verdicts import Invalid
from tests.support.chains import list_public_keys

START = datetime(2024, 5, 1, tzinfo=UTC)
END = datetime(2024, 5, 2, tzinfo=UTC)


def test_the_window_asked_for_ends_two_hours_late(key: SigningKey) -> None:
    asked: list[tuple[datetime, datetime]] = []

    def listed(since: datetime, until: datetime) -> list[dict[str, object]]:
        asked.append((since, until))
        return list_public_keys(key)  # type: ignore[return-value]  # dict[str, Any] is what it is

    keys = load_public_keys(listed, START, END)
    assert asked == [(START, datetime(2024, 5, 2, 2, tzinfo=UTC))]
    assert keys.der == {key.public.fingerprint: key.public.der}


def test_a_value_given_as_bytes_is_taken_as_der(key: SigningKey) -> None:
    keys = load_public_keys(lambda *_: [{"Value": key.public.der, "Fingerprint": "f"}], START, END)
    assert keys.der == {"f": key.public.der}


def test_no_key_at_all_aborts_in_the_aws_clis_words() -> None:
    with pytest.raises(ValidationAborted) as raised:
        load_public_keys(lambda *_: [], START, END)
    assert str(raised.value) == "No public keys found between 2024-05-01T00:00:00Z and 2024-05-02T02:00:00Z"


def test_a_key_is_loaded_once_and_checks_signatures(key: SigningKey) -> None:
    fingerprint = key.public.fingerprint
    keys = PublicKeys({fingerprint: key.public.der})
    assert fingerprint in keys
    assert "other" not in keys
    assert keys.load(fingerprint) is keys.load(fingerprint)
    signature = bytes.fromhex(key.sign(b"message"))
    assert keys.signature_valid(fingerprint, signature, b"message")
    assert not keys.signature_valid(fingerprint, signature, b"another message")


def test_an_spki_key_is_refused_as_the_aws_cli_refuses_it(key: SigningKey) -> None:
    spki = key.private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for der in (spki, b"not a key"):
        with pytest.raises(Invalid) as raised:
            PublicKeys({"fp": der}).load("fp")
        assert raised.value.reason == "Unable to load PKCS #1 key with fingerprint fp"
    assert base64.b64encode(key.public.der).startswith(b"MIIBCgKCAQEA")  # what is accepted: PKCS#1
