"""What one case of the matrix came to (`CaseResult`) and its JSON, the record every report,
merge and door reads: built by the runner, by the stateful case and for a case that could not
run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scenarios.guard import GuardFinding, summarise
from scenarios.outcomes import Verdict
from scenarios.scenario import Interleaving, Scenario
from scenarios.timeline import Timeline


@dataclass(frozen=True)
class CaseResult:
    """One scenario x interleaving x wiring x database: what was expected and what was seen."""

    scenario: str
    interleaving: str
    wiring: str
    db: str
    expected: str
    observed: str
    verdict: Verdict
    detail: str
    duration_s: float
    guards: str = ""
    steps: tuple[str, ...] = ()
    responses: tuple[str, ...] = ()
    rows: dict[str, Any] = field(default_factory=dict)
    guard_findings: tuple[GuardFinding, ...] = ()  # the session guard's, one unit per request
    timeline: Timeline | None = None  # for the page (reports/index.html), not in matrix.json
    server_version: str = ""  # the database server's version ("PostgreSQL 18.6"), "" if none ran

    @property
    def id(self) -> str:
        return f"{self.wiring}-{self.db}-{self.scenario}[{self.interleaving}]"

    @property
    def guard_summary(self) -> str:
        return summarise(self.guard_findings, "request")

    def as_dict(self) -> dict[str, Any]:
        return {
            "db": self.db,
            "wiring": self.wiring,
            "scenario": self.scenario,
            "interleaving": self.interleaving,
            "expected": self.expected,
            "observed": self.observed,
            "verdict": self.verdict.value,
            "detail": self.detail,
            "duration_s": round(self.duration_s, 4),
            "guards": self.guards,
            "steps": list(self.steps),
            "responses": list(self.responses),
            "rows": self.rows,
            "session_guard": self.guard_summary,
            "session_guard_findings": [f.as_dict() for f in self.guard_findings],
            "server_version": self.server_version,
        }


def skipped_result(
    scenario: str,
    interleaving: str,
    wiring: str,
    db: str,
    reason: str,
    *,
    guards: str = "",
    steps: tuple[str, ...] = (),
) -> CaseResult:
    """A case that could not run: `skipped` with the reason, never `ok`."""
    return CaseResult(
        scenario=scenario,
        interleaving=interleaving,
        wiring=wiring,
        db=db,
        expected="",
        observed="skipped",
        verdict=Verdict.SKIPPED,
        detail=reason,
        duration_s=0.0,
        guards=guards,
        steps=steps,
    )


def skipped_case(
    scenario: Scenario, interleaving: Interleaving, wiring: str, db: str, reason: str
) -> CaseResult:
    return skipped_result(
        scenario.name,
        interleaving.id,
        wiring,
        db,
        reason,
        guards=scenario.guards,
        steps=interleaving.steps,
    )


def judge(observed: str, expected: str) -> Verdict:
    return Verdict.AS_EXPECTED if observed in expected.split("|") else Verdict.UNEXPECTED
