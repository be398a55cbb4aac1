"""`# scenarios: allow-session -- reason`: a finding a team has read and accepted, on its line.

A marker needs a reason after ` -- `. Markers that silence nothing are reported as unused, so
they do not outlive the code they were written for.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from scenarios.lint.findings import LintFinding, Marker

MARKER = re.compile(r"#\s*scenarios:\s*allow-session\b(?:\s*--\s*(?P<reason>\S.*?))?\s*$")


def markers_in(path: Path, lines: list[str]) -> tuple[list[Marker], list[str]]:
    """The markers in a file, and a warning for each one that gives no reason."""
    found: list[Marker] = []
    warnings: list[str] = []
    for number, line in _comments(lines):
        match = MARKER.search(line)
        if match is None:
            continue
        if match["reason"] is None:
            warnings.append(
                f"{path.as_posix()}:{number}: allow-session marker without a reason is ignored; "
                "write `# scenarios: allow-session -- why this session is its own`"
            )
            continue
        found.append(Marker(path, number, match["reason"]))
    return found, warnings


def _comments(lines: list[str]) -> list[tuple[int, str]]:
    """(line number, comment text) of the real comments that mention the marker (never a
    string that happens to contain it)."""
    if not any("allow-session" in line for line in lines):
        return []
    text = "\n".join(lines) + "\n"
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    return [
        (token.start[0], token.string)
        for token in tokens
        if token.type == tokenize.COMMENT and "allow-session" in token.string
    ]


def apply(
    findings: list[LintFinding], markers: list[Marker]
) -> tuple[list[LintFinding], list[Marker], list[Marker]]:
    """(findings kept, markers used, markers unused): a marker on any line of the call it
    follows silences that finding."""
    used: set[Marker] = set()
    kept: list[LintFinding] = []
    for finding in findings:
        hit = [
            m
            for m in markers
            if m.path == finding.path
            and finding.line <= m.line <= max(finding.end_line, finding.line)
        ]
        if hit:
            used.update(hit)
        else:
            kept.append(finding)
    return kept, [m for m in markers if m in used], [m for m in markers if m not in used]
