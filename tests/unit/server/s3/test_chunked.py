"""aws-chunked bodies (``server/s3/chunked.py``), decoded as they arrive in pieces of any size: as
botocore encodes them (CRC32 trailers, unsigned), as AWS's documented example and the AWS SDKs sign them
(every chunk's signature checked, the trailer's too), and broken ones refused in S3's words."""

from __future__ import annotations

import base64
import io
import zlib
from datetime import UTC, datetime

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

from opentrail.errors import InvalidSignature, S3Error
from opentrail.server import sigv4
from opentrail.server.s3.chunked import AwsChunked, decode_aws_chunked, decoder_for
from opentrail.server.sigv4.chunks import ChunkChain
from tests.support.aws_chunked import (
    EXAMPLE_DATE,
    EXAMPLE_HEADERS,
    EXAMPLE_SECRET,
    EXAMPLE_SEED,
    example_authorization,
    example_body,
    signed_chunks,
    unsigned_chunks,
)

EXAMPLE_TIME = datetime(2013, 5, 24, tzinfo=UTC).timestamp()


def botocore_chunked(data: bytes, chunk_size: int = 8) -> bytes:
    """What botocore sends for a PutObject with a CRC32 trailer."""
    wrapper = AwsChunkedWrapper(
        io.BytesIO(data),
        checksum_cls=Crc32Checksum,
        checksum_name="x-amz-checksum-crc32",
        chunk_size=chunk_size,
    )
    return wrapper.read()


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def fed(decoder: AwsChunked, body: bytes, piece: int) -> tuple[bytes, dict[str, str]]:
    """The body fed ``piece`` bytes at a time, as a network delivers it."""
    out = b"".join(decoder.feed(body[i : i + piece]) for i in range(0, len(body), piece))
    return out, decoder.finish()


@pytest.mark.parametrize("data", [b"", b"hello world" * 3, bytes(range(256)) * 40])
@pytest.mark.parametrize("piece", [1, 7, 4096, 1 << 20])
def test_botocores_aws_chunked_bodies_decode(data: bytes, piece: int) -> None:
    decoded, trailers = fed(AwsChunked(decoded_length=len(data)), botocore_chunked(data), piece)
    assert decoded == data
    assert trailers == {"x-amz-checksum-crc32": crc32(data)}


def test_unsigned_chunk_signatures_and_trailer_names_are_read() -> None:
    trailer = f"X-Amz-Checksum-CRC32: {crc32(b'hello')} \r\n\r\n".encode()
    body = b"5;chunk-signature=abc\r\nhello\r\n0;chunk-signature=def\r\n" + trailer
    assert decode_aws_chunked(body) == (b"hello", {"x-amz-checksum-crc32": crc32(b"hello")})


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"5\r\nhello", "IncompleteBody"),  # ends inside a chunk
        (b"5\r\nhel\r\n0\r\n\r\n", "IncompleteBody"),
        (b"5", "IncompleteBody"),  # ends inside a chunk header
        (b"zz\r\nhello\r\n0\r\n\r\n", "InvalidArgument"),
        (b"5\r\nhello\r\n0\r\n\r\nmore\r\n", "IncompleteBody"),  # data after the final chunk
        (b"1" * 5000, "InvalidArgument"),  # a chunk header that never ends
    ],
)
def test_broken_aws_chunked_bodies(body: bytes, code: str) -> None:
    with pytest.raises(S3Error) as caught:
        decode_aws_chunked(body)
    assert (caught.value.s3_code, caught.value.s3_status) == (code, 400)


def test_the_checks_at_the_end_of_an_unsigned_trailer_upload() -> None:
    data = b"log file bytes" * 100
    body = botocore_chunked(data)
    assert fed(AwsChunked(decoded_length=len(data)), body, 100)[0] == data
    with pytest.raises(S3Error, match="x-amz-decoded-content-length says"):
        fed(AwsChunked(decoded_length=len(data) + 1), body, 100)
    with pytest.raises(S3Error, match="trailer did not match"):
        fed(AwsChunked(), body.replace(b"log", b"LOG", 1), 100)


