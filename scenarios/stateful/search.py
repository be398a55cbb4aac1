"""Running a search, and the readable report of what it found (shrunk)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis.errors import Flaky, HypothesisException
from hypothesis.reporting import with_reporter
from hypothesis.stateful import (
    run_state_machine_as_test,
)

from scenarios.outcomes import PRIORITY, Outcome
from scenarios.redaction import redact
from scenarios.stateful.machine import RequestHistory
from scenarios.stateful.violations import ErrorFound, StatefulViolation

SCENARIO_NAME = "stateful"
INTERLEAVING = "search"
GUARDS = (
    "Random request histories (Hypothesis): every acknowledged message persisted in order, "
    "nothing of a failed request persisted, every foreign key resolves, positions gapless."
)


@dataclass(frozen=True)
class SearchFinding:
    """One distinct failure, as Hypothesis shrank it."""

    outcome: Outcome
    message: str
    steps: tuple[str, ...]
    rows: dict[str, Any]
    reproduction: str  # Hypothesis's own falsifying example, runnable
    flaky: bool = False
    note: str = ""  # why a flaky finding could not be replayed, in words a team acts on


@dataclass(frozen=True)
class SearchResult:
    machine: str
    findings: tuple[SearchFinding, ...]
    examples: int  # machine runs, shrinking included
    duration_s: float
    settings: str
    # Times the search reopened the target after an example left connections open: a leak is
    # a finding, and the search went on past it (scenarios.stateful.leaks).
    taken_back: int = 0

    @property
    def primary(self) -> SearchFinding | None:
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

    def finding(self, outcome: Outcome) -> SearchFinding | None:
        return next((f for f in self.findings if f.outcome is outcome), None)

    def summary(self) -> str:
        """One line: the shrunk example of each finding, or that none was found."""
        if not self.findings:
            return f"no counterexample in {self.examples} examples ({self.settings})"
        parts = []
        for finding in sorted(self.findings, key=lambda f: PRIORITY.index(f.outcome)):
            steps = " | ".join(finding.steps)
            flaky = f" (flaky: {finding.note or FLAKY_NOTE})" if finding.flaky else ""
            parts.append(
                f"{finding.outcome.value}{flaky} in {len(finding.steps)} step(s): {steps} "
                f"=> {finding.message}"
            )
        taken = f", connections taken back {self.taken_back} times" if self.taken_back else ""
        return " || ".join(parts) + f" [{self.examples} examples{taken}]"


def _leaves(error: BaseException, flaky: bool = False) -> Iterator[tuple[BaseException, bool]]:
    """Every exception inside `error`, and whether a Flaky group (a failed replay) held it."""
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner, flaky or isinstance(error, Flaky))
    else:
        yield error, flaky


FLAKY_NOTE = (
    "Hypothesis could not replay this history the same way: the app draws its own randomness "
    "(ids, slugs, timestamps) or requests raced, so the same steps gave different responses; "
    "the steps are those of the run that failed"
)


def _hypothesis_error(error: BaseException) -> bool:
    """Hypothesis's own complaint (Flaky, FlakyStrategyDefinition, a health check, ...), as
    opposed to the app's or the adapter's exception."""
    return isinstance(error, HypothesisException | Flaky)


def _internal(error: BaseException) -> list[BaseException]:
    return [leaf for leaf, _ in _leaves(error) if _hypothesis_error(leaf)]


def violations_in(
    error: BaseException, last: StatefulViolation | None = None
) -> list[tuple[StatefulViolation, bool]]:
    """The model violations in `error`, each with whether it failed to replay.

    A violation that real concurrency or the app's own randomness produced may not replay:
    Hypothesis then raises Flaky (its replay error beside the violation) or, when the replay
    drew different data, FlakyStrategyDefinition alone. Either way the violation is kept, marked
    flaky (`last` is the one the machine raised most recently, for when Hypothesis kept none);
    Hypothesis's error is a note about it (`replay_note`), never raised to the caller. Anything
    else (a broken adapter) is re-raised as is.
    """
    leaves = list(_leaves(error))
    violations = [(v, f) for v, f in leaves if isinstance(v, StatefulViolation)]
    internal = _internal(error)
    if any(not isinstance(v, StatefulViolation) and v not in internal for v, _ in leaves):
        raise error
    if not internal:
        return violations
    if not any(isinstance(v, Flaky) for v in internal):
        # A health check or an unsatisfiable search: Hypothesis's complaint, told as a finding.
        why = _why(internal)
        return [
            (
                ErrorFound(
                    f"the search stopped on Hypothesis's own error: {why}", steps=(), rows={}
                ),
                False,
            )
        ]
    if violations:
        return violations
    if last is not None:
        return [(last, True)]
    return [
        (
            ErrorFound("a history failed, and Hypothesis could not replay it", steps=(), rows={}),
            True,
        )
    ]


def replay_note(error: BaseException) -> str:
    """Why a flaky finding did not replay: FLAKY_NOTE and Hypothesis's own words."""
    return f"{FLAKY_NOTE} ({_why(_internal(error) or [error])})"


