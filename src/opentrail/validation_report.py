"""What ``opentrail validate-logs`` prints: the AWS CLI's lines and summary, or a JSON report.

Text output is the AWS CLI's to the byte (§5.8 step 11): ``valid`` lines on stdout with ``--verbose``,
INVALID and gap lines on stderr each followed by a blank line, the summary on stdout. Lines from the
checks the AWS CLI does not make use the same shape, so a script that greps INVALID sees them too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

from .validation import (
    Entry,
    Gap,
    Reader,
    Result,
    Trail,
    ValidationAborted,
    Walk,
    display,
    load_public_keys,
    resolve,
)


@dataclass
class Report:
    """A finished run: its verdicts in walk order and the summary counts."""

    trail: Trail
    result: Result
    lines: list[Entry | Gap] = field(default_factory=list)

    def count(self, kind: str, valid: bool) -> int:
        return sum(1 for e in self.lines if isinstance(e, Entry) and e.kind == kind and e.valid == valid)

    @property
    def ok(self) -> bool:
        return not any(isinstance(e, Entry) and not e.valid for e in self.lines)


def run(
    reader: Reader,
    trail: Trail,
    result: Result,
    list_public_keys: Callable[[Any, Any], list[dict[str, Any]]],
    workers: int,
    on_log_scheduled: Callable[[Future[Entry]], None] = lambda _: None,
) -> Report:
    """List, fetch keys and walk, in the AWS CLI's order (so the same failure aborts at the same point)."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="validate") as pool:
        walk = Walk(reader, trail, {}, pool, on_log_scheduled)
        walk.keys = load_public_keys(list_public_keys, result.start, result.end)
        walk.run(result)
        lines = resolve(result.items)
    return Report(trail, result, [*lines, *walk.unlisted_logs()])


def startup_text(arn: str, result: Result) -> str:
    return (
        f"Validating log files for trail {arn} between {display(result.start)} and {display(result.end)}\n\n"
    )


def _line(item: Entry | Gap) -> str:
    if isinstance(item, Gap):
        return (
            f"No log files were delivered by CloudTrail between {display(item.after)} and "
            f"{display(item.before)}"
        )
    label = "Digest file" if item.kind == "digest" else "Log file"
    status = "valid" if item.reason is None else f"INVALID: {item.reason}"
    return f"{label}\ts3://{item.bucket}/{item.key}\t{status}"


def write_text(report: Report, verbose: bool, out: IO[str], err: IO[str]) -> None:
    # A blank line separates an error from verbose lines before it, never doubles after another error.
    spaced = True
    for item in report.lines:
        if isinstance(item, Gap) or not item.valid:
            err.write(f"{_line(item)}\n\n" if spaced else f"\n{_line(item)}\n\n")
            spaced = True
        elif verbose:
            out.write(f"{_line(item)}\n")
            spaced = False
    if not spaced:
        out.write("\n")
    result = report.result
    out.write(f"Results requested for {display(result.start)} to {display(result.end)}\n")
    digests = (report.count("digest", True), report.count("digest", False))
    if not sum(digests):
        out.write("No digests found\n")
        return
    if result.found_start is None or result.found_end is None:
        out.write("No valid digests found in range\n")
    else:
        out.write(f"Results found for {display(result.found_start)} to {display(result.found_end)}:\n")
    for (valid, invalid), name in ((digests, "digest"), (_logs(report), "log")):
        total = valid + invalid
        if total:
            out.write(f"\n{valid}/{total} {name} files valid")
            if invalid:
                out.write(f", {invalid}/{total} {name} files INVALID")
    out.write("\n")


def _logs(report: Report) -> tuple[int, int]:
    return report.count("log", True), report.count("log", False)


def _entries(items: Sequence[Entry | Gap], kind: str) -> list[dict[str, Any]]:
    return [
        {
            "s3Bucket": e.bucket,
            "s3Object": e.key,
            "status": "valid" if e.valid else "INVALID",
            "reason": e.reason,
            "beyondAwsCli": e.extra,
        }
        for e in items
        if isinstance(e, Entry) and e.kind == kind
    ]


def to_json(report: Report) -> dict[str, Any]:
    """The machine-readable report: every verdict with its reason, the gaps, the counts."""
    result = report.result
    found = None
    if result.found_start is not None and result.found_end is not None:
        found = {"start": display(result.found_start), "end": display(result.found_end)}
    counts = {
        kind: {"valid": report.count(kind, True), "invalid": report.count(kind, False)}
        for kind in ("digest", "log")
    }
    return {
        "trailArn": report.trail.arn,
        "s3Bucket": report.trail.bucket,
        "s3Prefix": report.trail.prefix,
        "requested": {"start": display(result.start), "end": display(result.end)},
        "found": found,
        "valid": report.ok,
        "digests": _entries(report.lines, "digest"),
        "logFiles": _entries(report.lines, "log"),
        "gaps": [
            {"from": display(g.after), "to": display(g.before)} for g in report.lines if isinstance(g, Gap)
        ],
        "summary": {"digestFiles": counts["digest"], "logFiles": counts["log"]},
    }


def write_json(report: Report, out: IO[str]) -> None:
    out.write(json.dumps(to_json(report), indent=2) + "\n")


__all__ = ["Report", "ValidationAborted", "run", "startup_text", "to_json", "write_json", "write_text"]
