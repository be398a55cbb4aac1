"""The runner records each case's timeline through the session guard and the engine: one lane
per session with where it was opened, statement kinds and tables in order, flushes, commit or
rollback, the error on the lane it struck, and the HTTP responses on a lane of their own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from reference_app.adapter import TARGET
from scenarios.case_result import CaseResult
from scenarios.databases import Database
from scenarios.runner import run_case
from scenarios.scenario import load_pack
from scenarios.timeline import EventKind, RequestRecorder, Timeline, recording
from scenarios.timeline.model import HTTP_LANE
from scenarios.timeline.recorder import describe_error, describe_statement
from tests.guard.conftest import second_session_site

PACK = {s.name: s for s in load_pack()}


async def run_scenario(database: Database, wiring: str, name: str) -> CaseResult:
    scenario = PACK[name]
    interleaving = scenario.interleavings()[0]
    async with TARGET.open(wiring, database) as target:
        return await run_case(
            target,
            scenario,
            interleaving,
            wiring=wiring,
            db=database.kind,
            expected=TARGET.expected_outcome(name, interleaving.id, wiring, database.kind),
        )


def session_lanes(timeline: Timeline) -> list[str]:
    return [lane.id for lane in timeline.lanes if lane.id != HTTP_LANE]


def texts(timeline: Timeline, lane: str, kind: EventKind | None = None) -> list[str]:
    return [e.text for e in timeline.on(lane) if kind is None or e.kind is kind]


async def test_two_sessions_draws_the_second_session_losing_the_messages(
    database: Database,
) -> None:
    result = await run_scenario(database, "two_sessions", "first_message_new_session")

    timeline = result.timeline
    assert timeline is not None
    assert session_lanes(timeline) == ["A", "B"]
    second = next(lane for lane in timeline.lanes if lane.site == second_session_site())
    request = next(lane for lane in timeline.lanes if lane.id not in (HTTP_LANE, second.id))
    # Session B inserts the chat session and the user's message, flushes, and is closed
    # holding them; the request's session A hits the error inserting the agent context.
    assert "INSERT messages" in texts(timeline, second.id, EventKind.STATEMENT)
    assert "INSERT sessions" in texts(timeline, second.id, EventKind.STATEMENT)
    assert texts(timeline, second.id, EventKind.FLUSH)
    assert texts(timeline, second.id, EventKind.DISCARDED) == [
        "closed without commit: messages 1, sessions 1 flushed, never committed"
    ]
    assert texts(timeline, second.id, EventKind.COMMIT) == []
    errors = [e for e in timeline.events if e.kind is EventKind.ERROR]
    assert [e.lane for e in errors] == [request.id]
    code = {"postgresql": "SQLSTATE 23503", "sqlite": "SQLITE_BUSY"}[database.kind]
    assert code in errors[0].text
    statements = texts(timeline, request.id, EventKind.STATEMENT)
    assert statements[-1] == "INSERT agent_contexts"  # the statement the error struck
    kinds = [e.kind for e in timeline.events]
    assert kinds.index(EventKind.ERROR) < kinds.index(EventKind.DISCARDED)
    status = {"postgresql": "HTTP 500 23503", "sqlite": "HTTP 409 SQLITE_BUSY"}[database.kind]
    assert texts(timeline, HTTP_LANE) == ["r1: sent", f"r1: {status}"]


async def test_two_sessions_commits_the_wrong_session_in_an_existing_chat(
    database: Database,
) -> None:
    result = await run_scenario(database, "two_sessions", "message_to_existing_session")

    assert result.observed == "lost_write"
    timeline = result.timeline
    assert timeline is not None
    second = next(lane for lane in timeline.lanes if lane.site == second_session_site())
    request = next(lane for lane in timeline.lanes if lane.id not in (HTTP_LANE, second.id))
    assert texts(timeline, request.id, EventKind.COMMIT) == ["commit"]
    assert "INSERT messages" in texts(timeline, second.id, EventKind.STATEMENT)
    assert texts(timeline, second.id, EventKind.DISCARDED)
    kinds = [(e.lane, e.kind) for e in timeline.events]
    assert kinds.index((request.id, EventKind.COMMIT)) < kinds.index(
        (second.id, EventKind.DISCARDED)
    )
    assert texts(timeline, HTTP_LANE)[-1].endswith("HTTP 201")


async def test_a_fixed_wiring_fails_in_one_session_and_loses_nothing_silently(
    database: Database,
) -> None:
    result = await run_scenario(database, "commit_in_save", "fault_after_reply")

    assert result.observed == "partial_commit"
    timeline = result.timeline
    assert timeline is not None
    units = [lane.unit for lane in timeline.lanes if lane.id != HTTP_LANE]
    assert units == ["failing", "next"]  # one session per request
    assert [e for e in timeline.events if e.kind is EventKind.DISCARDED] == []
    assert texts(timeline, "A", EventKind.COMMIT)  # save(commit=True) committed part of it
    assert "failing: HTTP 500 injected_fault" in texts(timeline, HTTP_LANE)


async def test_ok_cells_keep_no_timeline(database: Database) -> None:
    result = await run_scenario(database, "shared_session", "first_message_new_session")

    assert result.observed == "ok"
    assert result.timeline is None


async def test_timelines_hold_no_values(database: Database) -> None:
    result = await run_scenario(database, "two_sessions", "first_message_new_session")

    assert result.timeline is not None
    drawn = json.dumps(result.timeline.as_dict())
    content = PACK["first_message_new_session"].requests[0].content
    assert content
    assert content not in drawn
    assert "Key (" not in drawn  # Postgres's DETAIL line quotes the key's value
    assert result.timeline == Timeline.from_dict(json.loads(drawn))


@pytest.mark.parametrize(
    ("sql", "label"),
    [
        ("INSERT INTO messages (id, content) VALUES ($1, $2)", "INSERT messages"),
        ('SELECT sessions.id FROM "sessions" WHERE sessions.id = $1', "SELECT sessions"),
        ("UPDATE sessions SET title=? WHERE id = ?", "UPDATE sessions"),
        ("DELETE FROM agent_contexts WHERE id = 'secret'", "DELETE agent_contexts"),
        ("\n  select 1", "SELECT"),
    ],
)
def test_statements_are_labelled_by_kind_and_table(sql: str, label: str) -> None:
    assert describe_statement(sql) == label


def test_error_labels_drop_detail_and_passwords() -> None:
    class ForeignKeyError(Exception):
        sqlstate = "23503"

    error = ForeignKeyError(
        'insert or update on table "agent_contexts" violates foreign key constraint "fk"\n'
        'DETAIL:  Key (session_db_id)=(5a6c) is not present in table "sessions".'
    )
    assert describe_error(error) == (
        "foreign key violation (SQLSTATE 23503): insert or update on table "
        '"agent_contexts" violates foreign key constraint "fk"'
    )
    from scenarios.timeline.recorder import CaseRecording

    case = CaseRecording()
    case.add(HTTP_LANE, EventKind.ERROR, "could not connect to postgresql://app:hunter2@db/x")
    assert "hunter2" not in json.dumps(case.timeline().as_dict())


def test_a_request_that_raises_is_drawn_without_a_response() -> None:
    with recording() as case, pytest.raises(RuntimeError), RequestRecorder("r1"):
        raise RuntimeError("boom")

    assert texts(case.timeline(), HTTP_LANE) == ["r1: sent", "r1: no response (RuntimeError)"]


def test_a_sync_session_is_drawn_too_and_outside_a_case_nothing_is(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'sync.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
    try:
        with recording() as case, RequestRecorder("r1") as unit:
            with Session(engine) as session:
                session.execute(text("INSERT INTO notes (id) VALUES (1)"))
                session.commit()
            unit.responded(201)
        with RequestRecorder("outside") as plain, Session(engine) as session:
            session.execute(text("INSERT INTO notes (id) VALUES (2)"))
            session.commit()
    finally:
        engine.dispose()

    timeline = case.timeline()
    assert session_lanes(timeline) == ["A"]
    assert texts(timeline, "A") == ["opened", "begin", "INSERT notes", "commit"]
    assert texts(timeline, HTTP_LANE) == ["r1: sent", "r1: HTTP 201"]
    assert unit.findings == ()
    assert plain.findings == ()
    assert "outside" not in json.dumps(timeline.as_dict())
