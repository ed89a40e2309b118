"""The chain walk in process, over every tampering case, through a ``StorageReader`` on the local bucket
store: the verdicts, their order, the gaps and the checks beyond the AWS CLI (whose lines the e2e tests
compare with the AWS CLI's own)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opentrail.delivery.signing import SigningKey
from opentrail.errors import ValidationAborted
from opentrail.storage import LocalStorage
from opentrail.validate.readers import StorageReader
from opentrail.validate.trail import TrailFiles
from opentrail.validate.verdicts import Gap, Line, Verdict
from opentrail.validate.walk import Result, walk_chain
from tests.support.chains import ACCOUNT, ARN, REGION, TRAIL, Chains, list_public_keys

START = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
END = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)


def files(bucket: str) -> TrailFiles:
    return TrailFiles(ARN, bucket, None, ACCOUNT, TRAIL, REGION, REGION)


def walk(
    storage: LocalStorage, key: SigningKey, bucket: str, start: datetime = START
) -> tuple[Result, list[Line]]:
    result = Result(start, END)
    lines = walk_chain(StorageReader(storage), files(bucket), result, lambda *_: list_public_keys(key), 4)
    return result, lines


def invalid(lines: list[Line]) -> list[tuple[str, str, str | None, bool]]:
    return [(v.kind, v.key, v.reason, v.extra) for v in lines if isinstance(v, Verdict) and not v.valid]


def test_an_intact_chain_is_walked_newest_first_each_digest_before_its_logs(
    chains: Chains, key: SigningKey
) -> None:
    storage, cases = chains
    chain = cases["valid"]
    result, lines = walk(storage, key, chain.bucket)
    assert invalid(lines) == []
    d, logs = chain.digests, chain.logs  # hour 2 has no log files
    expected = [d[3], logs[4], logs[5], d[2], d[1], logs[2], logs[3], d[0], logs[0], logs[1]]
    assert [line.key for line in lines if isinstance(line, Verdict)] == expected
    assert [line.kind for line in lines if isinstance(line, Verdict)][:3] == ["digest", "log", "log"]
    assert (result.found_start, result.found_end) == (
        datetime(2024, 5, 1, 0, 0, 31, tzinfo=UTC),
        datetime(2024, 5, 1, 4, 0, 31, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("case", "kind", "index", "reason"),
    [
        ("tampered-log", "log", 1, "hash value doesn't match"),
        ("deleted-log", "log", 3, "not found"),
        ("changed-digest", "digest", 1, "invalid format"),
        ("deleted-digest", "digest", 1, "not found"),
        ("signature", "digest", 2, "signature verification failed"),
    ],
)
def test_each_tampering_is_one_invalid_line(
    chains: Chains, key: SigningKey, case: str, kind: str, index: int, reason: str
) -> None:
    storage, cases = chains
    chain = cases[case]
    _, lines = walk(storage, key, chain.bucket)
    keys = chain.logs if kind == "log" else chain.digests
    assert invalid(lines) == [(kind, keys[index], reason, False)]


def test_a_missing_digest_skips_its_logs_and_the_walk_goes_on(chains: Chains, key: SigningKey) -> None:
    storage, cases = chains
    chain = cases["deleted-digest"]
    _, lines = walk(storage, key, chain.bucket)
    checked = {line.key for line in lines if isinstance(line, Verdict)}
    assert {chain.digests[0], chain.logs[0]} <= checked  # older than the missing one: still walked
    assert chain.logs[2] not in checked  # listed by the missing digest only


def test_a_moved_digest_is_invalid_where_it_lies(chains: Chains, key: SigningKey) -> None:
    storage, cases = chains
    chain = cases["moved"]
    _, lines = walk(storage, key, chain.bucket)
    [(kind, moved_to, reason, _)] = invalid(lines)
    assert (kind, reason) == ("digest", "has been moved from its original location")
    assert moved_to not in chain.digests
    assert moved_to.endswith("_20240501T040031Z.json.gz")


def test_a_restarted_chain_leaves_a_gap_and_no_error(chains: Chains, key: SigningKey) -> None:
    storage, cases = chains
    _, lines = walk(storage, key, cases["restart"].bucket)
    assert invalid(lines) == []
    [gap] = [line for line in lines if isinstance(line, Gap)]
    # From the older chain's last digest name to the newer chain's first digestStartTime.
    assert (gap.after, gap.before) == (
        datetime(2024, 5, 1, 2, 0, 31, tzinfo=UTC),
        datetime(2024, 5, 1, 3, 0, 31, tzinfo=UTC),
    )


def test_beyond_the_aws_cli_a_log_file_no_digest_lists(chains: Chains, key: SigningKey) -> None:
    storage, cases = chains
    chain = cases["unlisted"]
    _, lines = walk(storage, key, chain.bucket)
    [(kind, unlisted, reason, extra)] = invalid(lines)
    assert (kind, reason, extra) == ("log", "not listed in any digest", True)
    assert unlisted not in chain.logs
    assert lines[-1].key == unlisted  # type: ignore[union-attr]  # after the walk's own lines


def test_beyond_the_aws_cli_a_wrong_previous_digest_hash(chains: Chains, key: SigningKey) -> None:
    storage, cases = chains
    chain = cases["prevhash"]
    _, lines = walk(storage, key, chain.bucket)
    newer = f"s3://{chain.bucket}/{chain.digests[2]}"
    reason = f"hash value doesn't match previousDigestHashValue of {newer}"
    assert invalid(lines) == [("digest", chain.digests[1], reason, True)]
    # Its signature held, so its log files were checked too.
    assert {chain.logs[2], chain.logs[3]} <= {line.key for line in lines if isinstance(line, Verdict)}


def test_a_window_after_the_chain_finds_nothing(chains: Chains, key: SigningKey) -> None:
    storage, cases = chains
    result, lines = walk(storage, key, cases["valid"].bucket, start=datetime(2024, 5, 1, 5, tzinfo=UTC))
    assert lines == []
    assert result.found_start is None


def test_no_public_keys_aborts_before_the_walk(chains: Chains) -> None:
    storage, cases = chains
    reader = StorageReader(storage)
    with pytest.raises(ValidationAborted, match="No public keys found between 2024-05-01T00:00:00Z and"):
        walk_chain(reader, files(cases["valid"].bucket), Result(START, END), lambda *_: [], 2)
