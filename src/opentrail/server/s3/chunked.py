"""aws-chunked bodies, decoded as they arrive: what S3 clients send with x-amz-content-sha256
``STREAMING-*`` (botocore's CRC32 trailers, the AWS SDKs' signed chunks).

    <hex size>[;chunk-signature=<sig>]\\r\\n<size bytes>\\r\\n     ... each data chunk
    0[;chunk-signature=<sig>]\\r\\n                                the final, empty chunk
    <name>:<value>\\r\\n ... [x-amz-trailer-signature:<sig>\\r\\n]   trailing headers, if any
    \\r\\n

With a signed mode each chunk's signature is checked against the chain (``sigv4.chunks``) as soon as
the chunk ends, the final empty chunk's included, and with ``-TRAILER`` the trailer's; a bad or missing
one is S3's SignatureDoesNotMatch (403), and what was decoded is thrown away with the request. The
decoded length and a CRC32 trailer are checked at the end.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Mapping
from typing import Any

from opentrail.errors import InvalidSignature, S3Error
from opentrail.server.sigv4.canonical import S3_SIGNATURE_MISMATCH
from opentrail.server.sigv4.chunks import ChunkChain

MAX_LINE = 4096  # a chunk header or trailer line; real ones are under 100 bytes
TRAILER_SIGNATURE = "x-amz-trailer-signature"
_HEADER, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


def _incomplete(message: str) -> S3Error:
    return S3Error("IncompleteBody", 400, message)


class AwsChunked:
    """One body's decoder: ``feed`` the bytes as they arrive, get the object's bytes back; ``finish``
    checks that the body ended where it should and returns the trailing headers."""

    def __init__(
        self, chain: ChunkChain | None = None, sign_trailer: bool = False, decoded_length: int | None = None
    ) -> None:
        self.chain = chain
        self.sign_trailer = sign_trailer
        self.decoded_length = decoded_length
        self.trailers: dict[str, str] = {}
        self.decoded = 0
        self.crc32 = 0
        self._state = _HEADER
        self._buffer = b""
        self._remaining = 0  # of the current chunk's data
        self._claimed = ""  # the current chunk's signature
        self._sha256: Any = None
        self._canonical = b""  # the trailers as signed
        self._position = 0  # of the buffer's start in the body, for messages

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        buffer = self._buffer + data if self._buffer else data
        pos = 0
        while pos < len(buffer):
            if self._state == _DATA:
                piece = buffer[pos : pos + self._remaining]
                pos += len(piece)
                self._remaining -= len(piece)
                self._take(piece, out)
                if self._remaining == 0:
                    self._state = _DATA_END
                continue
            if self._state == _DATA_END:
                if len(buffer) - pos < 2:
                    break
                if buffer[pos : pos + 2] != b"\r\n":
                    raise _incomplete(
                        f"aws-chunked chunk ending at byte {self._position + pos} is longer than its size"
                    )
                pos += 2
                self._signed_chunk()
                self._state = _HEADER
                continue
            end = buffer.find(b"\r\n", pos)
            if end < 0:
                if len(buffer) - pos > MAX_LINE:
                    raise S3Error("InvalidArgument", 400, f"aws-chunked line at byte {pos} is too long")
                break
            self._line(buffer[pos:end], self._position + pos)
            pos = end + 2
        self._position += pos
        self._buffer = buffer[pos:]
        return b"".join(out)

    def _take(self, piece: bytes, out: list[bytes]) -> None:
        out.append(piece)
        self.decoded += len(piece)
        self.crc32 = zlib.crc32(piece, self.crc32)
        if self._sha256 is not None:
            self._sha256.update(piece)

    def _line(self, line: bytes, at: int) -> None:
        if len(line) > MAX_LINE:
            raise S3Error("InvalidArgument", 400, f"aws-chunked line at byte {at} is too long")
        if self._state == _HEADER:
            self._chunk_header(line, at)
        elif self._state == _TRAILER:
            self._trailer(line)
        elif line.strip():
            raise _incomplete(f"aws-chunked body goes on after its final chunk, at byte {at}")

    def _chunk_header(self, line: bytes, at: int) -> None:
        size_text, _, extension = line.partition(b";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            raise S3Error("InvalidArgument", 400, f"aws-chunked size {size_text[:20]!r} is not hex") from None
        if size < 0:
            raise S3Error("InvalidArgument", 400, f"aws-chunked size {size_text[:20]!r} is negative")
        name, _, value = extension.decode("latin-1").partition("=")
        self._claimed = value.strip() if name.strip() == "chunk-signature" else ""
        if self.chain is not None and not self._claimed:
            raise InvalidSignature(S3_SIGNATURE_MISMATCH)
        self._sha256 = hashlib.sha256() if self.chain is not None else None
        if size == 0:
            self._signed_chunk()
            self._state = _TRAILER
        else:
            self._remaining = size
            self._state = _DATA

    def _signed_chunk(self) -> None:
        if self.chain is not None:
            self.chain.chunk(self._sha256.hexdigest(), self._claimed)

    def _trailer(self, line: bytes) -> None:
        if not line.strip():
            self._state = _DONE
            return
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise S3Error("InvalidArgument", 400, f"aws-chunked trailer {line[:40]!r} is not name:value")
        name, value = name.strip().lower(), value.strip()
        if name == TRAILER_SIGNATURE:
            if self.chain is None or not self.sign_trailer:
                return  # an unsigned mode signs nothing; its trailer signature means nothing either
            self.chain.trailer(self._canonical, value)
            self._canonical = b""
            self.trailers[name] = value
            return
        self._canonical += f"{name}:{value}\n".encode("latin-1")
        self.trailers[name] = value

    def finish(self) -> dict[str, str]:
        """The trailing headers, once the body is known to be whole and as declared."""
        if self._state == _TRAILER and self._buffer.strip():
            self._trailer(self._buffer)  # a last trailer line without its CRLF, as some clients send
            self._buffer = b""
        if self._buffer.strip() or self._state not in (_TRAILER, _DONE):
            raise _incomplete(f"aws-chunked body ends inside a chunk, at byte {self._position}")
        if self.chain is not None and self.sign_trailer and self._canonical:
            raise InvalidSignature(S3_SIGNATURE_MISMATCH)  # trailers sent without their signature
        crc = self.trailers.get("x-amz-checksum-crc32")
        if crc is not None and base64.b64encode(self.crc32.to_bytes(4, "big")).decode() != crc:
            raise S3Error("BadDigest", 400, "the x-amz-checksum-crc32 trailer did not match the body")
        if self.decoded_length is not None and self.decoded_length != self.decoded:
            raise _incomplete(
                f"decoded {self.decoded} bytes, x-amz-decoded-content-length says {self.decoded_length}"
            )
        return self.trailers


def decoder_for(headers: Mapping[str, str], claim: str, chain: ChunkChain | None) -> AwsChunked | None:
    """The decoder of a body whose x-amz-content-sha256 is ``claim``: None unless it is aws-chunked."""
    if not claim.startswith("STREAMING-"):
        return None
    declared = headers.get("x-amz-decoded-content-length", "")
    length = int(declared) if declared.isdigit() else None
    return AwsChunked(chain, sign_trailer=claim.endswith("-TRAILER"), decoded_length=length)


def decode_aws_chunked(body: bytes) -> tuple[bytes, dict[str, str]]:
    """A whole unsigned aws-chunked body's bytes and trailing headers."""
    decoder = AwsChunked()
    data = decoder.feed(body)
    return data, decoder.finish()
