"""Running a search, and the readable report of what it found (shrunk)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypothesis import settings
from hypothesis.errors import Flaky
from hypothesis.reporting import with_reporter
from hypothesis.stateful import (
    run_state_machine_as_test,
)

from scenarios.outcomes import PRIORITY, Outcome
from scenarios.redaction import redact
from scenarios.stateful.machine import RequestHistory
from scenarios.stateful.violations import StatefulViolation

if TYPE_CHECKING:
    pass

SCENARIO_NAME = "stateful"
INTERLEAVING = "search"
GUARDS = (
    "Random request histories (Hypothesis): every acknowledged message persisted in order, "
    "nothing of a failed request persisted, every foreign key resolves, positions gapless."
)


@dataclass(frozen=True)
class Finding:
    """One distinct failure, as Hypothesis shrank it."""

    outcome: Outcome
    message: str
    steps: tuple[str, ...]
    rows: dict[str, Any]
    reproduction: str  # Hypothesis's own falsifying example, runnable
    flaky: bool = False


@dataclass(frozen=True)
class SearchResult:
    machine: str
    findings: tuple[Finding, ...]
    examples: int  # machine runs, shrinking included
    duration_s: float
    settings: str

    @property
    def primary(self) -> Finding | None:
        """The finding that names the outcome, ranked as the classifier ranks outcomes."""
        for outcome in PRIORITY:
            for finding in self.findings:
                if finding.outcome is outcome:
                    return finding
        return None

    @property
    def outcome(self) -> Outcome:
        primary = self.primary
        return primary.outcome if primary else Outcome.OK

    def finding(self, outcome: Outcome) -> Finding | None:
        return next((f for f in self.findings if f.outcome is outcome), None)

    def summary(self) -> str:
        """One line: the shrunk example of each finding, or that none was found."""
        if not self.findings:
            return f"no counterexample in {self.examples} examples ({self.settings})"
        parts = []
        for finding in sorted(self.findings, key=lambda f: PRIORITY.index(f.outcome)):
            steps = " | ".join(finding.steps)
            flaky = " (flaky)" if finding.flaky else ""
            parts.append(
                f"{finding.outcome.value}{flaky} in {len(finding.steps)} step(s): {steps} "
                f"=> {finding.message}"
            )
        return " || ".join(parts)


def _leaves(error: BaseException, flaky: bool = False) -> Iterator[tuple[BaseException, bool]]:
    """Every exception inside `error`, and whether a Flaky group (a failed replay) held it."""
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner, flaky or isinstance(error, Flaky))
    else:
        yield error, flaky


def _violations(error: BaseException) -> list[tuple[StatefulViolation, bool]]:
    """The model violations in `error`; re-raises it if it holds anything else.

    A violation that real concurrency produced may not replay (Hypothesis raises Flaky, with
    its own replay error beside it): that violation is kept, marked flaky; the replay error is
    Hypothesis's note about it, not a second problem.
    """
    leaves = list(_leaves(error))
    violations = [(v, f) for v, f in leaves if isinstance(v, StatefulViolation)]
    others = [
        v
        for v, f in leaves
        if not isinstance(v, StatefulViolation) and not (f and isinstance(v, Flaky))
    ]
    if not violations or others:
        raise error
    return violations


# How many more Hypothesis runs a search makes after one that ended on a failure that did not
# replay (a race): Hypothesis stops at such a failure, which must not hide a deterministic one.
FLAKY_RERUNS = 2


def _run_once(machine: type[RequestHistory], settings: settings) -> list[Finding]:
    try:
        # The falsifying example also lands in the exception's notes; keep stdout quiet.
        with with_reporter(lambda _text: None):
            run_state_machine_as_test(machine, settings=settings)
    except BaseException as error:
        return [
            Finding(
                outcome=violation.outcome,
                message=violation.message,
                steps=violation.steps,
                rows=violation.rows,
                reproduction="\n".join(getattr(violation, "__notes__", ())),
                flaky=flaky,
            )
            for violation, flaky in _violations(error)
        ]
    return []


def search(
    machine: type[RequestHistory], settings: settings, *, flaky_reruns: int = FLAKY_RERUNS
) -> SearchResult:
    """Run Hypothesis on `machine`; return what it found instead of raising it.

    Real concurrency can fail in a way that does not replay; Hypothesis then stops with Flaky.
    Such a finding is kept (marked flaky) and the search runs again, up to `flaky_reruns`
    times, until it ends without one. Anything that is not a model violation (a broken
    adapter, a health check) is re-raised.
    """
    started = time.perf_counter()
    before = machine.stats.examples
    findings: list[Finding] = []
    for _ in range(1 + flaky_reruns):
        found = _run_once(machine, settings)
        findings += found
        if not found or not all(f.flaky for f in found):
            break
    return SearchResult(
        machine=machine.__name__,
        findings=tuple(findings),
        examples=machine.stats.examples - before,
        duration_s=time.perf_counter() - started,
        settings=(
            f"max_examples={settings.max_examples}, "
            f"stateful_step_count={settings.stateful_step_count}, "
            f"derandomize={settings.derandomize}"
        ),
    )


def report_path(folder: Path, wiring: str, db: str) -> Path:
    return folder / f"stateful-{wiring}-{db}.md"


def markdown_report(
    result: SearchResult, *, target: str, wiring: str, db: str, expected: str | None = None
) -> str:
    """A page a person reads: what was searched, what was found, shrunk, and how to replay it."""
    outcome = result.outcome.value
    lines = [
        f"# Stateful search: `{wiring}` on {db}",
        "",
        f"Target `{target}`. Hypothesis ran {result.examples} request histories "
        f"({result.settings}) in {result.duration_s:.1f} s.",
        "",
        f"Outcome: **{outcome}**" + (f" (expected `{expected}`)" if expected is not None else ""),
        "",
        f"What is checked after every step: {GUARDS}",
        "",
    ]
    if not result.findings:
        lines += ["No counterexample: every history kept the model.", ""]
    ranked = sorted(result.findings, key=lambda f: PRIORITY.index(f.outcome))
    for number, finding in enumerate(ranked, 1):
        steps = len(finding.steps)
        lines += [
            f"## Finding {number}: {finding.outcome.value}, shrunk to {steps} "
            f"step{'s' if steps != 1 else ''}" + (" (flaky)" if finding.flaky else ""),
            "",
            f"{finding.message}",
            "",
            "The shortest request history Hypothesis found:",
            "",
            *finding.steps,
            "",
            "Rows a fresh connection found at that point:",
            "",
            "```json",
            json.dumps(finding.rows, ensure_ascii=False, indent=2),
            "```",
            "",
            "Hypothesis's falsifying example:",
            "",
            "```python",
            finding.reproduction,
            "```",
            "",
        ]
    return "\n".join(lines)


def write_report(
    result: SearchResult,
    folder: Path,
    *,
    target: str,
    wiring: str,
    db: str,
    expected: str | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = report_path(folder, wiring, db)
    text = markdown_report(result, target=target, wiring=wiring, db=db, expected=expected)
    path.write_text(redact(text), encoding="utf-8")
    return path
