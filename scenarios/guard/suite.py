"""What `pytest --session-guard` saw over a whole run: every watched request's findings, by
test; the end-of-run summary a person reads and the JSON a CI job keeps."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios.guard.findings import Finding


@dataclass
class SuiteRecord:
    """Findings by test node id; `current` is the test running now (the sink files what
    arrives under it, from whichever thread the app ran in)."""

    mode: str
    current: str = "(outside any test)"
    requests: int = 0
    by_test: dict[str, list[Finding]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, findings: Sequence[Finding]) -> None:
        with self._lock:
            self.requests += 1
            if findings:
                self.by_test.setdefault(self.current, []).extend(findings)

    def failures(self, test: str) -> list[Finding]:
        return [f for f in self.by_test.get(test, []) if not f.note]

    def tests_with_findings(self) -> list[str]:
        return [test for test in self.by_test if self.failures(test)]

    def counts(self, *, notes: bool) -> Counter[str]:
        return Counter(
            f.kind.value for found in self.by_test.values() for f in found if f.note is notes
        )

    def summary_lines(self) -> list[str]:
        """The end-of-run summary: one line of totals, then each finding with its site."""
        failing = self.tests_with_findings()
        kinds = ", ".join(f"{k}: {n}" for k, n in sorted(self.counts(notes=False).items()))
        notes = ", ".join(f"{k}: {n}" for k, n in sorted(self.counts(notes=True).items()))
        effect = "failed" if self.mode == "strict" else "not failed (report mode)"
        lines = [
            f"{self.requests} requests watched; {len(failing)} tests with findings"
            + (f" ({kinds}), {effect}" if failing else "")
            + (f"; notes: {notes}" if notes else "")
        ]
        for test, found in self.by_test.items():
            for finding in found:
                tag = "note" if finding.note else finding.kind.value
                lines.append(f"{test} [{finding.unit}] {tag}: {finding.message}")
        return lines

    def document(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "requests": self.requests,
            "tests_with_findings": self.tests_with_findings(),
            "findings_by_kind": dict(sorted(self.counts(notes=False).items())),
            "notes_by_kind": dict(sorted(self.counts(notes=True).items())),
            "tests": [
                {"test": test, "findings": [f.as_dict() for f in found]}
                for test, found in self.by_test.items()
            ],
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.document(), indent=2) + "\n", encoding="utf-8")
