"""The canonical request and the signing key (``server/sigv4/canonical.py``)."""

from __future__ import annotations

from opentrail.server.sigv4 import canonical
from tests.support.sigv4 import SECRET


def test_canonical_query_sorts_and_encodes_once() -> None:
    assert canonical.canonical_query("b=2&a=1&a=0&c") == "a=0&a=1&b=2&c="
    assert canonical.canonical_query("prefix=a%2Fb c&x=%7E") == "prefix=a%2Fb%20c&x=~"


def test_the_signing_key_of_awss_documented_example() -> None:
    """AWS's SigV4 documentation derives this key for its example secret, date, region and service."""
    key = canonical.signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_signing_keys_depend_on_every_part_of_the_scope() -> None:
    base = canonical.signing_key(SECRET, "20240101", "us-east-1", "cloudtrail")
    assert canonical.signing_key(SECRET, "20240101", "us-east-1", "cloudtrail") == base
    for other in (
        (SECRET + "x", "20240101", "us-east-1", "cloudtrail"),
        (SECRET, "20240102", "us-east-1", "cloudtrail"),
        (SECRET, "20240101", "us-west-2", "cloudtrail"),
        (SECRET, "20240101", "us-east-1", "s3"),
    ):
        assert canonical.signing_key(*other) != base
