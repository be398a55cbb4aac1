"""The point after the response, the outcomes it brought (`split_exchange`, the "acknowledged
before commit" detail), and expectations bound to library versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.adapter import ChatResponse, DatabaseState, StoredMessage
from scenarios.expectations import ExpectedOutcomes, requirement_met
from scenarios.outcomes import ACKNOWLEDGED_BEFORE_COMMIT, Outcome, RequestResult, classify
from scenarios.scenario import Expect, ScenarioError, load_scenario
from tests.scenarios.test_classifier import KEY, one_request, scenario, state


def test_a_fault_after_the_response_expects_success_and_needs_the_capability(
    tmp_path: Path,
) -> None:
    case = one_request(tmp_path, 'fault = "after_response"')
    assert case.requests[0].expect is Expect.SUCCESS
    assert "after_response" in case.requires
    assert "fault_injection" in case.requires


def test_expecting_a_failure_from_a_fault_after_the_response_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="after_response"):
        one_request(tmp_path, 'fault = "after_response"\nexpect = "fault"')


def test_pausing_after_the_response_comes_after_every_other_point(tmp_path: Path) -> None:
    body = '[[request]]\nname = "a"\nsession = "chat"\ncontent = "hi"\n'
    ok = scenario(tmp_path, body + 'pause_at = ["at_commit", "after_response"]', "interleave")
    assert [i.id for i in ok.interleavings()] == ["a@at_commit a@after_response a"]
    with pytest.raises(ScenarioError, match="in the order"):
        scenario(tmp_path, body + 'pause_at = ["after_response", "at_commit"]', "interleave")


def test_a_write_lost_after_a_201_says_it_was_acknowledged_before_commit(tmp_path: Path) -> None:
    case = one_request(tmp_path, 'fault = "after_response"')
    response = ChatResponse(201, late_failure="IntegrityError: deferred FK at commit")
    found = classify(case, [RequestResult(case.requests[0], KEY, response)], state(), {"chat": KEY})
    assert found.outcome is Outcome.LOST_WRITE
    assert ACKNOWLEDGED_BEFORE_COMMIT in found.detail
    assert "deferred FK at commit" in found.detail
    # The same loss without a failure after the response is a lost write, not "before commit".
    plain = classify(
        case, [RequestResult(case.requests[0], KEY, ChatResponse(201))], state(), {"chat": KEY}
    )
    assert plain.outcome is Outcome.LOST_WRITE
    assert ACKNOWLEDGED_BEFORE_COMMIT not in plain.detail


def test_a_reply_separated_from_its_question_is_a_split_exchange(tmp_path: Path) -> None:
    case = scenario(
        tmp_path,
        '[[request]]\nname = "a"\nsession = "chat"\ncontent = "A?"\n'
        'expect = "success_or_conflict"\npause_at = ["after_user_message"]\n'
        '[[request]]\nname = "b"\nsession = "chat"\ncontent = "B?"\n'
        'expect = "success_or_conflict"\npause_at = ["after_user_message"]\n',
        "interleave",
    )
    rows = DatabaseState(
        sessions=frozenset({KEY}),
        messages={
            KEY: tuple(
                StoredMessage(role, content, position)
                for position, (role, content) in enumerate(
                    [("user", "A?"), ("user", "B?"), ("assistant", "a"), ("assistant", "b")]
                )
            )
        },
        agent_contexts={KEY: 1},
    )
    results = [RequestResult(spec, KEY, ChatResponse(201)) for spec in case.requests]
    found = classify(case, results, rows, {"chat": KEY})
    assert found.outcome is Outcome.SPLIT_EXCHANGE
    assert "split exchange" in found.detail
    # Kept together, the same two exchanges are fine.
    together = DatabaseState(
        sessions=frozenset({KEY}),
        messages={
            KEY: tuple(
                StoredMessage(role, content, position)
                for position, (role, content) in enumerate(
                    [("user", "A?"), ("assistant", "a"), ("user", "B?"), ("assistant", "b")]
                )
            )
        },
        agent_contexts={KEY: 1},
    )
    assert classify(case, results, together, {"chat": KEY}).outcome is Outcome.OK


def test_a_wiring_table_holds_only_for_the_versions_it_names() -> None:
    table = {"w": {"sqlite": {"default": "lost_write"}}}
    held = ExpectedOutcomes({"holds_for": {"w": "fastapi>=0.1, sqlalchemy>=2.0"}, **table})
    assert held("s", "sequence", "w", "sqlite") == "lost_write"
    older = ExpectedOutcomes({"holds_for": {"w": "fastapi<0.1"}, **table})
    assert older("s", "sequence", "w", "sqlite") == "ok"  # not broken on a version it is not
    assert not requirement_met("not-installed-anywhere>=1.0")


def test_a_malformed_version_requirement_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "expected.toml"
    path.write_text('[holds_for]\nw = "fastapi newer than 0.118"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"expected.toml: .*name>=X.Y"):
        ExpectedOutcomes.from_toml(path)


def test_the_pack_has_the_three_after_response_scenarios() -> None:
    pack = Path(__file__).parents[2] / "scenarios" / "pack"
    for name in ("fault_after_response", "fault_after_response_new_session"):
        assert load_scenario(pack / f"{name}.toml").requests[0].fault == "after_response"
    held = load_scenario(pack / "acknowledged_then_read.toml").requests[0]
    assert held.pause_at == ("after_response",)
    assert held.read_back
