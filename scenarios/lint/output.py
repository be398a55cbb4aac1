"""How the static check speaks: text for people, JSON for scripts, SARIF 2.1.0 for code
scanning (GitHub reads `results` with `ruleId`, `level`, `message` and a physical location)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scenarios.lint.findings import RULES, Report
from scenarios.lint.selection import DEFAULT_LEVELS

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def text(report: Report, cwd: Path) -> tuple[str, str]:
    """(stdout, stderr): findings, most telling first; then markers, skips and warnings."""
    out = [finding.render(cwd) for finding in report.findings]
    err: list[str] = []
    for skipped in report.skipped:
        err.append(f"{_rel(skipped.path, cwd)}:{skipped.line}: skipped, {skipped.message}")
    for marker in report.unused_markers:
        err.append(
            f"{_rel(marker.path, cwd)}:{marker.line}: unused allow-session marker ({marker.reason})"
        )
    err += [f"warning: {warning}" for warning in report.warnings]
    in_hand = sum(1 for f in report.findings if f.rank == 1)
    err.append(
        f"{report.files} file(s) checked: {len(report.findings)} finding(s) "
        f"({in_hand} with a session already in hand), {report.errors} at error level, "
        f"{len(report.used_markers)} allowed "
        f"by marker, {len(report.skipped)} skipped"
    )
    return "".join(f"{line}\n" for line in out), "".join(f"{line}\n" for line in err)


def _rel(path: Path, cwd: Path) -> str:
    try:
        return path.resolve().relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def as_json(report: Report, cwd: Path) -> str:
    document = {
        "files": report.files,
        "findings": [
            {
                "path": f.display_path(cwd),
                "line": f.line,
                "column": f.column,
                "code": f.code,
                "rank": f.rank,
                "level": f.level,
                "reason": f.reason,
            }
            for f in report.findings
        ],
        "markers": {
            "used": [
                {"path": _rel(m.path, cwd), "line": m.line, "reason": m.reason}
                for m in report.used_markers
            ],
            "unused": [
                {"path": _rel(m.path, cwd), "line": m.line, "reason": m.reason}
                for m in report.unused_markers
            ],
        },
        "skipped": [
            {"path": _rel(s.path, cwd), "line": s.line, "message": s.message}
            for s in report.skipped
        ],
        "warnings": report.warnings,
    }
    return json.dumps(document, indent=2) + "\n"


def as_sarif(report: Report, cwd: Path) -> str:
    rules = [
        {
            "id": code,
            "name": code,
            "shortDescription": {"text": description},
            "help": {"text": 'docs/porting.md, section "The static check"'},
            "defaultConfiguration": {"level": SARIF_LEVELS[DEFAULT_LEVELS[code]]},
        }
        for code, description in RULES.items()
    ]
    codes = list(RULES)
    results: list[dict[str, Any]] = [
        {
            "ruleId": f.code,
            "ruleIndex": codes.index(f.code),
            "level": SARIF_LEVELS[f.level],
            "message": {"text": f.reason},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.display_path(cwd)},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }
            ],
            "properties": {"rank": f.rank},
        }
        for f in report.findings
    ]
    notifications = [
        {
            "level": "warning",
            "message": {"text": f"skipped: {s.message}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _rel(s.path, cwd)},
                        "region": {"startLine": s.line},
                    }
                }
            ],
        }
        for s in report.skipped
    ] + [{"level": "warning", "message": {"text": w}} for w in report.warnings]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "scenarios.lint",
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
