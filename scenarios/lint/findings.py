"""What one run of the static check found: findings (ranked), markers, skipped files, warnings."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

RULES = {
    "SCN001": "opens a second session while one is already in hand",
    "SCN002": "a request's dependency tree opens two sessions",
    "SCN003": "opens a session of its own where the work is done",
    "SCN004": "a request dependency commits after `yield`: after the response is sent",
}
WARNINGS = frozenset({"SCN003", "SCN004"})  # rank 2


@dataclass(frozen=True)
class LintFinding:
    path: Path
    line: int
    code: str  # a key of RULES
    reason: str
    column: int = 1
    end_line: int = 0
    level: str = "error"  # error (fails the run), warning, info: see `selection`

    @property
    def rank(self) -> int:
        """1: a session is already in hand, or a route opens two (read these first); 2: a
        session opened elsewhere than the composition root, or committed after the response."""
        return 2 if self.code in WARNINGS else 1

    def display_path(self, relative_to: Path | None = None) -> str:
        path = self.path
        if relative_to is not None:
            with contextlib.suppress(ValueError):
                path = self.path.resolve().relative_to(relative_to.resolve())
        return path.as_posix()

    def render(self, relative_to: Path | None = None) -> str:
        level = "" if self.level == "error" else f"[{self.level}] "
        return f"{self.display_path(relative_to)}:{self.line}: {self.code} {level}{self.reason}"


@dataclass(frozen=True)
class Marker:
    path: Path
    line: int
    reason: str


@dataclass(frozen=True)
class Skipped:
    path: Path
    line: int
    message: str


@dataclass
class Report:
    findings: list[LintFinding] = field(default_factory=list)
    used_markers: list[Marker] = field(default_factory=list)
    unused_markers: list[Marker] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def errors(self) -> int:
        """Findings that fail the run (exit 1)."""
        return sum(1 for f in self.findings if f.level == "error")

    def sort(self) -> None:
        self.findings.sort(key=lambda f: (f.rank, str(f.path), f.line, f.code))
        self.used_markers.sort(key=lambda m: (str(m.path), m.line))
        self.unused_markers.sort(key=lambda m: (str(m.path), m.line))
        self.skipped.sort(key=lambda s: str(s.path))