def example_chain() -> ChunkChain:
    request = sigv4.Request(
        "PUT",
        "/examplebucket/chunkObject.txt",
        "",
        {**EXAMPLE_HEADERS, "authorization": example_authorization()},
    )
    credential, verifier = sigv4.read_credential(request, EXAMPLE_TIME)
    verifier(request, credential, EXAMPLE_SECRET, sigv4.payload_claim(request, credential))
    return ChunkChain(credential, EXAMPLE_SECRET)


@pytest.mark.parametrize("piece", [1, 1000, 65536, 1 << 20])
def test_awss_signed_example_decodes(piece: int) -> None:
    decoder = decoder_for(EXAMPLE_HEADERS, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", example_chain())
    assert decoder is not None
    assert fed(decoder, example_body(), piece) == (b"a" * 66560, {})


@pytest.mark.parametrize(
    "damage",
    [
        lambda body: body.replace(b"aaaa", b"aaab", 1),  # a byte of the first chunk
        lambda body: body[:-200] + b"b" + body[-199:],  # a byte of the second
        lambda body: body.replace(b"b6c6ea8a", b"b6c6ea8b"),  # the final chunk's signature
        lambda body: body.replace(b";chunk-signature=ad80c730", b";chunk-signaturx=ad80c730"),  # unsigned
    ],
    ids=["first-chunk", "second-chunk", "final-signature", "no-signature"],
)
def test_a_changed_signed_chunk_is_signature_does_not_match(damage) -> None:  # type: ignore[no-untyped-def]
    decoder = decoder_for(EXAMPLE_HEADERS, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", example_chain())
    assert decoder is not None
    with pytest.raises(InvalidSignature, match="signature we calculated does not match"):
        fed(decoder, damage(example_body()), 4096)


def test_a_dropped_signed_chunk_fails() -> None:
    body = example_body()
    second = body.index(b"400;chunk-signature")
    final = body.index(b"0;chunk-signature=b6c6")
    decoder = decoder_for(EXAMPLE_HEADERS, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", example_chain())
    assert decoder is not None
    with pytest.raises(InvalidSignature):
        fed(decoder, body[:second] + body[final:], 4096)


@pytest.mark.parametrize("size", [0, 1, 65536, 200_000])
def test_signed_chunks_with_a_signed_trailer(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    trailers = {"x-amz-checksum-crc32": crc32(data)}
    body = signed_chunks(data, EXAMPLE_SEED, EXAMPLE_SECRET, EXAMPLE_DATE, trailers=trailers)
    headers = {**EXAMPLE_HEADERS, "x-amz-decoded-content-length": str(size)}
    decoder = decoder_for(headers, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", example_chain())
    assert decoder is not None
    decoded, got = fed(decoder, body, 3000)
    assert decoded == data
    assert got["x-amz-checksum-crc32"] == crc32(data)
    forged = body.replace(f"x-amz-checksum-crc32:{crc32(data)}".encode(), b"x-amz-checksum-crc32:BBBBBB==")
    decoder = decoder_for(headers, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", example_chain())
    assert decoder is not None
    with pytest.raises(InvalidSignature):
        fed(decoder, forged, 3000)
    unsigned = body[: body.index(b"x-amz-trailer-signature")] + b"\r\n"
    decoder = decoder_for(headers, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", example_chain())
    assert decoder is not None
    with pytest.raises(InvalidSignature):
        fed(decoder, unsigned, 3000)


def test_an_unsigned_trailer_upload_needs_no_chain() -> None:
    data = b"z" * 70000
    body = unsigned_chunks(data, trailers={"x-amz-checksum-crc32": crc32(data)})
    headers = {"x-amz-decoded-content-length": str(len(data))}
    decoder = decoder_for(headers, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", None)
    assert decoder is not None
    assert fed(decoder, body, 1000)[0] == data
    assert decoder_for(headers, "UNSIGNED-PAYLOAD", None) is None
