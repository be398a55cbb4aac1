"""The classifier: one outcome per case, from driver codes and what a fresh connection found."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.adapter import ChatResponse, DatabaseState, StoredMessage
from scenarios.outcomes import Outcome, RequestResult, classify
from scenarios.scenario import Scenario, load_scenario

KEY = "11111111-1111-1111-1111-111111111111"
OTHER = "22222222-2222-2222-2222-222222222222"


def scenario(tmp_path: Path, body: str, mode: str = "sequence") -> Scenario:
    path = tmp_path / "case.toml"
    path.write_text(f'format = 1\nguards = "x."\nmode = "{mode}"\n{body}', encoding="utf-8")
    return load_scenario(path)


def one_request(tmp_path: Path, extra: str = "") -> Scenario:
    return scenario(tmp_path, f'[[request]]\nname = "a"\nsession = "chat"\ncontent = "hi"\n{extra}')


def state(*messages: tuple[str, str], contexts: int = 1, sessions: bool = True) -> DatabaseState:
    return DatabaseState(
        sessions=frozenset({KEY} if sessions else ()),
        messages={KEY: tuple(StoredMessage(r, c, i) for i, (r, c) in enumerate(messages))}
        if messages
        else {},
        agent_contexts={KEY: contexts} if contexts else {},
    )


def run(case: Scenario, *responses: ChatResponse, found: DatabaseState) -> Outcome:
    results = [
        RequestResult(spec, KEY, response)
        for spec, response in zip(case.requests, responses, strict=True)
    ]
    return classify(case, results, found, {"chat": KEY}).outcome


PERSISTED = state(("user", "hi"), ("assistant", "Echo: hi"))
NOTHING = DatabaseState(sessions=frozenset())


def test_an_acknowledged_request_whose_rows_are_all_there_is_ok(tmp_path: Path) -> None:
    assert run(one_request(tmp_path), ChatResponse(201), found=PERSISTED) is Outcome.OK


def test_an_acknowledged_request_whose_rows_are_missing_is_a_lost_write(tmp_path: Path) -> None:
    assert run(one_request(tmp_path), ChatResponse(201), found=NOTHING) is Outcome.LOST_WRITE


def test_a_missing_agent_context_is_a_lost_write_too(tmp_path: Path) -> None:
    found = state(("user", "hi"), ("assistant", "Echo: hi"), contexts=0)
    assert run(one_request(tmp_path), ChatResponse(201), found=found) is Outcome.LOST_WRITE


@pytest.mark.parametrize("code", ["23503", "SQLITE_CONSTRAINT_FOREIGNKEY"])
def test_a_foreign_key_error_code_is_an_fk_violation(tmp_path: Path, code: str) -> None:
    response = ChatResponse(500, error_code=code, detail="key is not present")
    assert run(one_request(tmp_path), response, found=NOTHING) is Outcome.FK_VIOLATION


@pytest.mark.parametrize("code", ["55P03", "SQLITE_BUSY"])
def test_a_bounded_wait_running_out_is_a_lock_timeout(tmp_path: Path, code: str) -> None:
    assert (
        run(one_request(tmp_path), ChatResponse(409, error_code=code), found=NOTHING)
        is Outcome.LOCK_TIMEOUT
    )


def test_classification_uses_the_code_never_the_message_text(tmp_path: Path) -> None:
    response = ChatResponse(500, error_code="XX000", detail="FOREIGN KEY constraint failed")
    assert run(one_request(tmp_path), response, found=NOTHING) is Outcome.ERROR


def test_a_failed_request_whose_rows_were_committed_is_a_partial_commit(tmp_path: Path) -> None:
    case = one_request(tmp_path, 'fault = "after_reply"')
    response = ChatResponse(500, error_code="injected_fault")
    assert run(case, response, found=NOTHING) is Outcome.OK
    assert run(case, response, found=state(("user", "hi"), contexts=0)) is Outcome.PARTIAL_COMMIT


def test_a_fault_that_was_not_injected_is_an_error(tmp_path: Path) -> None:
    case = one_request(tmp_path, 'fault = "after_reply"')
    assert run(case, ChatResponse(201), found=PERSISTED) is Outcome.ERROR


def test_a_rejection_must_name_the_expected_field(tmp_path: Path) -> None:
    case = one_request(tmp_path, 'expect = "rejected"\nrejected_field = "content"')
    named = ChatResponse(422, invalid_fields=("content",))
    assert run(case, named, found=NOTHING) is Outcome.OK
    assert run(case, ChatResponse(422, invalid_fields=("body",)), found=NOTHING) is Outcome.ERROR
    assert run(case, ChatResponse(500), found=NOTHING) is Outcome.ERROR


def test_a_hole_in_the_positions_is_an_error(tmp_path: Path) -> None:
    found = DatabaseState(
        sessions=frozenset({KEY}),
        messages={KEY: (StoredMessage("user", "hi", 0), StoredMessage("assistant", "x", 2))},
        agent_contexts={KEY: 1},
    )
    assert run(one_request(tmp_path), ChatResponse(201), found=found) is Outcome.ERROR


def test_a_dangling_reference_is_reported(tmp_path: Path) -> None:
    found = DatabaseState(
        sessions=PERSISTED.sessions,
        messages=PERSISTED.messages,
        agent_contexts=PERSISTED.agent_contexts,
        dangling=("agent_contexts.session_db_id x -> sessions",),
    )
    assert run(one_request(tmp_path), ChatResponse(201), found=found) is Outcome.ERROR


def racing(tmp_path: Path) -> Scenario:
    return scenario(
        tmp_path,
        "".join(
            f'[[request]]\nname = "{name}"\nsession = "chat"\ncontent = "{content}"\n'
            'expect = "success_or_conflict"\n'
            for name, content in (("a", "hi"), ("b", "ho"))
        ),
        mode="concurrent",
    )


def test_a_clear_conflict_is_allowed_when_the_scenario_allows_it(tmp_path: Path) -> None:
    outcome = run(
        racing(tmp_path), ChatResponse(201), ChatResponse(409, error_code="55P03"), found=PERSISTED
    )
    assert outcome is Outcome.OK


def test_racing_requests_that_all_fail_made_no_progress(tmp_path: Path) -> None:
    busy = ChatResponse(409, error_code="SQLITE_BUSY")
    assert run(racing(tmp_path), busy, busy, found=NOTHING) is Outcome.LOCK_TIMEOUT


def test_fk_violation_outranks_the_lost_write_it_comes_with(tmp_path: Path) -> None:
    case = scenario(
        tmp_path,
        '[[request]]\nname = "a"\nsession = "chat"\ncontent = "hi"\n'
        '[[request]]\nname = "b"\nsession = "chat"\ncontent = "ho"\n',
    )
    outcome = run(case, ChatResponse(201), ChatResponse(500, error_code="23503"), found=NOTHING)
    assert outcome is Outcome.FK_VIOLATION
