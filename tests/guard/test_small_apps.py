"""The guard on small apps written here, sync and async: the write that was never committed, the
connection never returned, and the unit boundary (concurrent units do not mix)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, String, create_engine, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as make_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from scenarios.databases import Database
from scenarios.guard import GuardFinding, Kind, SessionGuardError, session_guard
from tests.guard.conftest import count_rows, line_of

THIS_FILE = Path(__file__)
HERE = "tests/guard/test_small_apps.py"


def site_of(tag: str) -> str:
    """Where the line tagged `# site: TAG` is, as the guard prints it."""
    return f"{HERE}:{line_of(THIS_FILE, f'# site: {tag}')}"


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "guard_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    """A pooled engine on the parametrised database with an empty `guard_notes` table."""
    engine = make_async_engine(database.url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
            await connection.execute(text("DELETE FROM guard_notes"))
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sync_engine(tmp_path: Path) -> Iterator[Engine]:
    """A sync engine on a SQLite file (its own connections, never :memory:)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'notes.sqlite3'}")
    Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


# -- a small async app: a service that opens its own session (the bug) or uses the caller's -----


class NoteService:
    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self._maker = maker

    async def add_in_own_session(self, text: str) -> None:
        async with self._maker() as own:  # site: extra session
            own.add(Note(text=text))
            await own.flush()


async def handle_request(maker: async_sessionmaker[AsyncSession], text: str) -> None:
    async with maker() as db:  # the request's session
        await db.execute(Note.__table__.select())
        await NoteService(maker).add_in_own_session(text)
        await db.commit()


async def test_async_lost_write_names_table_rows_and_where_the_session_was_opened(
    engine: AsyncEngine, database: Database
) -> None:
    maker = async_sessionmaker(engine)
    async with session_guard("collect", label="request") as unit:
        await handle_request(maker, "lost")

    lost = [f for f in unit.findings if f.kind is Kind.LOST_WRITE]
    assert [(f.site, dict(f.rows)) for f in lost] == [
        (site_of("extra session"), {"guard_notes": 1})
    ]
    assert "was closed without committing them" in lost[0].message
    extra = [f for f in unit.findings if f.kind is Kind.EXTRA_SESSION]
    assert [f.site for f in extra] == [site_of("extra session")]
    assert await count_rows(database, "guard_notes") == 0


async def test_async_committed_write_is_no_finding(engine: AsyncEngine) -> None:
    maker = async_sessionmaker(engine)
    async with session_guard("collect") as unit, maker() as db:
        db.add(Note(text="kept"))
        await db.commit()
    assert unit.findings == ()


async def test_explicit_rollback_is_a_decision_unless_rollbacks_are_reported(
    engine: AsyncEngine,
) -> None:
    maker = async_sessionmaker(engine)

    async def flush_then_roll_back() -> None:
        async with maker() as db:  # site: rolled back
            db.add_all([Note(text="a"), Note(text="b")])
            await db.flush()
            await db.rollback()

    async with session_guard("collect") as lenient:
        await flush_then_roll_back()
    async with session_guard("collect", report_rollbacks=True) as strict:
        await flush_then_roll_back()

    assert lenient.findings == ()
    assert [(f.kind, dict(f.rows)) for f in strict.findings] == [
        (Kind.LOST_WRITE, {"guard_notes": 2})
    ]
    assert strict.findings[0].site == site_of("rolled back")


async def test_async_leaked_connection_names_where_it_was_checked_out(
    engine: AsyncEngine,
) -> None:
    async with session_guard("collect") as unit:
        leaked = await engine.connect()  # site: async leak
        await leaked.execute(text("SELECT 1"))
    await leaked.close()

    assert [(f.kind, f.site) for f in unit.findings] == [
        (Kind.LEAKED_CONNECTION, site_of("async leak"))
    ]


async def test_two_connections_held_at_once_that_only_read_are_a_note(engine: AsyncEngine) -> None:
    async with (
        session_guard("collect") as unit,
        engine.connect() as first,
        engine.connect() as second,
    ):
        await first.execute(text("SELECT 1"))
        await second.execute(text("SELECT 1"))
    assert unit.findings == ()
    assert [(f.kind, f.connections) for f in unit.notes] == [(Kind.EXTRA_CONNECTION, 2)]


async def test_a_second_connection_that_writes_is_reported(engine: AsyncEngine) -> None:
    async with (
        session_guard("collect") as unit,
        engine.connect() as first,
        engine.connect() as second,
    ):
        await first.execute(text("SELECT 1"))
        await second.execute(insert(Note).values(text="core"))
        await second.commit()
    assert [(f.kind, f.connections) for f in unit.findings] == [(Kind.EXTRA_CONNECTION, 2)]
    assert unit.notes == ()


async def test_connections_used_one_after_another_are_no_finding(engine: AsyncEngine) -> None:
    async with session_guard("collect") as unit:
        for _ in range(3):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    assert unit.findings == ()


