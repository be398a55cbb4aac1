"""The model check on its own, without Hypothesis or a database: rows a fresh connection would
find, against what a history's requests were told (scenarios.stateful.model)."""

from __future__ import annotations

from scenarios.adapter import DatabaseState, StoredMessage
from scenarios.outcomes import Outcome
from scenarios.stateful.model import Expected, ModelCheck

KEY = "k1"


def _checked(*messages: tuple[str, str | None]) -> ModelCheck:
    """A history that acknowledged `messages` (role, content) in session s1."""
    check = ModelCheck()
    check.labels[KEY] = "s1"
    check.model[KEY] = [Expected(role, content) for role, content in messages]
    return check


def _state(*messages: tuple[str, str], contexts: int = 1) -> DatabaseState:
    stored = tuple(StoredMessage(r, c, n) for n, (r, c) in enumerate(messages))
    return DatabaseState(
        sessions=frozenset({KEY}), messages={KEY: stored}, agent_contexts={KEY: contexts}
    )


def test_rows_as_the_model_says_are_no_finding() -> None:
    check = _checked(("user", "hi"), ("assistant", None))
    assert check.compare(_state(("user", "hi"), ("assistant", "hello"))) == []


def test_a_missing_acknowledged_message_is_a_lost_write() -> None:
    check = _checked(("user", "hi"), ("assistant", None), ("user", "again"), ("assistant", None))
    findings = check.compare(_state(("user", "hi"), ("assistant", "hello")))
    assert [o for o, _ in findings] == [Outcome.LOST_WRITE, Outcome.LOST_WRITE]
    assert "s1: acknowledged user message 2 'again'" in findings[0][1]


def test_rows_of_a_failed_request_are_a_partial_commit_and_unknown_rows_an_error() -> None:
    check = ModelCheck()
    check.labels.update({"k1": "s1", "k2": "s2"})
    check.failed["k1"] = ["lost"]
    state = DatabaseState(sessions=frozenset({"k1", "k2"}), agent_contexts={"k1": 1, "k2": 1})
    outcomes = [o for o, _ in check.compare(state)]
    assert outcomes.count(Outcome.PARTIAL_COMMIT) == 2  # s1's session row and agent context
    assert outcomes.count(Outcome.ERROR) == 2  # s2: no request of the history wrote it


def test_every_message_there_in_another_order_is_a_split_exchange() -> None:
    check = _checked(("user", "a"), ("assistant", None), ("user", "b"), ("assistant", None))
    stored = _state(("user", "a"), ("user", "b"), ("assistant", "x"), ("assistant", "y"))
    found = check.compare(stored)
    assert [o for o, _ in found] == [Outcome.SPLIT_EXCHANGE]


def test_a_gap_in_positions_and_a_dangling_key_are_errors() -> None:
    check = _checked(("user", "a"), ("assistant", None))
    gap = DatabaseState(
        sessions=frozenset({KEY}),
        messages={KEY: (StoredMessage("user", "a", 0), StoredMessage("assistant", "x", 2))},
        agent_contexts={KEY: 1},
        dangling=("messages.session_id k9 -> sessions",),
    )
    messages = [m for o, m in check.compare(gap) if o is Outcome.ERROR]
    assert any("not gapless" in m for m in messages)
    assert any("foreign key does not resolve" in m for m in messages)


def test_a_batch_adopts_the_order_the_database_committed_it_in() -> None:
    check = _checked()
    check.model[KEY] = []
    first = (Expected("user", "a"), Expected("assistant", None))
    second = (Expected("user", "b"), Expected("assistant", None))
    check.unordered[KEY] = [first, second]
    state = _state(("user", "b"), ("assistant", "y"), ("user", "a"), ("assistant", "x"))
    check.order_batches(state)
    assert check.unordered == {}
    assert check.model[KEY] == [*second, *first]
    assert check.compare(state) == []
