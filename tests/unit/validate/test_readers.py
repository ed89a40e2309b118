"""Where ``validate-logs`` reads buckets from: a ``Storage`` directly, or an S3 API as the AWS CLI reads
it (here a small S3 stand-in on loopback; tests/e2e/test_validate_logs.py reads the server's own).
A missing object is ``ObjectMissing`` (an INVALID line); any other failure aborts the run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest

from opentrail.errors import ValidationAborted
from opentrail.storage import LocalStorage
from opentrail.validate.http import SigV4, SocketClient
from opentrail.validate.readers import ObjectMissing, S3Reader, StorageReader

KEYS = ["a/1 one.json.gz", "a/2+two.json.gz", "a/3.json.gz", "b/4.json.gz"]


def test_a_storage_is_listed_after_the_marker_and_read(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.create_bucket("bkt")
    for key in KEYS:
        storage.put_object("bkt", key, key.encode(), {"signature": "ab"})
    reader = StorageReader(storage)
    assert list(reader.list_keys("bkt", "a/", "a/1 one.json.gz")) == KEYS[1:3]
    assert reader.get("bkt", KEYS[0]) == (KEYS[0].encode(), {"signature": "ab"})
    with pytest.raises(ObjectMissing):
        reader.get("bkt", "a/nothing")
    with pytest.raises(ValidationAborted):
        list(reader.list_keys("no-such-bucket", "", ""))


class S3(BaseHTTPRequestHandler):
    """GetBucketLocation, ListObjects v1 (url-encoded keys, two to a page) and GetObject for bucket
    ``bkt``; AccessDenied for bucket ``locked``."""

    protocol_version = "HTTP/1.1"
    requests: ClassVar[list[str]] = []

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status: int, code: str) -> None:
        self.reply(status, f"<Error><Code>{code}</Code><Message>{code} here</Message></Error>".encode())

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        bucket, _, key = url.path.lstrip("/").partition("/")
        S3.requests.append("location" if "location" in query else "list" if not key else "get")
        if len(S3.requests) > 20:
            self.error(500, "TooManyRequests")  # a reader that does not stop: fail, not hang
        elif bucket != "bkt":
            self.error(403, "AccessDenied")
        elif "location" in query:
            self.reply(200, b"<LocationConstraint/>")
        elif not key:
            self.listing(query["prefix"][0], query["marker"][0])
        elif key.replace("%20", " ").replace("%2B", "+") in KEYS:
            self.reply(200, b"data", {"x-amz-meta-signature": "ab", "x-amz-meta-signature-algorithm": "x"})
        else:
            self.error(404, "NoSuchKey")

    def listing(self, prefix: str, marker: str) -> None:
        keys = [k for k in KEYS if k.startswith(prefix) and k > marker][:2]
        more = "true" if keys and keys[-1] != max(k for k in KEYS if k.startswith(prefix)) else "false"
        contents = "".join(f"<Contents><Key>{quote_plus(k)}</Key></Contents>" for k in keys)
        body = (
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<EncodingType>url</EncodingType><IsTruncated>{more}</IsTruncated>{contents}</ListBucketResult>"
        )
        self.reply(200, body.encode())

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def s3() -> Iterator[S3Reader]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), S3)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = SocketClient(f"http://127.0.0.1:{server.server_address[1]}", SigV4("AKID", "s", None, "r"), 2)
    S3.requests.clear()
    try:
        yield S3Reader(client)
    finally:
        client.close()
        server.shutdown()
        server.server_close()


def test_s3_is_listed_page_by_page_with_keys_decoded(s3: S3Reader) -> None:
    assert list(s3.list_keys("bkt", "a/", "")) == KEYS[:3]
    # The bucket's location first, as the AWS CLI meets a bucket; then pages until not truncated.
    assert S3.requests == ["location", "list", "list"]
    assert list(s3.list_keys("bkt", "b/", "")) == KEYS[3:]
    assert S3.requests[3:] == ["list"]  # located once


def test_s3_objects_come_with_their_metadata(s3: S3Reader) -> None:
    assert s3.get("bkt", KEYS[1]) == (b"data", {"signature": "ab", "signature-algorithm": "x"})
    with pytest.raises(ObjectMissing):
        s3.get("bkt", "a/nothing")


def test_any_other_s3_error_aborts_in_botocores_words(s3: S3Reader) -> None:
    with pytest.raises(ValidationAborted) as raised:
        s3.get("locked", "key")
    assert str(raised.value) == (
        "An error occurred (AccessDenied) when calling the GetBucketLocation operation: AccessDenied here"
    )


def test_an_unreachable_endpoint_aborts() -> None:
    client = SocketClient("http://127.0.0.1:9", SigV4("AKID", "s", None, "r"))
    try:
        with pytest.raises(ValidationAborted) as raised:
            S3Reader(client).get("bkt", "key")
        assert str(raised.value) == 'Could not connect to the endpoint URL: "http://127.0.0.1:9"'
    finally:
        client.close()
