"""The load's audit can fail: given rows that break a promise, it names the broken promise.
(Without this, a clean audit of the fixed wirings would prove nothing.)"""

from __future__ import annotations

import uuid

import pytest

from benchmarks.audit import KINDS, Rows, audit, percentile
from benchmarks.load import LoadPlan, Sent
from scenarios.databases import Database
from tests.reliability.support import violations

DB = Database("sqlite", "sqlite+aiosqlite:///unused.sqlite3")
CHAT = uuid.UUID(int=1)
PLAN = LoadPlan(requests=2, sessions=1)


def _sent(index: int, status: int, code: str | None = None, positions=(), fault=None) -> Sent:
    return Sent(
        index=index,
        session_id=CHAT,
        content=f"m{index}",
        fault=fault,
        status=status,
        code=code,
        retryable=True if status in (409, 503) else None,
        detail="",
        positions=tuple(positions),
        latency_s=0.01,
    )


def _rows(*messages: tuple[str, str, int], contexts: int = 1, sessions=(CHAT,)) -> Rows:
    return Rows(
        sessions=frozenset(sessions),
        messages=tuple((CHAT, role, content, position) for role, content, position in messages),
        agent_contexts=tuple((CHAT, "{}") for _ in range(contexts)),
        orphans=(),
    )


def _kinds(sent: list[Sent], rows: Rows, longest_statement_s: float = 0.0) -> set[str]:
    result = audit("w", DB, PLAN, sent, [], rows, 1.0, longest_statement_s)
    return {kind for kind in KINDS if result.count(kind)}


def test_a_clean_run_has_no_findings() -> None:
    sent = [_sent(0, 201, positions=(0, 1)), _sent(1, 409, "SQLITE_BUSY")]
    assert _kinds(sent, _rows(("user", "m0", 0), ("assistant", "Echo: m0", 1))) == set()


@pytest.mark.parametrize(
    ("sent", "rows", "kind"),
    [
        pytest.param(
            [_sent(0, 201, positions=(0, 1))], _rows(contexts=1), "lost", id="acknowledged-lost"
        ),
        pytest.param(
            [_sent(0, 201, positions=(0, 1)), _sent(1, 409, "23505")],
            _rows(("user", "m0", 0), ("assistant", "Echo: m0", 1), ("user", "m1", 2)),
            "partial",
            id="failed-left-a-row",
        ),
        pytest.param(
            [_sent(0, 201, positions=(0, 1)), _sent(1, 500, "23503")],
            _rows(("user", "m0", 0), ("assistant", "Echo: m0", 1)),
            "unclear",
            id="failure-without-a-retryable-code",
        ),
        pytest.param(
            [_sent(0, 201, positions=(0, 2)), _sent(1, 201, positions=(1, 3))],
            _rows(
                ("user", "m0", 0),
                ("user", "m1", 1),
                ("assistant", "Echo: m0", 2),
                ("assistant", "Echo: m1", 3),
            ),
            "interleaved",
            id="reply-not-next-to-question",
        ),
        pytest.param(
            [_sent(0, 201, positions=(0, 2))],
            _rows(("user", "m0", 0), ("assistant", "Echo: m0", 2)),
            "gaps",
            id="hole-in-positions",
        ),
        pytest.param(
            [_sent(0, 201, positions=(0, 1))],
            _rows(("user", "m0", 0), ("assistant", "Echo: m0", 1), ("user", "m0", 2)),
            "duplicates",
            id="stored-twice",
        ),
        pytest.param(
            [_sent(0, 201, positions=(0, 1))],
            _rows(("user", "m0", 0), ("assistant", "Echo: m0", 1), ("user", "ghost", 2)),
            "unexplained",
            id="row-nobody-wrote",
        ),
        pytest.param([_sent(0, 0, "hang")], _rows(contexts=0, sessions=()), "hung", id="hang"),
    ],
)
def test_the_audit_names_each_broken_promise(sent: list[Sent], rows: Rows, kind: str) -> None:
    assert kind in _kinds(sent, rows)


def test_a_statement_waiting_past_the_bound_is_a_finding() -> None:
    sent = [_sent(0, 409, "SQLITE_BUSY")]
    assert _kinds(sent, _rows(contexts=0, sessions=()), longest_statement_s=5.0) == {
        "slow_statement"
    }


def test_a_slow_statement_is_a_figure_that_fails_no_test_unless_asked_for() -> None:
    """A busy machine stretches statements; the load tests must not fail on wall-clock."""
    sent = [_sent(0, 409, "SQLITE_BUSY")]
    slow = audit("w", DB, PLAN, sent, [], _rows(contexts=0, sessions=()), 1.0, 5.0)
    assert violations(slow) == []
    assert [v.split(":")[0] for v in violations(slow, timings=True)] == ["slow_statement"]


def test_an_injected_fault_is_a_clear_failure_only_for_the_request_that_carried_it() -> None:
    carried = _sent(0, 500, "injected_fault", fault="after_reply")
    stray = _sent(1, 500, "injected_fault")
    assert carried.clear_failure
    assert not stray.clear_failure


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (
        50.0,
        95.0,
        99.0,
    )
    assert percentile([], 50) == 0.0


def test_a_pool_wait_that_ran_out_is_a_clear_retryable_failure_not_a_defect() -> None:
    """On an overloaded machine requests wait past the pool's bound and get a retryable 503;
    the load tests must pass then (nothing lost), and an unnamed 503 stays unclear."""
    timed_out = _sent(0, 503, "pool_timeout")
    assert timed_out.clear_failure
    assert "unclear" not in _kinds([timed_out], _rows(contexts=0, sessions=()))
    assert not _sent(1, 503, None).clear_failure
