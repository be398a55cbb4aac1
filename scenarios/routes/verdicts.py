"""What one route showed: the guard's findings on its requests, the sweep's on the one request
swept, and, for a route no request reached, why (401, 404, 422 on every try)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from scenarios.guard import Kind
from scenarios.routes.driving import OperationRun
from scenarios.sweep import RequestSweep, SweepVerdict


class Problem(StrEnum):
    TWO_WRITERS = "two_writers"
    ACKNOWLEDGED_NOT_SAVED = "acknowledged_not_saved"
    RESPONSE_BEFORE_COMMIT = "response_before_commit"
    PARTIAL_COMMIT = "partial_commit"
    LEAKED_CONNECTION = "leaked_connection"


GUARD_PROBLEM = {
    Kind.EXTRA_SESSION: Problem.TWO_WRITERS,
    Kind.EXTRA_CONNECTION: Problem.TWO_WRITERS,
    Kind.ACKNOWLEDGED_NOT_SAVED: Problem.ACKNOWLEDGED_NOT_SAVED,
    Kind.LOST_WRITE: Problem.ACKNOWLEDGED_NOT_SAVED,
    Kind.RESPONSE_BEFORE_COMMIT: Problem.RESPONSE_BEFORE_COMMIT,
    Kind.LEAKED_CONNECTION: Problem.LEAKED_CONNECTION,
}
SWEEP_PROBLEM = {
    SweepVerdict.PARTIAL_COMMIT: Problem.PARTIAL_COMMIT,
    SweepVerdict.LOST_WRITE: Problem.ACKNOWLEDGED_NOT_SAVED,
}


@dataclass(frozen=True)
class RouteFinding:
    problem: Problem
    source: str  # "guard" or "sweep"
    request: str  # the request that showed it
    message: str
    site: str | None = None  # file:line, when the guard knows it


@dataclass
class RouteVerdict:
    route: str
    requests: int
    statuses: Counter[int]
    reached: bool
    unreached_reason: str | None
    findings: list[RouteFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    swept: str | None = None  # the request the sweep ran, when it ran one
    sweep_summary: str | None = None

    @property
    def problems(self) -> list[Problem]:
        return sorted({f.problem for f in self.findings})

    @property
    def outcome(self) -> str:
        """One word for the page: the first problem, `ok`, or `not_reached`."""
        if self.findings:
            return str(self.problems[0])
        return "ok" if self.reached else "not_reached"


def _why_unreached(run: OperationRun, statuses: Counter[int]) -> str:
    if run.error and not run.exchanges:
        return run.error
    if not statuses:
        return "no request was sent (out of time)" if not run.exchanges else "no answer"
    if len(statuses) == 1:
        ((status, count),) = statuses.items()
        return f"{status} on every try ({count})"
    return "no 2xx: " + ", ".join(f"{s} x{n}" for s, n in sorted(statuses.items()))


def from_guard(run: OperationRun) -> RouteVerdict:
    statuses = Counter(e.status for e in run.exchanges if e.status is not None)
    reached = any(e.succeeded for e in run.exchanges)
    verdict = RouteVerdict(
        run.operation.route,
        len(run.exchanges),
        statuses,
        reached,
        None if reached else _why_unreached(run, statuses),
    )
    seen: set[tuple[Problem, str | None]] = set()
    for exchange in run.exchanges:
        for finding in exchange.findings:
            if finding.note:
                if finding.message not in verdict.notes:
                    verdict.notes.append(finding.message)
                continue
            problem = GUARD_PROBLEM[finding.kind]
            if (problem, finding.site) in seen:
                continue  # one finding per problem and site: the first request that showed it
            seen.add((problem, finding.site))
            verdict.findings.append(
                RouteFinding(problem, "guard", exchange.describe(), finding.message, finding.site)
            )
    return verdict


def add_sweep(verdict: RouteVerdict, swept: RequestSweep, described: str) -> None:
    """The sweep's result for the route's request: a problem for each outcome that is one."""
    verdict.swept = described
    outcomes = Counter(swept.outcomes)
    verdict.sweep_summary = (
        f"{len(swept.boundaries)} of {len(swept.timeline)} boundaries run: "
        + ", ".join(f"{o} x{n}" for o, n in outcomes.items())
        + (f"; stopped: {swept.stopped}" if swept.stopped else "")
    )
    replayed_failed = swept.first_status is not None and not 200 <= swept.first_status < 300
    if swept.first.outcome is not SweepVerdict.OK and replayed_failed and not swept.first.changes:
        verdict.sweep_summary += (
            f" (on the sweep's fresh database the request answered {swept.first_status}: "
            "not judged)"
        )
        return
    for problem_outcome, problem in SWEEP_PROBLEM.items():
        where = [
            f"{b.event.index}{b.event.kind[0].upper()}"
            for b in swept.boundaries
            if b.judgement.outcome is problem_outcome
        ]
        first_bad = swept.first.outcome is problem_outcome
        if not where and not first_bad:
            continue
        example = next(
            (b for b in swept.boundaries if b.judgement.outcome is problem_outcome), None
        )
        detail = example.judgement.detail if example else swept.first.detail
        at = f"with a fault at {', '.join(where)}" if where else "with no fault injected"
        verdict.findings.append(
            RouteFinding(problem, "sweep", described, f"{problem_outcome} {at}: {detail}"[:600])
        )
