"""The CIS AWS Foundations monitoring patterns (../shared/corpus/cis-cloudwatch-metric-filters) against
every corpus record, each compared with a predicate written here in plain Python, not with the engine.

The event-name lists are read out of the pattern text with a regex; the conditions around them
(Root without invokedBy, console login without MFA, ...) are written by hand from the CIS text."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from opentrail.errors import InvalidFilterPattern
from opentrail.streams.patterns import PatternSet, compile_pattern, matches, parse
from tests.support.corpus import Item, corpus_items
from tests.support.server import CORPUS

FILTERS = CORPUS / "cis-cloudwatch-metric-filters" / "cis_cloudwatch_metric_filters.json"
Record = dict[str, Any]
Oracle = Callable[[Record], bool]


@cache
def filters() -> list[dict[str, Any]]:
    if not FILTERS.is_file():
        return []
    return list(json.loads(Path(FILTERS).read_text())["filters"])


@cache
def records() -> list[Item]:
    return corpus_items()


def names_in(pattern: str, field: str) -> set[str]:
    return set(re.findall(rf'\$\.{field}\s*=\s*"?([\w.]+)', pattern))


def by_names(pattern: str) -> Oracle:
    names, sources = names_in(pattern, "eventName"), names_in(pattern, "eventSource")
    return lambda r: r.get("eventName") in names and (not sources or r.get("eventSource") in sources)


def root_usage(r: Record) -> bool:
    identity = r.get("userIdentity") or {}
    return bool(
        identity.get("type") == "Root"
        and "invokedBy" not in identity
        and "eventType" in r
        and r["eventType"] != "AwsServiceEvent"
    )


def unauthorized(r: Record) -> bool:
    code = r.get("errorCode")
    if not isinstance(code, str):
        return False
    return code.endswith("UnauthorizedOperation") or code.startswith("AccessDenied")


def console_without_mfa(r: Record) -> bool:
    mfa = (r.get("additionalEventData") or {}).get("MFAUsed", None)
    return (
        r.get("eventName") == "ConsoleLogin"
        and isinstance(mfa, str)
        and mfa != "Yes"
        and (r.get("userIdentity") or {}).get("type") == "IAMUser"
        and (r.get("responseElements") or {}).get("ConsoleLogin") == "Success"
    )


def console_failures(r: Record) -> bool:
    return r.get("eventName") == "ConsoleLogin" and r.get("errorMessage") == "Failed authentication"


HAND_WRITTEN: dict[str, Oracle] = {
    "4.1": unauthorized,
    "4.2": console_without_mfa,
    "4.3": root_usage,
    "4.6": console_failures,
}


def canonical() -> list[tuple[str, str]]:
    """(CIS id, pattern): Security Hub's exact string, or CIS v3.0's where Security Hub has none (4.15)."""
    return [
        (f["cis_v1_4_to_v5_id"], f["pattern_securityhub"] or f["patterns_cis_v3_0_text"][0])
        for f in filters()
    ]


def every_variant() -> list[str]:
    keys = ("pattern_securityhub", "patterns_cis_v3_0_text", "patterns_cis_v5_0_text")
    found: list[str] = []
    for f in filters():
        for key in (*keys, "patterns_prowler_check_remediation"):
            value = f.get(key)
            found.extend([value] if isinstance(value, str) else value or [])
    return found


@pytest.fixture(autouse=True)
def _needs_corpus(corpus: Path) -> None:
    """Skips the module's tests when ../shared/corpus is absent (the corpus fixture does)."""


def test_all_fifteen_controls_are_there() -> None:
    assert len(canonical()) == 15


@pytest.mark.parametrize(("cis_id", "pattern"), canonical(), ids=[c for c, _ in canonical()])
def test_pattern_agrees_with_an_independent_predicate(cis_id: str, pattern: str) -> None:
    oracle = HAND_WRITTEN.get(cis_id) or by_names(pattern)
    parsed, compiled = parse(pattern), compile_pattern(pattern)
    disagree = [item.where for item in records() if matches(parsed, item.raw) != oracle(item.record)]
    assert disagree == []
    disagree = [item.where for item in records() if compiled.matches(item.raw) != oracle(item.record)]
    assert disagree == []


def test_the_fifteen_as_one_pattern_set_agree_with_the_predicates() -> None:
    """The fast path (one typed decode per record for all fifteen) against the hand-written oracles."""
    controls = canonical()
    oracles = [HAND_WRITTEN.get(cis_id) or by_names(pattern) for cis_id, pattern in controls]
    patterns = PatternSet([compile_pattern(pattern) for _, pattern in controls])
    for item in records():
        expected = [i for i, oracle in enumerate(oracles) if oracle(item.record)]
        assert patterns.matching(item.raw) == expected, item.where
        assert patterns.matching(item.raw.decode()) == expected, item.where


def test_the_corpus_exercises_most_controls() -> None:
    """A control nothing in the corpus matches proves little; most must have positive records."""
    hit = [cis for cis, pattern in canonical() if any(matches(parse(pattern), i.raw) for i in records())]
    assert len(hit) >= 11, hit


@pytest.mark.parametrize("pattern", every_variant())
def test_every_published_variant_parses_or_is_refused_cleanly(pattern: str) -> None:
    """CIS v5.0's mirrored text drops quotes (``= Failed authentication``): refused, never a crash."""
    if "= Failed authentication" not in pattern:
        parse(pattern)
        return
    with pytest.raises(InvalidFilterPattern) as caught:
        parse(pattern)
    assert pattern[caught.value.position :].startswith("authentication")


def test_v3_text_of_4_1_matches_nearly_everything() -> None:
    """Four terms joined by ``||`` including ``$.eventName != "HeadBucket"``: every record with an
    eventName other than HeadBucket matches (the corpus README's warning, held)."""
    parsed = parse(next(f for f in filters() if f["cis_v1_4_to_v5_id"] == "4.1")["patterns_cis_v3_0_text"][0])
    for item in records():
        if item.record.get("eventName", "HeadBucket") != "HeadBucket":
            assert matches(parsed, item.raw), item.where


def test_v5_text_of_4_1_binds_and_tighter_than_or() -> None:
    """``A || B && C && D`` is ``A || (B && C && D)``, so it never matches more than A or B alone."""
    v5 = parse(next(f for f in filters() if f["cis_v1_4_to_v5_id"] == "4.1")["patterns_cis_v5_0_text"][0])
    for item in records():
        assert matches(v5, item.raw) == (
            unauthorized(item.record)
            and (
                not str(item.record.get("errorCode", "")).startswith("AccessDenied")
                or str(item.record.get("errorCode", "")).endswith("UnauthorizedOperation")
                or (
                    item.record.get("sourceIPAddress", "delivery.logs.amazonaws.com")
                    != "delivery.logs.amazonaws.com"
                    and item.record.get("eventName", "HeadBucket") != "HeadBucket"
                )
            )
        ), item.where
