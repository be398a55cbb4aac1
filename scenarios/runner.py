"""Runs scenario cases against a target: seeds, sends the requests (`scenarios.scheduler`),
reads the database back through a fresh connection, and classifies the result into a
`CaseResult` (`scenarios.case_result`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

from scenarios.adapter import SeedConversation, Target
from scenarios.case_result import CaseResult, judge, skipped_case, skipped_result
from scenarios.guard import GuardFinding
from scenarios.outcomes import Observation, Outcome, classify
from scenarios.scenario import Interleaving, Scenario
from scenarios.scheduler import STEP_TIMEOUT_S, StepHung, case_findings, run_requests
from scenarios.timeline import recording

# The last resort around a whole case (seed, steps, read-back): a case that outlives it still
# ends with a verdict, and the run goes on.
CASE_TIMEOUT_S = 60.0

# CaseResult, judge, skipped_result (scenarios.case_result) and STEP_TIMEOUT_S
# (scenarios.scheduler) stay importable from here too, for scenarios.stateful.
__all__ = [
    "CASE_TIMEOUT_S",
    "STEP_TIMEOUT_S",
    "CaseResult",
    "judge",
    "missing_capabilities",
    "run_case",
    "run_case_safely",
    "run_scenarios",
    "session_keys",
    "skipped_result",
]


def session_keys(scenario: Scenario) -> dict[str, str]:
    """Fresh chat-session keys for a case, so no two cases can ever share a row."""
    aliases = {seed.session for seed in scenario.seeds} | {r.session for r in scenario.requests}
    return {alias: str(uuid.uuid4()) for alias in sorted(aliases)}


async def run_case(
    target: Target,
    scenario: Scenario,
    interleaving: Interleaving,
    *,
    wiring: str,
    db: str,
    expected: str,
) -> CaseResult:
    started = time.perf_counter()
    keys = session_keys(scenario)
    await target.reset()
    if scenario.seeds:
        await target.seed(
            [
                SeedConversation(
                    session=keys[seed.session],
                    messages=tuple((m.role, m.content or "") for m in seed.messages),
                    agent_context=seed.agent_context,
                )
                for seed in scenario.seeds
            ]
        )
    responses: tuple[str, ...] = ()
    guard_findings: list[GuardFinding] = []
    guarding = case_findings.set(guard_findings)
    try:
        with recording() as case_recording:
            results = await run_requests(target, scenario, interleaving, keys)
    except StepHung as hung:
        state = await target.read_state()
        observation = Observation(Outcome.ERROR, ((Outcome.ERROR, str(hung)),))
    else:
        state = await target.read_state()
        observation = classify(scenario, results, state, keys)
        responses = tuple(
            f"{r.spec.name}: HTTP {r.response.status}"
            + (f" {r.response.error_code}" if r.response.error_code else "")
            for r in results
        )
    finally:
        case_findings.reset(guarding)
    leaks = [f for f in guard_findings if f.kind.value == Outcome.LEAKED_CONNECTION.value]
    if leaks:
        observation = Observation(
            Outcome.LEAKED_CONNECTION,
            tuple((Outcome.LEAKED_CONNECTION, f.message) for f in leaks) + observation.findings,
        )
    aliases = {key: alias for alias, key in keys.items()}
    rows = state.as_dict()
    rows["sessions"] = sorted(aliases.get(k, k) for k in state.sessions)
    rows["messages"] = {aliases.get(k, k): v for k, v in rows["messages"].items()}
    rows["agent_contexts"] = {aliases.get(k, k): v for k, v in rows["agent_contexts"].items()}
    observed = observation.outcome.value
    return CaseResult(
        scenario=scenario.name,
        interleaving=interleaving.id,
        wiring=wiring,
        db=db,
        expected=expected,
        observed=observed,
        verdict=judge(observed, expected),
        detail=observation.detail,
        duration_s=time.perf_counter() - started,
        guards=scenario.guards,
        steps=interleaving.steps,
        responses=responses,
        rows=rows,
        guard_findings=tuple(guard_findings),
        timeline=None if observed == Outcome.OK.value else case_recording.timeline(),
    )


async def run_case_safely(
    target: Target,
    scenario: Scenario,
    interleaving: Interleaving,
    *,
    wiring: str,
    db: str,
    expected: str,
) -> CaseResult:
    """`run_case`, but whatever the app or the database does, the case ends with a verdict: an
    exception (a reset that finds the database locked) or the last-resort timeout is `error`."""
    started = time.perf_counter()
    try:
        return await asyncio.wait_for(
            run_case(target, scenario, interleaving, wiring=wiring, db=db, expected=expected),
            CASE_TIMEOUT_S,
        )
    except TimeoutError:
        detail = f"the case did not finish within {CASE_TIMEOUT_S}s"
    except Exception as error:  # noqa: BLE001 - any failure of the case is its error
        detail = f"the case could not run: {type(error).__name__}: {error}"
    return CaseResult(
        scenario=scenario.name,
        interleaving=interleaving.id,
        wiring=wiring,
        db=db,
        expected=expected,
        observed=Outcome.ERROR.value,
        verdict=judge(Outcome.ERROR.value, expected),
        detail=detail,
        duration_s=time.perf_counter() - started,
        guards=scenario.guards,
        steps=interleaving.steps,
    )


def missing_capabilities(target: Target, scenario: Scenario) -> str | None:
    missing = sorted(scenario.requires - target.capabilities)
    if not missing:
        return None
    return f"target lacks {', '.join(missing)}"


async def run_scenarios(
    target: Target,
    scenarios: Sequence[Scenario],
    *,
    wiring: str,
    db: str,
    expected_outcome: Any,
) -> list[CaseResult]:
    """Every case of `scenarios` on one open target, in order."""
    results = []
    for scenario in scenarios:
        reason = missing_capabilities(target, scenario)
        for interleaving in scenario.interleavings():
            if reason:
                results.append(skipped_case(scenario, interleaving, wiring, db, reason))
                continue
            expected = expected_outcome(scenario.name, interleaving.id, wiring, db)
            results.append(
                await run_case_safely(
                    target, scenario, interleaving, wiring=wiring, db=db, expected=expected
                )
            )
    return results
