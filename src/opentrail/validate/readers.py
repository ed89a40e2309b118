"""Where ``validate-logs`` reads buckets from: an S3 API (the server's own by default) or a ``Storage``.

Both raise ``ObjectMissing`` for a missing object (an INVALID line) and ``ValidationAborted`` for any
other failure, as the AWS CLI aborts on any S3 error but ``NoSuchKey``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote_plus

from opentrail.errors import ValidationAborted
from opentrail.validate.http import Reply, SocketClient, TransportError

if TYPE_CHECKING:
    from opentrail.storage import Storage


class ObjectMissing(Exception):
    """The object does not exist (S3 ``NoSuchKey``): an INVALID line, not an abort."""


if TYPE_CHECKING:

    class Reader(Protocol):
        """Read access to the buckets; any failure but a missing key raises ``ValidationAborted``. A
        reader may also have ``fetch(bucket, key) -> Future[(data, metadata)]``, reading without a
        thread of the caller's: log checks then run where each read completes, not on the pool."""

        def list_keys(self, bucket: str, prefix: str, marker: str) -> Iterator[str]: ...

        def get(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]: ...


class StorageReader:
    """A ``Storage`` (local bucket store or S3) read directly, with no server in between."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def list_keys(self, bucket: str, prefix: str, marker: str) -> Iterator[str]:
        from opentrail.storage import StorageError

        after = marker
        while True:
            try:
                listing = self.storage.list_objects(bucket, prefix, after)
            except StorageError as exc:
                raise ValidationAborted(str(exc)) from None
            yield from (o.key for o in listing.objects)
            if not listing.truncated or not listing.objects:
                return
            after = listing.objects[-1].key

    def get(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        from opentrail.storage import NoSuchKey, StorageError

        try:
            info, data = self.storage.get_object(bucket, key)
        except NoSuchKey:
            raise ObjectMissing(key) from None
        except StorageError as exc:
            raise ValidationAborted(str(exc)) from None
        return data, info.metadata


class S3Reader:
    """Buckets through an S3 API (the server's own by default), as the AWS CLI reads them: the bucket's
    location first, ListObjects v1 with a marker (keys url-encoded, as botocore asks), GetObject; S3's
    error text is passed on in botocore's words.

    Requests go through ``SocketClient`` (signed with ``hmac``, sent over keep-alive connections by one
    I/O thread, no botocore or httpx import on the way); ``fetch`` does not wait for the reply.
    """

    def __init__(self, client: SocketClient) -> None:
        self.client = client
        self._located: set[str] = set()
        self._lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def _check(self, operation: str, key: str, pending: Future[Reply]) -> Reply:
        try:
            reply = pending.result()
        except TransportError:
            raise ValidationAborted(
                f'Could not connect to the endpoint URL: "{self.client.endpoint_url}"'
            ) from None
        if reply.status == 200:
            return reply
        code, message = _s3_error(reply.body, reply.status)
        if code == "NoSuchKey":
            raise ObjectMissing(key)
        raise ValidationAborted(
            f"An error occurred ({code}) when calling the {operation} operation: {message}"
        )

    def _get(self, operation: str, bucket: str, query: list[tuple[str, str]]) -> Reply:
        return self._check(operation, "", self.client.s3_get(bucket, "", query))

    def _locate(self, bucket: str) -> None:
        # GetBucketLocation is how the AWS CLI first meets a bucket: a missing bucket or no access
        # aborts the run there, before any listing.
        with self._lock:
            if bucket in self._located:
                return
        self._get("GetBucketLocation", bucket, [("location", "")])
        with self._lock:
            self._located.add(bucket)

    def list_keys(self, bucket: str, prefix: str, marker: str) -> Iterator[str]:
        import xml.etree.ElementTree as ET

        with self._lock:
            located = bucket in self._located
        # The listing is asked for with the location, and read after it: a missing bucket still
        # aborts at GetBucketLocation, as with the AWS CLI.
        location = None if located else self.client.s3_get(bucket, "", [("location", "")])
        while True:
            query = [("encoding-type", "url"), ("marker", marker), ("prefix", prefix)]
            pending = self.client.s3_get(bucket, "", query)
            if location is not None:
                self._check("GetBucketLocation", "", location)
                location = None
                with self._lock:
                    self._located.add(bucket)
            body = self._check("ListObjects", "", pending).body
            root = ET.fromstring(body)  # noqa: S314 - a listing from the configured endpoint
            ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            encoded = root.findtext(f"{ns}EncodingType") == "url"
            keys = [_decoded(e.text or "", encoded) for e in root.iterfind(f"{ns}Contents/{ns}Key")]
            yield from keys
            if root.findtext(f"{ns}IsTruncated") != "true" or not keys:
                return
            next_marker = root.findtext(f"{ns}NextMarker")
            marker = _decoded(next_marker, encoded) if next_marker else keys[-1]

    def fetch(self, bucket: str, key: str) -> Future[tuple[bytes, dict[str, str]]]:
        """GetObject without waiting: the future completes on the client's I/O thread."""
        self._locate(bucket)
        done: Future[tuple[bytes, dict[str, str]]] = Future()

        def finish(pending: Future[Reply]) -> None:
            try:
                reply = self._check("GetObject", key, pending)
            except (ObjectMissing, ValidationAborted) as exc:
                done.set_exception(exc)
                return
            meta = {k[11:]: v for k, v in reply.headers.items() if k.startswith("x-amz-meta-")}
            done.set_result((reply.body, meta))

        self.client.s3_get(bucket, key).add_done_callback(finish)
        return done

    def get(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        return self.fetch(bucket, key).result()


def _decoded(value: str, encoded: bool) -> str:
    # botocore asks for url-encoded keys and decodes them, so keys XML cannot carry still list.
    return unquote_plus(value) if encoded else value


def _s3_error(body: bytes, status: int) -> tuple[str, str]:
    """Code and message of an S3 XML error body (botocore's fallbacks when there is none)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)  # noqa: S314 - an S3 error document from the configured endpoint
    except ET.ParseError:
        return str(status), body.decode(errors="replace") or "Unknown"
    return root.findtext("Code") or str(status), root.findtext("Message") or "Unknown"
