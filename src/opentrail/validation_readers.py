"""Where ``validate-logs`` reads buckets from: an S3 API (the server's own by default) or a ``Storage``.

Both raise ``ObjectMissing`` for a missing object (an INVALID line) and ``ValidationAborted`` for any
other failure, as the AWS CLI aborts on any S3 error but ``NoSuchKey``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from .storage import NoSuchKey, Storage, StorageError
from .validation import ObjectMissing, ValidationAborted


class StorageReader:
    """A ``Storage`` (local bucket store or S3) read directly, with no server in between."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def list_keys(self, bucket: str, prefix: str, marker: str) -> Iterator[str]:
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
        try:
            info, data = self.storage.get_object(bucket, key)
        except NoSuchKey:
            raise ObjectMissing(key) from None
        except StorageError as exc:
            raise ValidationAborted(str(exc)) from None
        return data, info.metadata


class S3Reader:
    """Buckets through an S3 API (the server's own by default), as the AWS CLI reads them: the bucket's
    location first, ListObjects v1 with a marker, GetObject; S3's error text is passed on verbatim.

    Listing goes through boto3, whose error strings the AWS CLI prints. GetObject, the call made once per
    file, is signed with botocore's S3 signer and sent over a pooled ``httpx`` client: boto3 spends
    about 5 ms of CPU a call, which made the run CPU-bound in the client.
    """

    def __init__(self, client: Any, endpoint_url: str, credentials: Any, region: str, pool: int) -> None:
        import httpx

        self.client = client
        self.endpoint_url = endpoint_url.rstrip("/")
        self.credentials = credentials
        self.region = region
        self._http = httpx.Client(timeout=60.0, limits=httpx.Limits(max_connections=pool))
        self._located: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls,
        endpoint_url: str,
        region: str,
        access_key: str,
        secret_key: str,
        token: str | None,
        pool: int,
    ) -> S3Reader:
        import boto3
        import botocore.config
        from botocore.credentials import Credentials

        config = botocore.config.Config(
            s3={"addressing_style": "path"},
            max_pool_connections=pool,
            response_checksum_validation="when_required",
        )
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=token,
            config=config,
        )
        return cls(client, endpoint_url, Credentials(access_key, secret_key, token), region, pool)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, **kwargs: Any) -> Any:
        import botocore.exceptions

        try:
            return getattr(self.client, method)(**kwargs)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchKey":
                raise ObjectMissing(kwargs.get("Key", "")) from None
            raise ValidationAborted(str(exc)) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise ValidationAborted(str(exc)) from None

    def _locate(self, bucket: str) -> None:
        # GetBucketLocation is how the AWS CLI first meets a bucket: a missing bucket or no access
        # aborts the run there, before any listing.
        with self._lock:
            if bucket in self._located:
                return
        self._call("get_bucket_location", Bucket=bucket)
        with self._lock:
            self._located.add(bucket)

    def list_keys(self, bucket: str, prefix: str, marker: str) -> Iterator[str]:
        self._locate(bucket)
        while True:
            page = self._call("list_objects", Bucket=bucket, Prefix=prefix, Marker=marker)
            contents = page.get("Contents") or []
            yield from (str(o["Key"]) for o in contents)
            if not page.get("IsTruncated") or not contents:
                return
            marker = str(page.get("NextMarker") or contents[-1]["Key"])

    def get(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        import httpx
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        self._locate(bucket)
        url = f"{self.endpoint_url}/{quote(bucket)}/{quote(key, safe='/~')}"
        request = AWSRequest(method="GET", url=url)
        S3SigV4Auth(self.credentials, "s3", self.region).add_auth(request)
        prepared = request.prepare()
        try:
            response = self._http.get(prepared.url, headers=dict(prepared.headers.items()))
        except httpx.HTTPError as exc:
            raise ValidationAborted(f"Could not connect to the endpoint URL: {url}: {exc}") from None
        if response.status_code == 200:
            meta = {k[11:]: v for k, v in response.headers.items() if k.lower().startswith("x-amz-meta-")}
            return response.content, meta
        code, message = _s3_error(response.content, response.status_code)
        if code == "NoSuchKey":
            raise ObjectMissing(key)
        raise ValidationAborted(f"An error occurred ({code}) when calling the GetObject operation: {message}")


def _s3_error(body: bytes, status: int) -> tuple[str, str]:
    """Code and message of an S3 XML error body (botocore's fallbacks when there is none)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)  # noqa: S314 - an S3 error document from the configured endpoint
    except ET.ParseError:
        return str(status), body.decode(errors="replace") or "Unknown"
    return root.findtext("Code") or str(status), root.findtext("Message") or "Unknown"
