"""Where the sweep strikes: every SQL statement and commit any engine issues while a request
runs is a boundary, and the fault comes just before boundary k. What a run *wrote* is not
counted here but by the session guard (`scenarios.sweep.watch`), the one notion of a write.

While a sweep runs, a statement sent to any database other than its scratch one is stopped
before it is sent (`ForeignDatabase`) and the sweep ends with a usage error: an app that was
not re-pointed is never swept against a team's real database.

The listeners sit on SQLAlchemy's `Engine` and `Session` classes, so they see every engine and
session the app makes (an AsyncEngine runs on a sync Engine, an AsyncSession on a sync Session)
without a handle on any of them. They record only while armed, and never for the sweep's own
engines (`exclude`). Sync apps run their requests in a worker thread, hence the lock.

On a MariaDB/MySQL scratch database every connection of the app gets its lock waits bounded to
about a second when it is first used (`Recorder.bound_waits`), so the incident's foreign key wait
ends as error 1205 rather than as a request that never answers; the app's code is not changed.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import OperationalError

from scenarios.databases import mask_password
from scenarios.toolkit.waits import WaitBounds, bound_mysql_connection

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

EventKind = Literal["statement", "commit", "response"]
RowKey = tuple[str, tuple[Any, ...]]  # (table name, primary key values, normalised)

SQL_SHOWN_CHARS = 120
# The app's lock waits on a MariaDB/MySQL scratch database: InnoDB's least, one second.
SWEEP_BOUNDS = WaitBounds(mysql_lock_wait_timeout_s=1)
_BOUNDED = "two_sessions_harness_bounded"  # marks a DB-API connection whose waits are bounded


class SweepFault(OperationalError):
    """The fault the sweep injects. A DBAPIError, so to the app it looks like the database
    failing the statement (or the commit), and its own error handling runs as it would."""

    def __init__(self, where: str) -> None:
        super().__init__(
            where, None, RuntimeError(f"fault injected by the atomicity sweep {where}")
        )


class ForeignDatabase(OperationalError):
    """A statement the app sent to a database other than the sweep's scratch one: stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(
            url, None, RuntimeError(f"the atomicity sweep stopped a statement to {url}")
        )


# A URL without a port means the server's default one; MariaDB's dialect names the same server.
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
_SAME_BACKEND = {"mariadb": "mysql"}


def database_key(url: str | URL) -> tuple[str, str | None, int | None, str | None]:
    """Which database a URL names, whatever its driver (aiosqlite and pysqlite alike; aiomysql,
    asyncmy, PyMySQL, `mysql://` and `mariadb://` alike, with or without the default port)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    backend = _SAME_BACKEND.get(backend, backend)
    port = parsed.port
    if port is None and parsed.host is not None:
        port = _DEFAULT_PORTS.get(backend)
    return (backend, parsed.host, port, parsed.database)


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
    _connections: dict[int, int] = field(default_factory=dict)

    def connection_ordinal(self, connection: object) -> int:
        return self._connections.setdefault(id(connection), len(self._connections) + 1)


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run: Run | None = None
        self._excluded: weakref.WeakSet[Engine] = weakref.WeakSet()
        self.seen: weakref.WeakSet[Engine] = weakref.WeakSet()  # the app's engines
        self._expected: tuple[str, str | None, int | None, str | None] | None = None
        self.foreign: list[str] = []  # masked URLs of other databases the app tried to use

    def expect_database(self, url: str | None) -> None:
        """While set, statements to any other database are stopped (None: the sweep ended)."""
        with self._lock:
            self._expected = None if url is None else database_key(url)
            self.foreign.clear()

    def check_database(self) -> None:
        """Raise the sweep's usage error when the app tried another database."""
        if self.foreign:
            from scenarios.sweep.requests import UsageError

            raise UsageError(
                f"the app used {self.foreign[0]}, not the sweep's scratch database; point it "
                "at the URL the factory gets, or name what it uses with --sessionmaker or "
                "--engine MODULE:ATTR (nothing was sent there: the statement was stopped)"
            )

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
        engine = connection.engine
        if engine in self._excluded:
            return False
        expected = self._expected
        if expected is not None:
            self.seen.add(engine)  # disposed when the sweep ends, whichever database it is on
            if database_key(engine.url) != expected:
                shown = mask_password(engine.url)
                self.foreign.append(shown)
                raise ForeignDatabase(shown)
        return self._run is not None

    def bound_waits(self, connection: Connection) -> None:
        """Bound the lock waits of an app's connection to a MariaDB/MySQL scratch database, once
        per DB-API connection, whatever engine the app made: InnoDB would otherwise wait 50 s
        for the incident's uncommitted parent row, and the run would hit the request's 30 s bound
        instead of naming error 1205 after about a second."""
        expected = self._expected
        if expected is None or expected[0] != "mysql" or connection.engine in self._excluded:
            return
        if database_key(connection.engine.url) != expected:
            return
        record = connection.connection
        if record.info.get(_BOUNDED):
            return
        dbapi = record.dbapi_connection
        if dbapi is not None:
            bound_mysql_connection(dbapi, SWEEP_BOUNDS, statements=False)
            record.info[_BOUNDED] = True


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


def _on_engine_connect(connection: Connection) -> None:
    RECORDER.bound_waits(connection)


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


def install() -> Recorder:
    """Listen once per process; listeners cost one check while the recorder is disarmed."""
    global _installed
    if not _installed:
        event.listen(Engine, "before_cursor_execute", _before_cursor_execute, retval=True)
        event.listen(Engine, "commit", _on_commit)
        event.listen(Engine, "engine_connect", _on_engine_connect)
        _installed = True
    return RECORDER
