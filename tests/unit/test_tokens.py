"""Pagination tokens (``tokens.py``): a token gives back the position sealed in it, opens only for the query
it was made for and only on the server holding the secret that sealed it, and any edit of it is refused
as the listing's own error (``InvalidNextTokenException`` unless the operation names another), as
botocore and the AWS CLI expect of an opaque ``NextToken``."""

from __future__ import annotations

import base64
from typing import Any

import botocore.session
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentrail.errors import ApiError, InvalidToken
from opentrail.tokens import MAX_TOKEN_CHARS, TokenSealer, query_fingerprint
from tests.support.tokens import mutations

SECRET = b"unit-test-token-secret".ljust(32, b"\0")
SCOPE = query_fingerprint({"op": "LookupEvents", "account": "111122223333", "MaxResults": 3})
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# What listings keep in a token: names, sequence numbers, times, and lists of them.
positions = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


def refused(token: Any, scope: str = SCOPE, sealer: TokenSealer | None = None) -> ApiError:
    with pytest.raises(ApiError) as info:
        (sealer or TokenSealer(SECRET)).open(token, scope)
    assert info.value.code == "InvalidNextTokenException"
    assert info.value.status == 400
    return info.value


@SETTINGS
@given(position=positions)
def test_a_token_gives_back_the_position_sealed_in_it(position: Any) -> None:
    sealer = TokenSealer(SECRET)
    token = sealer.seal(SCOPE, position)
    assert sealer.open(token, SCOPE) == position
    assert TokenSealer(SECRET).open(token, SCOPE) == position  # the secret, not the object, opens it


@SETTINGS
@given(position=positions)
def test_a_token_is_url_safe_text_without_padding(position: Any) -> None:
    token = TokenSealer(SECRET).seal(SCOPE, position)
    body, mac = token.split(".")
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert set(body) <= alphabet
    assert set(mac) <= alphabet
    # An HMAC-SHA256 cut to 16 bytes: long enough that forging one is out of reach.
    assert len(base64.urlsafe_b64decode(mac + "==")) == 16


@SETTINGS
@given(data=st.data())
def test_any_mutation_of_a_token_is_refused(data: st.DataObject) -> None:
    token = TokenSealer(SECRET).seal(SCOPE, [1_704_067_200_000, 42])
    mutated = data.draw(mutations(token).filter(lambda t: t != token))
    refused(mutated)


def test_another_spelling_of_the_same_bytes_is_refused() -> None:
    """base64 decoders accept padding and ignore stray bits; only the spelling this server issued opens."""
    token = TokenSealer(SECRET).seal(SCOPE, "after-this")
    body, mac = token.split(".")
    assert "not a token this server issued" in refused(f"{body}==.{mac}").message
    assert "not a token this server issued" in refused(f"{body}.{mac}==").message


def test_a_token_made_for_another_query_is_refused() -> None:
    token = TokenSealer(SECRET).seal(SCOPE, 7)
    other = query_fingerprint({"op": "LookupEvents", "account": "111122223333", "MaxResults": 4})
    message = refused(token, other).message
    assert "different parameters" in message
    assert message.startswith("NextToken ")


def test_a_token_sealed_with_another_secret_is_refused() -> None:
    token = TokenSealer(b"another-server-secret".ljust(32, b"\0")).seal(SCOPE, 7)
    assert "altered or forged" in refused(token).message


@pytest.mark.parametrize("token", ["", "x" * (MAX_TOKEN_CHARS + 1), 12, None, ["a.b"]])
def test_what_is_not_a_token_of_a_listing_is_refused(token: Any) -> None:
    assert "must be a token returned by a previous call" in refused(token).message


def test_the_longest_token_read_is_the_models_limit() -> None:
    """botocore's PaginationToken (ListChannels' NextToken) is at most 1000 characters: one that long is
    read (and refused for what it holds), one longer is not read at all."""
    model = botocore.session.get_session().get_service_model("cloudtrail")
    assert model.shape_for("PaginationToken").metadata["max"] == MAX_TOKEN_CHARS
    at_limit = "a" * 500 + "." + "b" * (MAX_TOKEN_CHARS - 501)
    assert "not a token this server issued" in refused(at_limit).message
    assert "must be a token" in refused(at_limit + "b").message


def test_the_operation_names_its_own_error_and_member() -> None:
    """ListPublicKeys answers InvalidTokenException; the message names the member that was wrong."""
    sealer = TokenSealer(SECRET)
    with pytest.raises(InvalidToken) as info:
        sealer.open("forged.token", SCOPE, error=InvalidToken, name="NextToken")
    assert info.value.code == "InvalidTokenException"
    with pytest.raises(InvalidToken, match=r"^PageToken was issued for a call with different parameters"):
        sealer.open(sealer.seal(SCOPE, 1), "other-scope", error=InvalidToken, name="PageToken")


def test_a_fingerprint_ignores_the_order_of_members_and_nothing_else() -> None:
    first = query_fingerprint({"MaxResults": 3, "StartTime": 1_704_067_200, "region": "us-east-1"})
    same = query_fingerprint({"region": "us-east-1", "StartTime": 1_704_067_200, "MaxResults": 3})
    assert first == same
    assert len(first) == 32
    assert int(first, 16) >= 0  # hexadecimal
    for changed in (
        {"MaxResults": 4, "StartTime": 1_704_067_200, "region": "us-east-1"},
        {"MaxResults": 3, "StartTime": 1_704_067_201, "region": "us-east-1"},
        {"MaxResults": 3, "StartTime": 1_704_067_200, "region": "eu-west-1"},
        {"MaxResults": 3, "StartTime": 1_704_067_200},
    ):
        assert query_fingerprint(changed) != first
