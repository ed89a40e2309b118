"""One typed settings object, read from flags or ``OPENTRAIL_*`` environment variables."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentrail.errors import ConfigError

ROLES = ("all", "api", "worker")
SNS_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./opentrail-data")
    host: str = "127.0.0.1"
    port: int = 8790
    database_url: str = ""
    storage_url: str = ""
    account_id: str = ""
    root_access_key_id: str = ""
    root_secret_access_key: str = ""
    delivery_interval: float = 30.0
    digest_interval: float = 3600.0
    retention_days: int = 90
    # Seconds before a failed notification's first retry; each further retry waits twice as long.
    notification_retry_delay: float = 2.0
    # How long a notification that keeps failing (a topic or SNS unreachable) is retried before it is
    # given up: notifications wait in the store meanwhile, so a restart does not lose them.
    notification_max_age: float = 86400.0
    # Topics on an SNS-compatible service (AWS, LocalStack, moto) through boto3's standard chain:
    # "auto" uses SNS when AWS_ENDPOINT_URL_SNS is set, "on" always (real AWS), "off" never (webhook
    # topics only). A profile of the AWS config to take credentials from ("": the default chain), and
    # the connect and read timeouts of each SNS call, in seconds.
    sns: str = "auto"
    sns_profile: str = ""
    sns_timeout: float = 5.0
    # Beyond CloudTrail: LookupEvents is not throttled unless an operator sets a rate (calls/s per
    # account and region); CloudTrail's own limit is 2.
    lookup_rate: float = 0.0
    max_body_bytes: int = 10 * 1024 * 1024
    # Request bodies held in memory across every request in flight; past it a request is told to retry
    # (503). S3 bodies over the spool threshold go to a file under <data_dir>/tmp instead of memory.
    max_inflight_body_bytes: int = 64 * 1024 * 1024
    spool_threshold_bytes: int = 1024 * 1024
    log_level: str = "info"
    # Several nodes on one PostgreSQL: this node's name in delivery leases ("": a fresh one per
    # process), how long a lease lasts unrenewed (a dead node's trails move after this), and what the
    # process runs: "api" (HTTP only), "worker" (delivery, notifications, retention) or "all".
    node_id: str = ""
    lease_seconds: float = 15.0
    role: str = "all"
    # Connections (server/connections.py), so slow or silent clients cannot hold sockets for ever:
    # seconds to send a request's headers (from connecting, or from the first byte after an answer);
    # seconds an idle connection is kept between requests; seconds a request body may stall, or a client
    # leave its answer unread; the least average rate (bytes/s) a body must keep after its first
    # body_timeout seconds (0: none); and the most sockets open at once.
    header_timeout: float = 10.0
    keep_alive_timeout: float = 5.0
    body_timeout: float = 20.0
    body_min_rate: int = 500
    max_connections: int = 1000
    # S3 multipart uploads in progress (server/s3/multipart): the bytes of parts each account may keep
    # spooled in the data dir, and how long an upload may stay unfinished before its parts are removed
    # (a week, the AbortIncompleteMultipartUpload rule AWS's S3 guide gives as its example).
    multipart_quota_bytes: int = 1024 * 1024 * 1024
    multipart_expiry_seconds: float = 7 * 24 * 3600.0
    # -- metrics: days CloudWatch metric datapoints (one-second samples) are kept; the retention pass
    # removes older seconds, and metrics left with none drop out of ListMetrics (CloudWatch: 15 days).
    metric_retention_days: int = 15
    # Trails' log-group events forwarded to a CloudWatch Logs service as well, through boto3 (the log
    # group of the same name, which must exist there): "" none, "aws" AWS's endpoint of the group's
    # region, else an endpoint URL (LocalStack, moto); credentials from boto3's standard chain, or this
    # profile of the AWS config.
    forward_logs_url: str = ""
    forward_logs_profile: str = ""

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'opentrail.db').resolve()}"

    @property
    def storage(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'buckets').resolve()}"

    @property
    def serves_api(self) -> bool:
        return self.role in ("all", "api")

    @property
    def runs_workers(self) -> bool:
        return self.role in ("all", "worker")

    @property
    def credentials_file(self) -> Path:
        return self.data_dir / "credentials"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Environment first, then explicit overrides (flags); ``None`` overrides are ignored."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"OPENTRAIL_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, str(f.type), raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"OPENTRAIL_PORT must be between 1 and 65535, got {self.port}")
        if self.delivery_interval <= 0:
            raise ConfigError(f"OPENTRAIL_DELIVERY_INTERVAL must be positive, got {self.delivery_interval}")
        if self.digest_interval <= 0:
            raise ConfigError(f"OPENTRAIL_DIGEST_INTERVAL must be positive, got {self.digest_interval}")
        self._check_notifications()
        self._check_requests()
        if self.retention_days < 1:
            raise ConfigError(f"OPENTRAIL_RETENTION_DAYS must be at least 1, got {self.retention_days}")
        if self.lookup_rate < 0:
            raise ConfigError(
                f"OPENTRAIL_LOOKUP_RATE must be 0 (no limit) or positive, got {self.lookup_rate}"
            )
        if self.forward_logs_url not in ("", "aws") and not self.forward_logs_url.startswith(
            ("http://", "https://")
        ):
            raise ConfigError(
                "OPENTRAIL_FORWARD_LOGS_URL must be empty, aws or an http(s) URL, "
                f"got {self.forward_logs_url!r}"
            )
        if self.lease_seconds <= 0:
            raise ConfigError(f"OPENTRAIL_LEASE_SECONDS must be positive, got {self.lease_seconds}")
        if self.role not in ROLES:
            raise ConfigError(f"OPENTRAIL_ROLE must be one of {', '.join(ROLES)}, got {self.role!r}")
        if self.account_id and not (len(self.account_id) == 12 and self.account_id.isdigit()):
            raise ConfigError(f"OPENTRAIL_ACCOUNT_ID must be 12 digits, got {self.account_id!r}")
        if bool(self.root_access_key_id) != bool(self.root_secret_access_key):
            raise ConfigError(
                "OPENTRAIL_ROOT_ACCESS_KEY_ID and OPENTRAIL_ROOT_SECRET_ACCESS_KEY must be set together"
            )

    def _check_notifications(self) -> None:
        if self.notification_retry_delay < 0:
            raise ConfigError(
                "OPENTRAIL_NOTIFICATION_RETRY_DELAY must be 0 or positive (seconds), got "
                f"{self.notification_retry_delay}"
            )
        if self.notification_max_age <= 0:
            raise ConfigError(
                f"OPENTRAIL_NOTIFICATION_MAX_AGE must be positive (seconds), got {self.notification_max_age}"
            )
        if self.sns not in SNS_MODES:
            raise ConfigError(f"OPENTRAIL_SNS must be one of {', '.join(SNS_MODES)}, got {self.sns!r}")
        if not 0 < self.sns_timeout <= 300:
            raise ConfigError(
                f"OPENTRAIL_SNS_TIMEOUT must be more than 0 and at most 300 seconds, got {self.sns_timeout}"
            )

    def _check_requests(self) -> None:
        if self.max_body_bytes < 1:
            raise ConfigError(f"OPENTRAIL_MAX_BODY_BYTES must be positive, got {self.max_body_bytes}")
        if self.max_inflight_body_bytes < self.max_body_bytes:
            raise ConfigError(
                f"OPENTRAIL_MAX_INFLIGHT_BODY_BYTES must be at least OPENTRAIL_MAX_BODY_BYTES "
                f"({self.max_body_bytes}), or no body of the largest size could ever be read; "
                f"got {self.max_inflight_body_bytes}"
            )
        if self.spool_threshold_bytes < 0:
            raise ConfigError(
                f"OPENTRAIL_SPOOL_THRESHOLD_BYTES must be 0 or positive, got {self.spool_threshold_bytes}"
            )
        for name in ("header_timeout", "keep_alive_timeout", "body_timeout"):
            if (seconds := getattr(self, name)) <= 0:
                raise ConfigError(f"OPENTRAIL_{name.upper()} must be positive (seconds), got {seconds}")
        if self.body_min_rate < 0:
            raise ConfigError(
                "OPENTRAIL_BODY_MIN_RATE must be 0 (no minimum) or positive (bytes/s), "
                f"got {self.body_min_rate}"
            )
        if self.max_connections < 1:
            raise ConfigError(f"OPENTRAIL_MAX_CONNECTIONS must be at least 1, got {self.max_connections}")
        if self.multipart_quota_bytes < 1:
            raise ConfigError(
                f"OPENTRAIL_MULTIPART_QUOTA_BYTES must be positive, got {self.multipart_quota_bytes}"
            )
        if self.metric_retention_days < 1:
            raise ConfigError(
                f"OPENTRAIL_METRIC_RETENTION_DAYS must be at least 1, got {self.metric_retention_days}"
            )
        if self.multipart_expiry_seconds <= 0:
            raise ConfigError(
                f"OPENTRAIL_MULTIPART_EXPIRY_SECONDS must be positive, got {self.multipart_expiry_seconds}"
            )


def _convert(name: str, type_name: str, raw: str) -> Any:
    try:
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
    except ValueError:
        raise ConfigError(f"OPENTRAIL_{name.upper()} must be a number, got {raw!r}") from None
    return raw
