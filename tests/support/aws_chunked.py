"""aws-chunked bodies built the way AWS's S3 documentation describes them ("Signature Calculations for
the Authorization Header: Transferring Payload in Multiple Chunks", and its page on trailing headers),
written here from that text alone, independent of the server's code: what the AWS SDKs for Java and Go
send, which botocore does not. Also the documentation's worked example, whose signatures AWS publishes."""

from __future__ import annotations

import hashlib
import hmac

# AWS's example: PUT /examplebucket/chunkObject.txt, 66,560 bytes of "a" in chunks of 64 KiB, 1 KiB and
# the final empty one, signed at 20130524T000000Z with the documentation's example key.
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105 - AWS's published example key
EXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
EXAMPLE_DATE = "20130524T000000Z"
EXAMPLE_HEADERS = {
    "content-encoding": "aws-chunked",
    "content-length": "66824",
    "host": "s3.amazonaws.com",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "x-amz-date": EXAMPLE_DATE,
    "x-amz-decoded-content-length": "66560",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
}
EXAMPLE_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
EXAMPLE_CHUNKS = [
    (65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
    (1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
    (0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
]
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def example_authorization() -> str:
    signed = ";".join(sorted(EXAMPLE_HEADERS))
    scope = f"{EXAMPLE_KEY_ID}/20130524/us-east-1/s3/aws4_request"
    return f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={signed}, Signature={EXAMPLE_SEED}"


def example_body() -> bytes:
    return b"".join(
        f"{size:x};chunk-signature={signature}\r\n".encode() + b"a" * size + b"\r\n"
        for size, signature in EXAMPLE_CHUNKS
    )


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def signed_chunks(
    data: bytes,
    seed: str,
    secret: str,
    amz_date: str,
    region: str = "us-east-1",
    chunk_size: int = 65536,
    trailers: dict[str, str] | None = None,
) -> bytes:
    """``data`` as a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body (with ``trailers``: its ``-TRAILER`` form),
    each chunk's signature chained from ``seed``, the request's signature."""
    key = signing_key(secret, amz_date[:8], region)
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    previous = seed
    out = []
    pieces = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    for piece in pieces:
        text = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                EMPTY_SHA256,
                hashlib.sha256(piece).hexdigest(),
            ]
        )
        previous = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        out.append(f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece)
        out.append(b"\r\n" if piece else b"")
    if trailers is None:
        return b"".join(out) + b"\r\n"
    canonical = "".join(f"{name}:{value}\n" for name, value in trailers.items())
    text = "\n".join(
        [
            "AWS4-HMAC-SHA256-TRAILER",
            amz_date,
            scope,
            previous,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    signature = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    lines = "".join(f"{name}:{value}\r\n" for name, value in trailers.items())
    return b"".join(out) + f"{lines}x-amz-trailer-signature:{signature}\r\n\r\n".encode()


def unsigned_chunks(data: bytes, chunk_size: int = 65536, trailers: dict[str, str] | None = None) -> bytes:
    """``data`` as a STREAMING-UNSIGNED-PAYLOAD-TRAILER body."""
    out = [
        f"{len(data[i : i + chunk_size]):x}\r\n".encode() + data[i : i + chunk_size] + b"\r\n"
        for i in range(0, len(data), chunk_size)
    ]
    lines = "".join(f"{name}:{value}\r\n" for name, value in (trailers or {}).items())
    return b"".join(out) + f"0\r\n{lines}\r\n".encode()
