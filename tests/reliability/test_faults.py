"""A fault at every injection point, for every wiring: nothing of the failed request persists,
except commit_in_save's documented partial commit, which is asserted row by row and counted."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from benchmarks.audit import Rows, read_rows
from benchmarks.load import seed_history, send_one, serving
from reference_app.wirings import WIRINGS
from scenarios.adapter import POINTS
from scenarios.databases import Database
from tests.reliability.conftest import ReliabilityReport

# commit_in_save commits each save: by `after_reply` the reply's save has committed the agent
# context too. These are the rows a failure at each point leaves behind (DESIGN.md: fix 2).
COMMITTED_BEFORE = {
    "after_user_message": {"user"},
    "after_agent_context": {"user"},
    "after_reply": {"user", "assistant", "agent_context"},
    "at_commit": {"user", "assistant", "agent_context"},
}


def _added(before: Rows, after: Rows) -> Counter[tuple[object, ...]]:
    return after.contents() - before.contents()


def _removed(before: Rows, after: Rows) -> Counter[tuple[object, ...]]:
    return before.contents() - after.contents()


def _partial_commit(point: str, existing: uuid.UUID, new: uuid.UUID) -> Counter[tuple[object, ...]]:
    committed = COMMITTED_BEFORE[point]
    rows: list[tuple[object, ...]] = [
        ("session", new),
        ("message", existing, "user", "fails in an existing chat", 2),
        ("message", new, "user", "fails in a new chat", 0),
    ]
    if "assistant" in committed:
        rows += [
            ("message", existing, "assistant", "Echo: fails in an existing chat", 3),
            ("message", new, "assistant", "Echo: fails in a new chat", 1),
        ]
    if "agent_context" in committed:
        rows.append(("agent_context", new, '{"turns": 1}'))
    return Counter(rows)


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("wiring", list(WIRINGS))
async def test_a_fault_at_each_point_leaves_nothing_of_the_failed_request(
    clean_database: Database,
    wiring: str,
    point: str,
    reliability_report: ReliabilityReport,
) -> None:
    existing, new = uuid.uuid4(), uuid.uuid4()
    await seed_history(clean_database, [existing])
    before = await read_rows(clean_database)
    async with serving(clean_database, wiring) as app:
        on_existing = await send_one(app.client, 0, existing, "fails in an existing chat", point)
        on_new = await send_one(app.client, 1, new, "fails in a new chat", point)
    after = await read_rows(clean_database)
    added = _added(before, after)
    reliability_report.faults.append(
        {
            "db": clean_database.kind,
            "wiring": wiring,
            "point": point,
            "responses": [on_existing.describe(), on_new.describe()],
            "rows_left_by_failed_requests": sum(added.values()),
        }
    )

    assert _removed(before, after) == Counter()
    assert not on_existing.acknowledged
    assert not on_new.acknowledged
    if wiring == "two_sessions":
        # A new chat fails at the agent context before later points (FK on Postgres, the
        # repository's lock on SQLite); an existing chat reaches the fault. Nothing is stored.
        assert on_existing.code == "injected_fault"
        assert on_new.code in {"injected_fault", "23503", "SQLITE_BUSY"}
    else:
        assert on_existing.code == on_new.code == "injected_fault"
    if wiring == "commit_in_save":
        assert added == _partial_commit(point, existing, new)
    else:
        assert added == Counter()
