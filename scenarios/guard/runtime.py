"""The runtime session guard: watches one unit of work (a request, a test) and reports a second
session that writes, a second pooled connection, written rows that were never committed,
connections not returned to the pool and, when the unit is a request whose response it saw, a
success response for writes that were not kept or were committed only after it was sent.

It listens to SQLAlchemy's Session, Connection and Pool events, globally, and records an event
only in the units active in the *current context* (a context variable), so concurrent units in
one event loop never see each other's work. AsyncSession runs its sync Session in a greenlet
that inherits the caller's context, so async and sync sessions are observed alike. Writes are
counted from the statements a connection sends (ORM flushes and Core statements alike).
SQLAlchemy has no event for "a session was created" or "a session is closing", so `install()`
wraps `Session.__init__` and `Session.close`.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from contextvars import Token
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from scenarios.guard.findings import GuardFinding, summarise_unit
from scenarios.guard.listeners import (
    install,
    installed,
    release,
    unflushed_rows,
    uninstall,
    unwatch,
    watch,
)
from scenarios.guard.observers import UnitObserver
from scenarios.guard.rules import (
    AFTER_RESPONSE_LANE,
    REQUEST_LANE,
    Discard,
    Held,
    UnitFacts,
    Writer,
    judge,
    lock_wait_code,
)
from scenarios.guard.sites import caller_site, format_site, request_origin

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.pool import ConnectionPoolEntry

    from scenarios.guard.listeners import UnitEvents


class GuardMode(StrEnum):
    RAISE = "raise"  # raise SessionGuardError at the end of the unit when anything was found
    COLLECT = "collect"  # keep the findings on the guard for a report


class SessionGuardError(AssertionError):
    """The unit had findings; an AssertionError so a test that trips it fails, not errors."""

    def __init__(self, label: str, findings: tuple[GuardFinding, ...], noun: str = "unit") -> None:
        self.findings = findings
        lines = [f"session guard ({label}): {summarise_unit(findings, noun)}"]
        lines += [f"  - {finding.message}" for finding in findings]
        super().__init__("\n".join(lines))


_sequence = itertools.count(1)
# Sessions opened inside some unit: one of them seen again by a later unit is the app's (a
# singleton, a registry), not a fixture's, and its leaks stay the app's findings.
_opened_in_a_unit: weakref.WeakSet[Session] = weakref.WeakSet()


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop in this thread (a worker thread, sync code)
        return None


class SessionGuard:
    """One unit of work under watch: `with SessionGuard(...)` or `async with`.

    `mode` raise (default) raises SessionGuardError at the end when anything was found;
    collect keeps `findings` (and `notes`) for the caller. `report_rollbacks` also counts rows
    discarded by an explicit rollback() as lost (off by default: rolling back a failed request
    is right; rows that a close() or the end of the unit silently discard are what nobody
    decided). A request unit that was told its response's status (`response_started`) judges
    by it: a 2xx response with writes not kept is a finding, an error response that discarded
    its writes is not. `observers` are told every event as it happens (see `observers`).
    """

    def __init__(
        self,
        mode: GuardMode | str = GuardMode.RAISE,
        *,
        label: str = "unit",
        noun: str = "unit",
        report_rollbacks: bool = False,
        on_late: Callable[[Sequence[GuardFinding]], None] | None = None,
        observers: Sequence[UnitObserver] = (),
    ) -> None:
        self.mode = GuardMode(mode)
        self.label = label
        self.noun = noun
        self.route: str | None = None  # the route template, when a middleware knows it
        self._served_route: str | None = None  # the route, as the framework's frames told it
        self.report_rollbacks = report_rollbacks
        self.on_late = on_late  # findings of tasks that outlive the unit, when they end
        self.status: int | None = None
        self.response_began = False
        self.observers: tuple[UnitObserver, ...] = tuple(observers)
        self._task: asyncio.Task[Any] | None = None
        self._sessions: dict[Session, Writer] = {}
        self._connections: dict[Connection, Writer] = {}
        self._discards: list[Discard] = []
        self._held: dict[ConnectionPoolEntry, tuple[str, int] | None] = {}
        self._held_by: dict[ConnectionPoolEntry, asyncio.Task[Any] | None] = {}
        self._peak = 0
        # DB-API connections that sessions opened outside the unit began on (a fixture's).
        self._outside_connections: set[int] = set()
        self._connections_of: dict[int, set[int]] = {}  # session id -> DB-API connections
        # Set by a caller that knows these sessions live in a scope that outlives the unit
        # (Flask-SQLAlchemy's `db.session` in an app context the test holds around a WSGI
        # request): what they hold at the end is a note.
        self.outer_scope: str | None = None
        self.scoped_sessions: tuple[Session, ...] = ()
        self._peak_site: tuple[str, int] | None = None
        self._token: Token[tuple[UnitEvents, ...]] | None = None
        self._findings: tuple[GuardFinding, ...] | None = None
        self._late: dict[asyncio.Task[Any], list[Writer]] = {}
        self._lock = threading.Lock()

    # -- the unit ---------------------------------------------------------------------------

    def __enter__(self) -> SessionGuard:
        if self._token is not None or self._findings is not None:
            raise RuntimeError("a SessionGuard watches one unit; create a new one for the next")
        install()
        self._task = _current_task()
        self._token = watch(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._token is not None, "__exit__ without __enter__"
        unwatch(self._token)
        found = self._finish()
        if self.mode is GuardMode.RAISE and found:
            error = SessionGuardError(self.label, found, self.noun)
            if exc is not None:
                exc.add_note(str(error))
                return
            raise error

    async def __aenter__(self) -> SessionGuard:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    @property
    def all_findings(self) -> tuple[GuardFinding, ...]:
        """Findings and notes; complete once the unit has ended."""
        if self._findings is None:
            return self._build(list(self._sessions.values()) + list(self._connections.values()))
        return self._findings

    @property
    def findings(self) -> tuple[GuardFinding, ...]:
        """What the unit showed that is a problem (notes excluded)."""
        return tuple(f for f in self.all_findings if not f.note)

    @property
    def notes(self) -> tuple[GuardFinding, ...]:
        """What is worth knowing and never a failure (a read-only second session)."""
        return tuple(f for f in self.all_findings if f.note)

    @property
    def summary(self) -> str:
        return summarise_unit(self.findings, self.noun)

    @property
    def running_tasks(self) -> tuple[asyncio.Task[Any], ...]:
        """Tasks other than the unit's own that opened a session in it and are still running
        (an `asyncio.create_task` the request did not await): a caller that waits for them
        before the unit ends has their sessions judged with it."""
        records = [*self._sessions.values(), *self._connections.values()]
        tasks = {r.task for r in records if r.task is not None and r.task is not self._task}
        return tuple(task for task in tasks if not task.done())

    def response_started(self, status: int | None) -> None:
        """The request's response has begun (headers sent): remember its status (None: the
        caller knows the response began, not yet its status) and what was written, or added,
        and not committed at that moment. A second call only adds the status."""
        if status is not None:
            self.status = status
        if self.response_began:
            return
        self.response_began = True
        for observer in self.observers:
            observer.response_started(status)
        for session, record in list(self._sessions.items()):
            unsaved = Counter(record.pending) + unflushed_rows(session)
            if unsaved:
                record.at_response = unsaved

    # -- events: the listeners' `UnitEvents` protocol, routed here by the context variable ---

    @property
    def observing(self) -> bool:
        return bool(self.observers)

    def session_created(self, session: Session, site: tuple[str, int] | None) -> None:
        if session in self._sessions:
            return
        task = _current_task()
        lane = AFTER_RESPONSE_LANE if self.response_began else None
        if lane is None and task is not None and self._task is not None and task is self._task:
            lane = REQUEST_LANE
        _opened_in_a_unit.add(session)
        route, via = request_origin()
        if route is not None and self._served_route is None:
            self._served_route = route  # the unit's route, also for sessions opened in its tasks
        record = self._sessions[session] = Writer(
            next(_sequence), site, task=task, lane=lane, via=via
        )
        if self._findings is not None:  # opened by a task the unit started, after its end
            self._adopt_late(record)
        for observer in self.observers:
            observer.session_opened(session, format_site(site))

    def _adopt_late(self, record: Writer) -> None:
        task = record.task
        if task is None or task.done():
            return
        record.lane = f"task {task.get_name()}"
        if task not in self._late:
            self._late[task] = []
            task.add_done_callback(self._finish_task)
        self._late[task].append(record)

    def _record(self, session: Session) -> Writer:
        record = self._sessions.get(session)
        if record is None:
            record = self._sessions[session] = Writer(
                0, None, lane=REQUEST_LANE, outside=session not in _opened_in_a_unit
            )
        return record

    def session_began(self, session: Session, connection: Connection | None = None) -> None:
        record = self._record(session)
        record.began = True
        if connection is not None:
            key = id(connection.connection.dbapi_connection)
            with self._lock:
                self._connections_of.setdefault(id(session), set()).add(key)
                if record.outside:
                    self._outside_connections.add(key)
        for observer in self.observers:
            observer.transaction_began(session)

    def _wrote(self, record: Writer, rows: Counter[str]) -> None:
        if rows:
            record.wrote = True
            record.pending.update(rows)

    def session_flushed(self, session: Session, rows: Counter[str]) -> None:
        self._wrote(self._record(session), rows)
        for observer in self.observers:
            observer.flushed(session, rows)

    def statement_sending(self, session: Session | None, sql: str, rows: int | None) -> None:
        """Every statement, before it is sent: for the observers only (writes are counted
        from `statement_written`, once they ran)."""
        for observer in self.observers:
            observer.statement(session, sql, rows)

    def statement_failed(self, session: Session | None, error: BaseException) -> None:
        if session is not None:
            code = lock_wait_code(error)
            if code is not None:
                record = self._record(session)
                record.waited = record.waited or code
        for observer in self.observers:
            observer.error(session, error)

    def statement_written(
        self, connection: Connection, session: Session | None, table: str, rows: int
    ) -> None:
        if session is not None:
            record = self._record(session)
        else:
            record = self._connections.setdefault(
                connection, Writer(next(_sequence), caller_site(), task=_current_task())
            )
            record.began = True
        self._wrote(record, Counter({table: rows}))

    def _committed(self, record: Writer | None) -> None:
        if record is None:
            return
        if record.at_response and not record.committed_after_response:
            record.committed_after_response = True
        record.pending.clear()

    def _rolled_back(self, record: Writer | None) -> None:
        if record is not None and record.pending:
            self._discards.append(Discard(record, Counter(record.pending), "rolled back"))
            record.pending.clear()

    def connection_committed(self, connection: Connection) -> None:
        self._committed(self._connections.get(connection))

    def connection_rolled_back(self, connection: Connection) -> None:
        self._rolled_back(self._connections.get(connection))

    def session_committed(self, session: Session) -> None:
        self._committed(self._sessions.get(session))
        for observer in self.observers:
            observer.committed(session)

    def session_rolled_back(self, session: Session) -> None:
        record = self._sessions.get(session)
        discarded = Counter(record.pending) if record is not None else Counter[str]()
        self._rolled_back(record)
        for observer in self.observers:
            observer.rolled_back(session, discarded)

    def session_transaction_ended(self, session: Session) -> None:
        record = self._sessions.get(session)
        uncommitted = Counter(record.pending) if record is not None else Counter[str]()
        if record is not None and record.pending:  # neither committed nor rolled back
            self._discards.append(Discard(record, Counter(record.pending), "closed"))
            record.pending.clear()
        for observer in self.observers:
            observer.transaction_ended(session, uncommitted)

    def session_closing(self, session: Session, unflushed: Counter[str]) -> None:
        self._discards.append(Discard(self._record(session), unflushed, "discarded unflushed"))

    def connection_checked_out(
        self, entry: ConnectionPoolEntry, site: tuple[str, int] | None
    ) -> None:
        with self._lock:
            self._held[entry] = site
            self._held_by[entry] = _current_task()
            if len(self._held) > self._peak:
                self._peak, self._peak_site = len(self._held), site

    def connection_checked_in(self, entry: ConnectionPoolEntry) -> None:
        with self._lock:
            self._held.pop(entry, None)
            self._held_by.pop(entry, None)

    # -- the verdict ------------------------------------------------------------------------

    def _assign_lanes(self) -> None:
        """Sessions opened in a task other than the request's are units of their own: the
        request's lane is the task of the first session the unit opened."""
        every = [*self._sessions.values(), *self._connections.values()]
        records = sorted((r for r in every if r.lane is None), key=lambda r: r.sequence)
        if any(r.lane == REQUEST_LANE and r.sequence > 0 for r in every):
            main = self._task
        else:  # the app runs in a task of its own (BaseHTTPMiddleware, a task group)
            main = records[0].task if records else None
        for record in records:
            if record.task is None or record.task is main:
                record.lane = REQUEST_LANE
            else:
                record.lane = f"task {record.task.get_name()}"

    def _finish(self) -> tuple[GuardFinding, ...]:
        self._assign_lanes()
        records = [*self._sessions.values(), *self._connections.values()]
        # A session in a task still running (one the request started and did not await, even
        # if it first ran after the response) is judged when that task ends.
        now = [
            r
            for r in records
            if r.task is None
            or r.task.done()
            or r.lane == REQUEST_LANE
            or (r.lane == AFTER_RESPONSE_LANE and r.task is self._task)
        ]
        # ... and so is a connection such a task holds: it is returned when the task is done.
        later = {id(r.task) for r in records if r not in now}
        with self._lock:
            deferred = [e for e, task in self._held_by.items() if id(task) in later]
            ended = [e for e in self._held if e not in deferred]
        self._findings = self._build(now, held=[self._held_fact(e) for e in ended])
        for record in records:
            if record not in now:
                self._adopt_late(record)
        self._let_go(ended)
        if not self._late:
            self._sessions.clear()
            self._connections.clear()
        return self.findings

    def _let_go(self, entries: Sequence[ConnectionPoolEntry]) -> None:
        """Stop following these connections: the unit (or its task) has been judged."""
        with self._lock:
            for entry in entries:
                self._held.pop(entry, None)
                self._held_by.pop(entry, None)
        release(self, entries)

    def _finish_task(self, task: asyncio.Task[Any]) -> None:
        """A task the request started has ended after the request: judge its sessions now,
        and the connections it took and did not return."""
        records = self._late.pop(task, [])
        with self._lock:
            kept = [e for e, by in self._held_by.items() if by is task]
            held = [self._held_fact(e) for e in kept]
        findings = self._build(records, include_unit_wide=False, held=held)
        self._let_go(kept)
        if self.on_late is not None and findings:
            self.on_late(findings)
        if not self._late:
            self._sessions.clear()
            self._connections.clear()

    def _held_fact(self, entry: ConnectionPoolEntry) -> Held:
        key = id(entry.dbapi_connection)
        if key in self._outside_connections:
            return Held(self._held.get(entry), outside=True)
        scoped = (self._connections_of.get(id(s), set()) for s in self.scoped_sessions)
        if self.outer_scope is not None and any(key in keys for keys in scoped):
            return Held(self._held.get(entry), outside=True, scope=self.outer_scope)
        return Held(self._held.get(entry))

    def _build(
        self,
        records: Sequence[Writer],
        *,
        include_unit_wide: bool = True,
        held: Sequence[Held] | None = None,
    ) -> tuple[GuardFinding, ...]:
        """`held`: each connection not returned (default: every one held)."""
        if held is None:
            with self._lock:
                held = [self._held_fact(e) for e in self._held]
        facts = UnitFacts(
            label=self.label,
            noun=self.noun,
            route=self.route or self._served_route,
            status=self.status,
            report_rollbacks=self.report_rollbacks,
            sessions=list(self._sessions.values()),
            discards=list(self._discards),
            held=held,
            peak=self._peak,
            peak_site=self._peak_site,
        )
        return judge(facts, records, include_unit_wide=include_unit_wide)


def session_guard(
    mode: GuardMode | str = GuardMode.RAISE,
    *,
    label: str = "unit",
    noun: str = "unit",
    report_rollbacks: bool = False,
    observers: Sequence[UnitObserver] = (),
) -> SessionGuard:
    """`with session_guard(): ...` or `async with session_guard("collect") as unit: ...`."""
    return SessionGuard(
        mode, label=label, noun=noun, report_rollbacks=report_rollbacks, observers=observers
    )


__all__ = [
    "GuardMode",
    "SessionGuard",
    "SessionGuardError",
    "UnitObserver",
    "install",
    "installed",
    "session_guard",
    "uninstall",
]
