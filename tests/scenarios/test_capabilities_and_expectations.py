"""Capabilities skip what a target cannot do, with the reason; expectations default to ok."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_app.adapter import ReferenceTargetFactory
from scenarios.adapter import Capability
from scenarios.databases import Database
from scenarios.expectations import ExpectedOutcomes
from scenarios.outcomes import Verdict
from scenarios.runner import run_scenarios
from scenarios.scenario import load_pack


async def test_a_target_without_fault_injection_skips_fault_scenarios_with_the_reason(
    sqlite_database: Database,
) -> None:
    factory = ReferenceTargetFactory()
    scenarios = [
        s for s in load_pack() if s.name in ("fault_after_reply", "first_message_new_session")
    ]
    async with factory.open("shared_session", sqlite_database) as target:
        target.capabilities = Capability.ALL - {Capability.FAULT_INJECTION}
        results = await run_scenarios(
            target,
            scenarios,
            wiring="shared_session",
            db="sqlite",
            expected_outcome=factory.expected_outcome,
        )
    verdicts = {r.scenario: (r.verdict, r.detail) for r in results}
    assert verdicts["fault_after_reply"] == (Verdict.SKIPPED, "target lacks fault_injection")
    assert verdicts["first_message_new_session"][0] is Verdict.AS_EXPECTED


def test_expectations_look_up_interleaving_then_scenario_then_default_then_ok() -> None:
    expected = ExpectedOutcomes(
        {
            "buggy": {
                "sqlite": {
                    "default": "lock_timeout",
                    "existing": "lost_write",
                    "race[a b]": "error",
                    "concurrent": ["ok", "partial_commit"],
                }
            }
        }
    )
    assert expected("race", "a b", "buggy", "sqlite") == "error"
    assert expected("race", "b a", "buggy", "sqlite") == "lock_timeout"
    assert expected("existing", "sequence", "buggy", "sqlite") == "lost_write"
    assert expected("existing", "sequence", "buggy", "postgresql") == "ok"
    assert expected("anything", "sequence", "fixed", "sqlite") == "ok"
    assert expected("concurrent", "concurrent", "buggy", "sqlite") == "ok|partial_commit"


def test_an_expectation_that_is_not_an_outcome_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "expected.toml"
    path.write_text('[buggy.sqlite]\ndefault = "broken"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[buggy.sqlite\] default = 'broken': not an outcome"):
        ExpectedOutcomes.from_toml(path)
