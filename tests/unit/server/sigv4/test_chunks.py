"""The chain of chunk signatures (``server/sigv4/chunks.py``) against the signatures AWS publishes for
its chunked-upload example, and against the documented algorithm written independently in the tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from opentrail import errors
from opentrail.server import sigv4
from opentrail.server.sigv4.chunks import ChunkChain
from tests.support.aws_chunked import (
    EXAMPLE_CHUNKS,
    EXAMPLE_DATE,
    EXAMPLE_HEADERS,
    EXAMPLE_SECRET,
    EXAMPLE_SEED,
    example_authorization,
    signed_chunks,
)

EXAMPLE_TIME = datetime(2013, 5, 24, tzinfo=UTC).timestamp()


def example_credential() -> sigv4.Credential:
    """AWS's example request, read and verified as the edge does, from its headers alone."""
    request = sigv4.Request(
        "PUT",
        "/examplebucket/chunkObject.txt",
        "",
        {**EXAMPLE_HEADERS, "authorization": example_authorization()},
    )
    credential, verifier = sigv4.read_credential(request, EXAMPLE_TIME)
    claim = sigv4.payload_claim(request, credential)
    assert claim == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    verifier(request, credential, EXAMPLE_SECRET, claim)  # the seed signature
    return credential


def test_awss_published_chunk_signatures() -> None:
    credential = example_credential()
    assert credential.signature == EXAMPLE_SEED
    chain = ChunkChain(credential, EXAMPLE_SECRET)
    for size, published in EXAMPLE_CHUNKS:
        assert chain.expected_chunk(hashlib.sha256(b"a" * size).hexdigest()) == published
        chain.chunk(hashlib.sha256(b"a" * size).hexdigest(), published)


def test_a_chunk_out_of_its_place_fails() -> None:
    chain = ChunkChain(example_credential(), EXAMPLE_SECRET)
    (first, _), (second, second_signature), _ = EXAMPLE_CHUNKS
    with pytest.raises(errors.InvalidSignature, match="Check your key and signing method"):
        chain.chunk(hashlib.sha256(b"a" * second).hexdigest(), second_signature)  # skipped the first
    chain = ChunkChain(example_credential(), "another secret")
    with pytest.raises(errors.InvalidSignature):
        chain.chunk(hashlib.sha256(b"a" * first).hexdigest(), EXAMPLE_CHUNKS[0][1])


def test_the_trailer_signature_follows_the_final_chunk() -> None:
    credential = example_credential()
    trailers = {"x-amz-checksum-crc32": "AAAAAA=="}
    body = signed_chunks(b"a" * 100, EXAMPLE_SEED, EXAMPLE_SECRET, EXAMPLE_DATE, trailers=trailers)
    published = body.rsplit(b"x-amz-trailer-signature:", 1)[1].strip().decode()
    chain = ChunkChain(credential, EXAMPLE_SECRET)
    for piece in (b"a" * 100, b""):
        chain.chunk(
            hashlib.sha256(piece).hexdigest(), chain.expected_chunk(hashlib.sha256(piece).hexdigest())
        )
    assert chain.expected_trailer(b"x-amz-checksum-crc32:AAAAAA==\n") == published
    with pytest.raises(errors.InvalidSignature):
        chain.trailer(b"x-amz-checksum-crc32:BBBBBB==\n", published)