async def test_concurrent_units_in_one_event_loop_do_not_mix(engine: AsyncEngine) -> None:
    """The buggy request and a correct one interleave step by step; only the buggy one is
    reported, and the correct one sees none of its rows or sessions."""
    maker = async_sessionmaker(engine)
    buggy_began, correct_began = asyncio.Event(), asyncio.Event()
    # Events, not a sleep: the buggy unit opens its second session while the correct unit holds
    # flushed rows, however busy the machine. (Its flush may wait for the correct unit's commit
    # on SQLite, so the correct unit waits only for the session to open.)
    second_opened = asyncio.Event()

    async def buggy() -> tuple[GuardFinding, ...]:
        async with session_guard("collect", label="buggy") as unit, maker() as db:
            await db.execute(text("SELECT 1"))
            buggy_began.set()
            await correct_began.wait()
            async with maker() as own:  # site: buggy second
                second_opened.set()
                own.add(Note(text="lost"))
                await own.flush()  # site: buggy flush
            await db.commit()
        return unit.findings

    async def correct() -> tuple[GuardFinding, ...]:
        async with session_guard("collect", label="correct") as unit:
            await buggy_began.wait()
            async with maker() as db:
                db.add(Note(text="kept"))
                await db.flush()
                correct_began.set()
                await second_opened.wait()
                await db.commit()
        return unit.findings

    buggy_findings, correct_findings = await asyncio.gather(buggy(), correct())
    assert correct_findings == ()
    assert [(f.kind, f.site) for f in buggy_findings] == [
        (Kind.EXTRA_SESSION, site_of("buggy second")),
        (Kind.EXTRA_CONNECTION, site_of("buggy flush")),
        (Kind.LOST_WRITE, site_of("buggy second")),
    ]
    assert {f.unit for f in buggy_findings} == {"buggy"}


async def test_a_session_opened_before_the_unit_then_one_committing_writer_is_silent(
    engine: AsyncEngine,
) -> None:
    """A session opened before the unit (a fixture's) that reads, and one session of the unit
    that writes and commits: one writer, nothing lost (issue 26); the read is a note."""
    maker = async_sessionmaker(engine)
    async with maker() as outer, session_guard("collect") as unit:
        await outer.execute(text("SELECT 1"))
        async with maker() as inner:  # site: opened inside
            inner.add(Note(text="second"))
            await inner.commit()
        await outer.commit()  # returns its connection inside the unit
    assert unit.findings == ()
    assert "opened outside the unit" in unit.notes[0].message


async def test_a_session_opened_before_the_unit_counts_when_the_other_loses_writes(
    engine: AsyncEngine,
) -> None:
    """The buggy twin: the unit's own session writes and never commits."""
    maker = async_sessionmaker(engine)
    async with maker() as outer, session_guard("collect") as unit:
        await outer.execute(text("SELECT 1"))
        async with maker() as inner:  # site: inner never committed
            inner.add(Note(text="second"))
            await inner.flush()  # site: second connection
        await outer.commit()
    assert [(f.kind, f.site) for f in unit.findings] == [
        (Kind.EXTRA_SESSION, site_of("inner never committed")),
        (Kind.EXTRA_CONNECTION, site_of("second connection")),
        (Kind.LOST_WRITE, site_of("inner never committed")),
    ]
    assert "the first at outside the unit" in unit.findings[0].message


async def test_a_connection_held_by_a_session_of_the_test_is_a_note(engine: AsyncEngine) -> None:
    """The test's own session (handed to the app) holds its connection past the request:
    never the request's doing (issue 26: 31 findings in 27 clean tests)."""
    maker = async_sessionmaker(engine)
    async with maker() as db, session_guard("collect") as unit:
        await db.execute(text("SELECT 1"))  # site: held past the unit
    assert unit.findings == ()
    assert [(f.kind, f.site) for f in unit.notes] == [
        (Kind.LEAKED_CONNECTION, site_of("held past the unit"))
    ]


async def test_a_connection_still_held_when_the_unit_ends_is_a_leak(engine: AsyncEngine) -> None:
    maker = async_sessionmaker(engine)
    async with session_guard("collect") as unit:
        db = maker()
        await db.execute(text("SELECT 1"))  # site: leaked inside the unit
    await db.close()
    assert [(f.kind, f.site) for f in unit.findings] == [
        (Kind.LEAKED_CONNECTION, site_of("leaked inside the unit"))
    ]


async def test_raise_mode_keeps_the_original_error_and_adds_the_findings_as_a_note(
    engine: AsyncEngine,
) -> None:
    held: list[AsyncConnection] = []

    async def failing_request() -> None:
        async with session_guard():
            held.append(await engine.connect())
            raise LookupError("the app's own failure")

    with pytest.raises(LookupError) as raised:
        await failing_request()
    await held[0].close()
    assert any("was not returned to the pool" in note for note in raised.value.__notes__)


