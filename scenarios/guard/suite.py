"""What `pytest --session-guard` saw over a whole run: every watched request's findings, by
test, each decided by the run's policy (fails, acknowledged, reported, a note); the summary a
person reads (one line per distinct rule, site and route, with its count and its tests) and
the JSON a CI job keeps (every occurrence)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios.guard.findings import GuardFinding
from scenarios.guard.policy import Allowance, Policy

_TESTS_SHOWN = 3


@dataclass(frozen=True)
class Occurrence:
    """One finding in one test, as the policy judged it."""

    test: str
    finding: GuardFinding
    allowed: Allowance | None
    fails: bool  # would fail the test in strict mode (not a note, a strict rule, not allowed)

    @property
    def tag(self) -> str:
        if self.finding.note:
            return "note"
        if self.allowed is not None:
            return "acknowledged"
        return "fails" if self.fails else "reported"


@dataclass
class SuiteRecord:
    """Findings by test node id; `current` is the test running now (the sink files what
    arrives under it, from whichever thread the app ran in)."""

    mode: str
    policy: Policy = field(default_factory=Policy)
    current: str = "(outside any test)"
    requests: int = 0
    occurrences: list[Occurrence] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, findings: Sequence[GuardFinding]) -> None:
        with self._lock:
            self.requests += 1
            for finding in findings:
                allowed = None if finding.note else self.policy.allowed_by(finding)
                fails = allowed is None and self.policy.fails(finding)
                self.occurrences.append(Occurrence(self.current, finding, allowed, fails))

    def failures(self, test: str) -> list[GuardFinding]:
        """What fails this test in strict mode."""
        return [o.finding for o in self.occurrences if o.test == test and o.fails]

    def tests_with_findings(self) -> list[str]:
        tests = (o.test for o in self.occurrences if o.tag in ("fails", "reported"))
        return list(dict.fromkeys(tests))

    def counts(self, tag: str) -> Counter[str]:
        return Counter(o.finding.kind.value for o in self.occurrences if o.tag == tag)

    def groups(self) -> list[tuple[tuple[str, str, str | None, str | None], list[Occurrence]]]:
        """Occurrences by (tag, rule, site, route), in the order first seen."""
        grouped: dict[tuple[str, str, str | None, str | None], list[Occurrence]] = {}
        for o in self.occurrences:
            key = (o.tag, o.finding.kind.value, o.finding.site, o.finding.route)
            grouped.setdefault(key, []).append(o)
        order = {"fails": 0, "reported": 1, "acknowledged": 2, "note": 3}
        return sorted(grouped.items(), key=lambda item: order[item[0][0]])

    def summary_lines(self) -> list[str]:
        """A line of totals, then one line per distinct (rule, site, route): what, how many
        times, in which tests, and the first occurrence's words; then unused allowlist
        entries."""
        failing = self.tests_with_findings()
        kinds = ", ".join(
            f"{k}: {n}" for k, n in sorted((self.counts("fails") + self.counts("reported")).items())
        )
        effect = "failed" if self.mode == "strict" else "not failed (report mode)"
        extras = [
            f"{label}: " + ", ".join(f"{k}: {n}" for k, n in sorted(self.counts(tag).items()))
            for tag, label in (("acknowledged", "acknowledged"), ("note", "notes"))
            if self.counts(tag)
        ]
        lines = [
            f"{self.requests} requests watched; {len(failing)} tests with findings"
            + (f" ({kinds}), {effect}" if failing else "")
            + "".join(f"; {extra}" for extra in extras)
        ]
        for (tag, rule, site, route), found in self.groups():
            if tag in ("fails", "reported") and self.mode != "strict":
                tag = "finding"
            tests = list(dict.fromkeys(o.test for o in found))
            shown = ", ".join(tests[:_TESTS_SHOWN]) + (
                f" and {len(tests) - _TESTS_SHOWN} more" if len(tests) > _TESTS_SHOWN else ""
            )
            where = ", ".join(p for p in (site or "an unknown place", route) if p)
            why = f" (acknowledged: {found[0].allowed.reason})" if found[0].allowed else ""
            lines.append(
                f"[{tag}] {rule} at {where}: {len(found)}x in {len(tests)} "
                f"test{'s' if len(tests) != 1 else ''} ({shown}){why}: {found[0].finding.message}"
            )
        for allowance in self.policy.unused():
            lines.append(f"unused allowlist entry ({allowance.origin}): {allowance.describe()}")
        return lines

    def document(self) -> dict[str, Any]:
        by_test: dict[str, list[dict[str, Any]]] = {}
        for o in self.occurrences:
            entry = o.finding.as_dict() | {
                "fails": o.fails,
                "acknowledged": None
                if o.allowed is None
                else {"reason": o.allowed.reason, "origin": o.allowed.origin},
            }
            by_test.setdefault(o.test, []).append(entry)
        return {
            "mode": self.mode,
            "strict_rules": sorted(k.value for k in self.policy.strict),
            "requests": self.requests,
            "tests_with_findings": self.tests_with_findings(),
            "findings_by_kind": dict(
                sorted((self.counts("fails") + self.counts("reported")).items())
            ),
            "acknowledged_by_kind": dict(sorted(self.counts("acknowledged").items())),
            "notes_by_kind": dict(sorted(self.counts("note").items())),
            "unused_allowlist_entries": [
                {"entry": a.describe(), "origin": a.origin} for a in self.policy.unused()
            ],
            "tests": [{"test": test, "findings": found} for test, found in by_test.items()],
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.document(), indent=2) + "\n", encoding="utf-8")