def _why(internal: list[BaseException]) -> str:
    return "; ".join(f"{type(v).__name__}: {_first_line(v)}" for v in internal)


def _first_line(error: BaseException) -> str:
    text = str(error)
    return text.splitlines()[0] if text else ""


# How many more Hypothesis runs a search makes after one that ended on a failure that did not
# replay (a race): Hypothesis stops at such a failure, which must not hide a deterministic one.
FLAKY_RERUNS = 2


def _run_once(machine: type[RequestHistory], settings: settings) -> list[SearchFinding]:
    try:
        # The falsifying example also lands in the exception's notes; keep stdout quiet.
        with with_reporter(lambda _text: None):
            run_state_machine_as_test(machine, settings=settings)
    except BaseException as error:  # noqa: BLE001 - sorted by `violations_in`, which re-raises the rest
        return [
            SearchFinding(
                outcome=violation.outcome,
                message=violation.message,
                steps=violation.steps,
                rows=violation.rows,
                reproduction="\n".join(getattr(violation, "__notes__", ()))
                or "\n".join(violation.steps),
                flaky=flaky,
                note=replay_note(error) if flaky else "",
            )
            for violation, flaky in violations_in(error, machine.stats.last_violation)
        ]
    return []


def search(
    machine: type[RequestHistory], settings: settings, *, flaky_reruns: int = FLAKY_RERUNS
) -> SearchResult:
    """Run Hypothesis on `machine`; return what it found instead of raising it.

    Real concurrency, or an app that draws its own randomness, can fail in a way that does not
    replay; Hypothesis then stops with Flaky or FlakyStrategyDefinition. Such a finding is kept
    (marked flaky, with a note saying why) and the search runs again, up to `flaky_reruns`
    times, until it ends without one. Hypothesis's own errors are never raised to the caller;
    an exception of the adapter's (not a model violation) is.
    """
    started = time.perf_counter()
    before = machine.stats.examples
    taken_before = machine.stats.taken_back
    findings: list[SearchFinding] = []
    for _ in range(1 + flaky_reruns):
        found = _run_once(machine, settings)
        findings += found
        if not found or not all(f.flaky for f in found):
            break
    return SearchResult(
        machine=machine.__name__,
        findings=tuple(findings),
        examples=machine.stats.examples - before,
        taken_back=machine.stats.taken_back - taken_before,
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
            f"## SearchFinding {number}: {finding.outcome.value}, shrunk to {steps} "
            f"step{'s' if steps != 1 else ''}" + (" (flaky)" if finding.flaky else ""),
            "",
            f"{finding.message}",
            "",
            *([f"Note: {finding.note}", ""] if finding.note else []),
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