def test_findings_are_plain_json() -> None:
    finding = GuardFinding(
        Kind.LOST_WRITE, "request", "2 rows flushed", site="app.py:3", rows={"notes": 2}
    )
    encoded = json.dumps(finding.as_dict())
    assert GuardFinding.from_dict(json.loads(encoded)) == finding


# -- the same, sync ------------------------------------------------------------------------------


class NoteRepository:
    def __init__(self, maker: sessionmaker[Session]) -> None:
        self._maker = maker

    def add(self, text: str) -> None:
        db = self._maker()  # site: sync extra
        db.add(Note(text=text))
        db.flush()  # site: sync flush
        db.close()


def test_sync_lost_write_and_second_session(sync_engine: Engine) -> None:
    maker = sessionmaker(sync_engine)
    with session_guard("collect") as unit, maker() as db:
        db.execute(text("SELECT 1"))
        NoteRepository(maker).add("lost")
        db.commit()

    assert [(f.kind, f.site, dict(f.rows)) for f in unit.findings] == [
        (Kind.EXTRA_SESSION, site_of("sync extra"), {}),
        (Kind.EXTRA_CONNECTION, site_of("sync flush"), {}),
        (Kind.LOST_WRITE, site_of("sync extra"), {"guard_notes": 1}),
    ]
    with sync_engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM guard_notes")) == 0


def test_sync_leaked_connection(sync_engine: Engine) -> None:
    with session_guard("collect") as unit:
        leaked = sync_engine.connect()  # site: sync leak
    leaked.close()
    assert [(f.kind, f.site) for f in unit.findings] == [
        (Kind.LEAKED_CONNECTION, site_of("sync leak"))
    ]


def test_sync_raise_mode_raises_at_the_end_of_the_unit(sync_engine: Engine) -> None:
    maker = sessionmaker(sync_engine)

    def lose_a_row() -> None:
        with session_guard(label="sync unit"), maker() as db:  # flushes, then closes
            db.add(Note(text="lost"))
            db.flush()

    with pytest.raises(SessionGuardError, match="1 row flushed and never committed"):
        lose_a_row()


def test_sync_correct_unit_is_silent(sync_engine: Engine) -> None:
    maker = sessionmaker(sync_engine)
    with session_guard() as unit, maker() as db:
        db.add(Note(text="kept"))
        db.commit()
    with session_guard() as begun, maker.begin() as db:
        db.add(Note(text="kept too"))
    assert unit.findings == begun.findings == ()


def test_two_sessions_that_each_commit_are_a_split_commit(sync_engine: Engine) -> None:
    """Sequential sessions that both write and commit: one unit, two transactions."""
    maker = sessionmaker(sync_engine)
    with session_guard("collect") as unit:
        with maker.begin() as db:
            db.add(Note(text="first"))
        with maker.begin() as db:  # site: begin
            db.add(Note(text="second"))
    assert [(f.kind, f.site) for f in unit.findings] == [(Kind.SPLIT_COMMIT, site_of("begin"))]


def test_a_read_then_one_committing_writer_is_silent(sync_engine: Engine) -> None:
    """Issue 26: a short session that reads, then one that writes and commits."""
    maker = sessionmaker(sync_engine)
    with session_guard() as unit:  # raise mode: a finding would fail this test
        with maker() as db:
            db.execute(text("SELECT 1"))
        with maker.begin() as db:
            db.add(Note(text="second"))
    assert [f.kind for f in unit.notes] == [Kind.READ_ONLY_SESSION]


def test_a_second_session_that_only_reads_is_a_note_never_a_finding(sync_engine: Engine) -> None:
    """Teams open read-only sessions on purpose (a lookup, a permission check)."""
    maker = sessionmaker(sync_engine)
    with session_guard() as unit:  # raise mode: a finding would fail this test
        with maker() as db:
            db.add(Note(text="kept"))
            db.commit()
        with maker() as lookup:  # site: read-only lookup
            lookup.execute(text("SELECT count(*) FROM guard_notes"))
    assert unit.findings == ()
    assert [(f.kind, f.site) for f in unit.notes] == [
        (Kind.READ_ONLY_SESSION, site_of("read-only lookup"))
    ]


class AuditedSession(Session):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.info["audited"] = True


def test_site_of_a_session_subclass_is_its_caller_not_its_init(sync_engine: Engine) -> None:
    maker = sessionmaker(sync_engine, class_=AuditedSession)
    with session_guard("collect") as unit, maker() as first:
        first.execute(text("SELECT 1"))
        second = maker()  # site: subclass caller
        second.add(Note(text="audited"))
        second.flush()
        second.close()
    assert [f.site for f in unit.findings if f.kind is Kind.EXTRA_SESSION] == [
        site_of("subclass caller")
    ]
