"""The guard's public observation interface: an observer given to a unit is told, in order,
what the unit sees (the report's timeline is built on it, not on the guard's internals)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scenarios.guard import SessionGuard, UnitObserver


class Log(UnitObserver):
    def __init__(self) -> None:
        self.events: list[str] = []

    def session_opened(self, session: Session, site: str | None) -> None:
        self.events.append(f"opened {site}")

    def transaction_began(self, session: Session) -> None:
        self.events.append("began")

    def statement(self, session: Session | None, sql: str, rows: int | None) -> None:
        self.events.append(f"statement {sql.split()[0]} by {'session' if session else 'none'}")

    def committed(self, session: Session) -> None:
        self.events.append("committed")

    def rolled_back(self, session: Session, discarded: Counter[str]) -> None:
        self.events.append(f"rolled back {dict(discarded)}")

    def transaction_ended(self, session: Session, uncommitted: Counter[str]) -> None:
        self.events.append(f"ended {dict(uncommitted)}")

    def error(self, session: Session | None, error: BaseException) -> None:
        self.events.append(f"error {type(error).__name__}")

    def response_started(self, status: int | None) -> None:
        self.events.append(f"response {status}")


def test_an_observer_is_told_each_event_in_order(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'notes.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
    log = Log()
    try:
        with SessionGuard("collect", observers=[log]) as unit:
            with Session(engine) as session:
                session.execute(text("INSERT INTO notes (id) VALUES (1)"))
                session.commit()
                session.execute(text("INSERT INTO notes (id) VALUES (2)"))
                with pytest.raises(IntegrityError):
                    session.execute(text("INSERT INTO notes (id) VALUES (2)"))
                session.rollback()
            unit.response_started(201)
            unit.response_started(201)  # told once
    finally:
        engine.dispose()

    line = next(
        n for n, t in enumerate(Path(__file__).read_text().splitlines(), 1) if "as session:" in t
    )
    assert log.events == [
        f"opened tests/guard/test_observers.py:{line}",
        "began",
        "statement INSERT by session",
        "committed",
        "ended {}",
        "began",
        "statement INSERT by session",
        "statement INSERT by session",
        "error IntegrityError",
        "rolled back {'notes': 1}",
        "ended {}",
        "response 201",
    ]


def test_work_outside_the_observed_unit_is_not_told(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'notes.db'}")
    log = Log()
    try:
        with SessionGuard("collect", observers=[log]):
            pass
        with SessionGuard("collect"), Session(engine) as session:  # another unit, unobserved
            session.execute(text("SELECT 1"))
        with Session(engine) as session:  # no unit at all
            session.execute(text("SELECT 1"))
    finally:
        engine.dispose()

    assert log.events == []
