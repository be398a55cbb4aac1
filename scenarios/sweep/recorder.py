"""What the sweep observes: every SQL statement and commit any engine issues while a request
runs, and every row its sessions flush; and where it strikes: a fault just before event k.

The listeners sit on SQLAlchemy's `Engine` and `Session` classes, so they see every engine and
session the app makes (an AsyncEngine runs on a sync Engine, an AsyncSession on a sync Session)
without a handle on any of them. They record only while armed, and never for the sweep's own
engines (`exclude`). Sync apps run their requests in a worker thread, hence the lock.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, object_mapper

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import UOWTransaction

EventKind = Literal["statement", "commit", "response"]
RowKey = tuple[str, tuple[Any, ...]]  # (table name, primary key values, normalised)

SQL_SHOWN_CHARS = 120


class SweepFault(OperationalError):
    """The fault the sweep injects. A DBAPIError, so to the app it looks like the database
    failing the statement (or the commit), and its own error handling runs as it would."""

    def __init__(self, where: str) -> None:
        super().__init__(
            where, None, RuntimeError(f"fault injected by the atomicity sweep {where}")
        )


@dataclass(frozen=True)
class Event:
    """One boundary of a request: a statement about to run, a commit, or the response start."""

    index: int  # 1-based position in the request's timeline
    kind: EventKind
    sql: str  # the statement's first characters; "COMMIT"; the response status
    connection: int  # 1-based ordinal of the connection within the run (0 for the response)


def short_sql(statement: str) -> str:
    text = " ".join(statement.split())
    return text if len(text) <= SQL_SHOWN_CHARS else text[: SQL_SHOWN_CHARS - 3] + "..."


def normalise(value: Any) -> Any:
    """Key values as stored: a UUID and its 32- or 36-character text (SQLite) compare equal."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, str) and len(value) in (32, 36):
        try:
            return uuid.UUID(value).hex
        except ValueError:
            return value
    return value


@dataclass
class Run:
    """What one armed run saw."""

    fault_at: int | None  # the event index that raises, None for a run with no fault
    events: list[Event] = field(default_factory=list)
    struck: Event | None = None
    flushed: dict[RowKey, str] = field(default_factory=dict)  # key -> inserted/updated/deleted
    _connections: dict[int, int] = field(default_factory=dict)

    def connection_ordinal(self, connection: object) -> int:
        return self._connections.setdefault(id(connection), len(self._connections) + 1)


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run: Run | None = None
        self._excluded: weakref.WeakSet[Engine] = weakref.WeakSet()
        self.seen: weakref.WeakSet[Engine] = weakref.WeakSet()  # the app's engines

    def exclude(self, engine: Engine) -> None:
        """The sweep's own engine (snapshots, restores) is never observed."""
        self._excluded.add(engine)

    def arm(self, fault_at: int | None) -> Run:
        with self._lock:
            self._run = Run(fault_at)
            return self._run

    def disarm(self) -> None:
        with self._lock:
            self._run = None

    def boundary(self, kind: EventKind, sql: str, connection: object | None) -> SweepFault | None:
        """Record one event; the fault to raise when it is the chosen one."""
        with self._lock:
            run = self._run
            if run is None:
                return None
            ordinal = 0 if connection is None else run.connection_ordinal(connection)
            happened = Event(len(run.events) + 1, kind, sql, ordinal)
            run.events.append(happened)
            if run.fault_at != happened.index:
                return None
            run.struck = happened
        return SweepFault(f"before {kind} {happened.index} ({sql})")

    def watches(self, connection: Connection) -> bool:
        if self._run is None or connection.engine in self._excluded:
            return False
        self.seen.add(connection.engine)
        return True

    def flushed(self, session: Session, orphans: Sequence[object] = ()) -> None:
        """`orphans`: objects the flush deleted by a delete-orphan cascade; the session lists
        them as dirty, not deleted, and their rows are meant to be gone."""
        with self._lock:
            run = self._run
            if run is None:
                return
            gone = {id(o) for o in orphans}
            for kind, objects in (
                ("inserted", session.new),
                (
                    "updated",
                    [o for o in session.dirty if session.is_modified(o) and id(o) not in gone],
                ),
                ("deleted", [*session.deleted, *orphans]),
            ):
                for instance in objects:
                    for key in _row_keys(instance):
                        run.flushed[key] = kind


def _row_keys(instance: object) -> list[RowKey]:
    mapper = object_mapper(instance)
    state_dict = instance.__dict__
    keys: list[RowKey] = []
    for table in mapper.tables:
        values: list[Any] = []
        for column in getattr(table, "primary_key", ()):
            try:
                prop = mapper.get_property_by_column(column)
            except Exception:  # a key column the mapper does not map: nothing to check
                break
            values.append(normalise(state_dict.get(prop.key)))
        else:
            keys.append((getattr(table, "name", str(table)), tuple(values)))
    return keys


RECORDER = Recorder()
_installed = False


def _before_cursor_execute(
    connection: Connection,
    _cursor: Any,
    statement: str,
    parameters: Any,
    _context: Any,
    _executemany: bool,
) -> tuple[str, Any]:
    if RECORDER.watches(connection):
        dbapi = connection.connection.dbapi_connection
        if fault := RECORDER.boundary("statement", short_sql(statement), dbapi):
            raise fault
    return statement, parameters


def _on_commit(connection: Connection) -> None:
    """A commit that fails leaves nothing of its transaction: the fault rolls the database
    transaction back before it is raised, as a server does when COMMIT fails. (Raised alone it
    would leave the transaction open on a pooled connection that SQLAlchemy thinks is done.)"""
    if RECORDER.watches(connection):
        dbapi = connection.connection.dbapi_connection
        if fault := RECORDER.boundary("commit", "COMMIT", dbapi):
            if dbapi is not None:
                dbapi.rollback()
            raise fault


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    deleted = [
        state.obj()
        for state, (is_delete, list_only) in flush_context.states.items()
        if is_delete and not list_only and state.obj() is not None
    ]
    RECORDER.flushed(session, [o for o in deleted if o not in session.deleted])


def install() -> Recorder:
    """Listen once per process; listeners cost one check while the recorder is disarmed."""
    global _installed
    if not _installed:
        event.listen(Engine, "before_cursor_execute", _before_cursor_execute, retval=True)
        event.listen(Engine, "commit", _on_commit)
        event.listen(Session, "after_flush", _after_flush)
        _installed = True
    return RECORDER
