"""The sweep's own parts: the restore puts back rows and sequences, the diff names rows by key,
and the cap samples boundaries without ever dropping a commit or the response."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, insert, text

from scenarios.databases import Database
from scenarios.sweep.recorder import Event
from scenarios.sweep.runner import choose_boundaries
from scenarios.sweep.snapshot import diff, open_own_engine, reflect, restore, shape, take

metadata = MetaData()
parents = Table(
    "sweep_parents", metadata, Column("id", Integer, primary_key=True), Column("name", String(20))
)
children = Table(
    "sweep_children",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("parent_id", ForeignKey("sweep_parents.id")),
)


async def test_restore_brings_back_rows_and_the_next_generated_id(database: Database) -> None:
    engine = open_own_engine(database.url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
            await connection.run_sync(metadata.create_all)
            await connection.execute(insert(parents), [{"name": "a"}, {"name": "b"}])
            await connection.execute(insert(children), [{"parent_id": 1}])
        async with engine.connect() as connection:
            tables = [t for t in await reflect(connection) if t.name.startswith("sweep_")]
            before = await take(connection, tables)
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM sweep_children"))
            await connection.execute(text("UPDATE sweep_parents SET name = 'z' WHERE id = 2"))
            await connection.execute(insert(parents), [{"name": "c"}])
        async with engine.connect() as connection:
            changed = await take(connection, tables)
        changes = diff(before, changed)
        assert sorted(c.describe() for c in changes) == [
            "sweep_children(1) deleted",
            "sweep_parents(2) updated",
            "sweep_parents(3) inserted",
        ]
        assert shape(changes)[("sweep_parents", "inserted")] == 1

        async with engine.connect() as connection:
            await restore(connection, before)
            assert diff(before, await take(connection, tables)) == []
        async with engine.begin() as connection:
            new_id = (
                await connection.execute(insert(parents).values(name="d"))
            ).inserted_primary_key
        assert new_id == (3,), "the id the request got the first time, not one later"
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
        await engine.dispose()


def _timeline(statements: int, commits_at: tuple[int, ...]) -> list[Event]:
    events: list[Event] = []
    for _ in range(statements):
        events.append(Event(len(events) + 1, "statement", "SELECT 1", 1))
        if len(events) in commits_at:
            events.append(Event(len(events) + 1, "commit", "COMMIT", 1))
    events.append(Event(len(events) + 1, "response", "HTTP 201", 0))
    return events


def test_every_boundary_runs_under_the_cap() -> None:
    timeline = _timeline(5, (3,))
    assert choose_boundaries(timeline, 200) == (timeline, False)


def test_above_the_cap_an_even_sample_keeps_every_commit_and_the_response() -> None:
    timeline = _timeline(500, (100, 301))
    chosen, sampled = choose_boundaries(timeline, 20)
    assert sampled
    assert len(chosen) == 20
    kinds = [event.kind for event in chosen]
    assert kinds.count("commit") == 2
    assert kinds[-1] == "response"
    statements = [event.index for event in chosen if event.kind == "statement"]
    assert statements[0] == 1
    assert statements[-1] == timeline[-2].index
    assert [event.index for event in chosen] == sorted({event.index for event in chosen})
