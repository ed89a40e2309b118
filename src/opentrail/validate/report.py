"""What ``validate-logs`` prints: the AWS CLI's lines and summary, or a JSON report.

Text output is the AWS CLI's to the byte (§5.8 step 11): ``valid`` lines on stdout with ``--verbose``,
INVALID and gap lines on stderr each followed by a blank line, the summary on stdout. Lines from the
checks the AWS CLI does not make use the same shape, so a script that greps INVALID sees them too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import IO, Any

from opentrail.validate.times import display
from opentrail.validate.trail import TrailFiles
from opentrail.validate.verdicts import Gap, Line, Verdict
from opentrail.validate.walk import Result


class Report:
    """A finished run: its verdicts in walk order and the summary counts."""

    __slots__ = ("files", "lines", "result")

    def __init__(self, files: TrailFiles, result: Result, lines: list[Line]) -> None:
        self.files, self.result, self.lines = files, result, lines

    def count(self, kind: str, valid: bool) -> int:
        return sum(1 for e in self.lines if isinstance(e, Verdict) and e.kind == kind and e.valid == valid)

    @property
    def ok(self) -> bool:
        return not any(isinstance(e, Verdict) and not e.valid for e in self.lines)


def startup_text(arn: str, result: Result) -> str:
    return (
        f"Validating log files for trail {arn} between {display(result.start)} and {display(result.end)}\n\n"
    )


def _line(item: Line) -> str:
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


def _verdicts(items: Sequence[Line], kind: str) -> list[dict[str, Any]]:
    return [
        {
            "s3Bucket": e.bucket,
            "s3Object": e.key,
            "status": "valid" if e.valid else "INVALID",
            "reason": e.reason,
            "beyondAwsCli": e.extra,
        }
        for e in items
        if isinstance(e, Verdict) and e.kind == kind
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
        "trailArn": report.files.arn,
        "s3Bucket": report.files.bucket,
        "s3Prefix": report.files.prefix,
        "requested": {"start": display(result.start), "end": display(result.end)},
        "found": found,
        "valid": report.ok,
        "digests": _verdicts(report.lines, "digest"),
        "logFiles": _verdicts(report.lines, "log"),
        "gaps": [
            {"from": display(g.after), "to": display(g.before)} for g in report.lines if isinstance(g, Gap)
        ],
        "summary": {"digestFiles": counts["digest"], "logFiles": counts["log"]},
    }


def write_json(report: Report, out: IO[str]) -> None:
    out.write(json.dumps(to_json(report), indent=2) + "\n")
