"""Digest chains written into a bucket store with delivery's own format modules and a real signing key:
what ``validate-logs`` is tested against, in process (tests/unit/validate) and against the AWS CLI
(tests/e2e/test_validate_logs.py)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentrail.clock import format_time
from opentrail.delivery.digests import ListedLog, PreviousDigest, build_digest, metadata
from opentrail.delivery.layout import digest_key, log_file_key
from opentrail.delivery.logfiles import build_log_file, unique_suffix
from opentrail.delivery.signing import PublicKey, SigningKey, fingerprint, generate_key, public_der
from opentrail.storage import LocalStorage

ACCOUNT = "123456789012"
REGION = "us-east-1"
TRAIL = "audit"
ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"
T0 = datetime(2024, 5, 1, 0, 0, 31, tzinfo=UTC).timestamp()
HOUR = 3600.0
START, END = "2024-05-01T00:00:00Z", "2024-05-01T06:00:00Z"


def signing_key() -> SigningKey:
    """A key made as delivery's ``Signer`` makes one, kept in memory only (for in-process runs)."""
    private = generate_key()
    der = public_der(private.public_key())
    public = PublicKey(ACCOUNT, REGION, der, fingerprint(der), T0 - 60, T0 + 30 * 86_400)
    return SigningKey(public, private)


def list_public_keys(*keys: SigningKey) -> list[dict[str, Any]]:
    """ListPublicKeys' ``PublicKeyList`` for ``keys``."""
    return [
        {"Value": base64.b64encode(k.public.der).decode(), "Fingerprint": k.public.fingerprint} for k in keys
    ]


@dataclass
class Chain:
    bucket: str
    digests: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)


Chains = tuple[LocalStorage, dict[str, Chain]]  # a bucket store and the chains in it, by case


@dataclass
class Builder:
    storage: LocalStorage
    key: SigningKey

    def log(self, bucket: str, at: float, seed: str, prefix: str | None = None) -> ListedLog:
        record = json.dumps({"eventVersion": "1.08", "eventTime": format_time(at - 30), "eventName": seed})
        log = build_log_file([record.encode()])
        key = log_file_key(prefix, ACCOUNT, REGION, at, unique_suffix(f"{bucket}{seed}".encode()))
        self.storage.put_object(bucket, key, log.data)
        return ListedLog(bucket, key, log.sha256_hex, log.newest_event_time, log.oldest_event_time)

    def chain(
        self,
        bucket: str,
        hours: range,
        empty: tuple[int, ...] = (),
        previous: PreviousDigest | None = None,
        chain: Chain | None = None,
    ) -> tuple[Chain, PreviousDigest | None]:
        """Hourly digests for ``hours`` (offsets from T0), two log files each except ``empty`` ones."""
        chain = chain or Chain(bucket)
        if not self.storage.bucket_exists(bucket):
            self.storage.create_bucket(bucket)
        for hour in hours:
            start, end = T0 + hour * HOUR, T0 + (hour + 1) * HOUR
            logs = (
                []
                if hour in empty
                else [self.log(bucket, start + 600 * (n + 1), f"{hour}-{n}") for n in (0, 1)]
            )
            chain.logs.extend(log.key for log in logs)
            key = digest_key(None, ACCOUNT, REGION, TRAIL, REGION, end)
            digest = build_digest(
                account=ACCOUNT,
                start=start,
                end=end,
                bucket=bucket,
                key=key,
                fingerprint=self.key.public.fingerprint,
                log_files=logs,
                previous=previous,
            )
            signature = self.key.sign(digest.signing_string.encode())
            self.storage.put_object(bucket, key, digest.gz_bytes, metadata(signature))
            chain.digests.append(key)
            previous = digest.link(signature)
        return chain, previous


def scenarios(builder: Builder) -> dict[str, Chain]:
    """One bucket per case: intact chains, each kind of tampering, a restart, and the two cases only
    OpenTrail reports (an unlisted log file, a wrong previousDigestHashValue)."""
    storage = builder.storage
    chains: dict[str, Chain] = {}
    for name in ("valid", "tampered-log", "deleted-log", "changed-digest", "deleted-digest", "signature"):
        chains[name], _ = builder.chain(f"v-{name}", range(4), empty=(2,))
    chain = chains["tampered-log"]
    storage.put_object(
        chain.bucket, chain.logs[1], build_log_file([b'{"eventTime":"2024-05-01T00:00:00Z"}']).data
    )
    chain = chains["deleted-log"]
    storage.delete_object(chain.bucket, chain.logs[3])
    chain = chains["changed-digest"]
    info, data = storage.get_object(chain.bucket, chain.digests[1])
    storage.put_object(
        chain.bucket, chain.digests[1], data[:-9] + bytes([data[-9] ^ 1]) + data[-8:], info.metadata
    )
    chain = chains["deleted-digest"]
    storage.delete_object(chain.bucket, chain.digests[1])
    chain = chains["signature"]
    info, data = storage.get_object(chain.bucket, chain.digests[2])
    storage.put_object(chain.bucket, chain.digests[2], data, metadata("ab" * 256))

    # A digest copied to a later name (as if moved): its JSON still names the original key.
    chain, _ = builder.chain("v-moved", range(3))
    info, data = storage.get_object(chain.bucket, chain.digests[-1])
    storage.put_object(
        chain.bucket, digest_key(None, ACCOUNT, REGION, TRAIL, REGION, T0 + 4 * HOUR), data, info.metadata
    )
    chains["moved"] = chain

    # Logging stopped for an hour: the second chain starts afresh (no previous digest).
    chain, _ = builder.chain("v-restart", range(2))
    chains["restart"], _ = builder.chain("v-restart", range(3, 5), chain=chain)

    # Beyond the AWS CLI: a log file no digest lists, and a previousDigestHashValue that is wrong.
    chains["unlisted"], _ = builder.chain("v-unlisted", range(4))
    builder.log("v-unlisted", T0 + HOUR + 1500, "sneaked-in")
    chain, previous = builder.chain("v-prevhash", range(2))
    assert previous is not None
    wrong = PreviousDigest(previous.bucket, previous.key, "0" * 64, previous.signature_hex)
    chains["prevhash"], _ = builder.chain("v-prevhash", range(2, 4), previous=wrong, chain=chain)
    return chains
