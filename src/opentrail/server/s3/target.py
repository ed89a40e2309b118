"""The bucket, key and query a path-style S3 request names."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.requests import Request

from opentrail.errors import S3Error


@dataclass(frozen=True, slots=True)
class S3Target:
    bucket: str
    key: str
    query: dict[str, str]

    @property
    def resource(self) -> str:
        """The bucket or object named, as S3's errors name it (``Resource``)."""
        return f"/{self.bucket}/{self.key}" if self.key else f"/{self.bucket}"


def target_of(request: Request) -> S3Target:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.split(b"?", 1)[0]
    try:
        # Clients percent-encode keys once; decode exactly once so '%2F' and '%25' survive.
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise S3Error("InvalidURI", 400, "the request path is not UTF-8 once percent-decoded") from None
    bucket, _, key = decoded.lstrip("/").partition("/")
    query = dict(parse_qsl(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
    return S3Target(bucket, key, query)
