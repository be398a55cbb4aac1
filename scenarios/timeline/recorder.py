"""Fills a case's timeline from SQLAlchemy events, reusing the session guard.

Each request runs in a `RequestRecorder`: the guard's own unit (a `SessionGuard` in collect
mode, so its findings are exactly the guard's) that also writes down, in order, what the guard
sees: a session created and where, a transaction begun, a flush, a commit, a rollback, a
transaction that ended holding flushed rows. Statements and database errors come from two
engine events the guard does not need (`before_cursor_execute`, `handle_error`), routed to the
session that began a transaction on that connection. Only the statement's kind and table are
kept, never its parameters; error texts keep their first line, masked by `redact`.
"""

from __future__ import annotations

import re
import string
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from scenarios.guard.runtime import SessionGuard, format_site
from scenarios.redaction import redact
from scenarios.timeline.model import HTTP_LANE, EventKind, Lane, Timeline, TimelineEvent

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, ExceptionContext
    from sqlalchemy.orm import SessionTransaction


class CaseRecording:
    """The timeline of one case while it runs; requests running side by side write into it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lanes: list[Lane] = [Lane(HTTP_LANE, "HTTP responses")]
        self._events: list[TimelineEvent] = []

    def new_session_lane(self, site: str | None, unit: str) -> str:
        with self._lock:
            n = len(self._lanes) - 1
            letter = string.ascii_uppercase[n % 26] + (str(n // 26 + 1) if n >= 26 else "")
            where = f"opened at {site}" if site else "opened before the request"
            self._lanes.append(Lane(letter, f"session {letter} ({unit}): {where}", site, unit))
            return letter

    def add(self, lane: str, kind: EventKind, text: str) -> None:
        with self._lock:
            self._events.append(TimelineEvent(lane, kind, redact(text)))

    def timeline(self) -> Timeline:
        with self._lock:
            return Timeline(tuple(self._lanes), tuple(self._events))


_case: ContextVar[CaseRecording | None] = ContextVar("scenarios_timeline_case", default=None)
_recorders: ContextVar[tuple[RequestRecorder, ...]] = ContextVar(
    "scenarios_timeline_recorders", default=()
)


@contextmanager
def recording() -> Iterator[CaseRecording]:
    """Record the timelines of the requests run inside (by `RequestRecorder`) into one case."""
    case = CaseRecording()
    token = _case.set(case)
    try:
        yield case
    finally:
        _case.reset(token)


def _rows_text(rows: Counter[str]) -> str:
    return ", ".join(f"{table} {n}" for table, n in sorted(rows.items())) or "no rows"


class RequestRecorder(SessionGuard):
    """One request as a session-guard unit (collect mode) that also draws its timeline into the
    case being recorded; outside `recording()` it is the plain guard."""

    def __init__(self, label: str) -> None:
        super().__init__("collect", label=label, noun="request")
        self._case = _case.get()
        self._lanes: dict[Session, str] = {}
        self._sessions_on: dict[Connection, Session] = {}
        self._last: dict[Session, EventKind] = {}
        self._token_recorders: Token[tuple[RequestRecorder, ...]] | None = None

    def __enter__(self) -> RequestRecorder:
        super().__enter__()
        if self._case is not None:
            _install_engine_listeners()
            self._token_recorders = _recorders.set((*_recorders.get(), self))
            self._case.add(HTTP_LANE, EventKind.REQUEST, f"{self.label}: sent")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token_recorders is not None:
            _recorders.reset(self._token_recorders)
            if exc_type is not None and self._case is not None:
                self._case.add(
                    HTTP_LANE,
                    EventKind.RESPONSE,
                    f"{self.label}: no response ({exc_type.__name__})",
                )
        super().__exit__(exc_type, exc, tb)

    def responded(self, status: int, error_code: str | None = None) -> None:
        if self._case is not None:
            code = f" {error_code}" if error_code else ""
            self._case.add(HTTP_LANE, EventKind.RESPONSE, f"{self.label}: HTTP {status}{code}")

    # -- what the guard sees, written down as well -------------------------------------------

    def _note(self, session: Session, kind: EventKind, text: str) -> None:
        if self._case is None:
            return
        lane = self._lanes.get(session)
        if lane is None:
            record = self._sessions.get(session)
            site = format_site(record.site) if record is not None else None
            lane = self._lanes[session] = self._case.new_session_lane(site, self.label)
        self._last[session] = kind
        self._case.add(lane, kind, text)

    def _created(self, session: Session, site: tuple[str, int] | None) -> None:
        super()._created(session, site)
        self._note(session, EventKind.OPENED, "opened")

    def _connected(self, session: Session, connection: Connection) -> None:
        self._sessions_on[connection] = session

    def _began(self, session: Session) -> None:
        super()._began(session)
        self._note(session, EventKind.BEGIN, "begin")

    def _flushed(self, session: Session, rows: Counter[str]) -> None:
        super()._flushed(session, rows)
        self._note(session, EventKind.FLUSH, f"flush: {_rows_text(rows)}")

    def _committed(self, session: Session) -> None:
        super()._committed(session)
        if session in self._lanes:
            self._note(session, EventKind.COMMIT, "commit")

    def _rolled_back(self, session: Session) -> None:
        record = self._sessions.get(session)
        pending = Counter(record.pending) if record is not None else Counter[str]()
        super()._rolled_back(session)
        if session in self._lanes:
            lost = f": {_rows_text(pending)} discarded" if pending else ""
            self._note(session, EventKind.ROLLBACK, f"rollback{lost}")

    def _transaction_ended(self, session: Session) -> None:
        record = self._sessions.get(session)
        pending = Counter(record.pending) if record is not None else Counter[str]()
        super()._transaction_ended(session)
        if session not in self._lanes:
            return
        if pending:
            self._note(
                session,
                EventKind.DISCARDED,
                f"closed without commit: {_rows_text(pending)} flushed, never committed",
            )
        elif self._last.get(session) not in (EventKind.COMMIT, EventKind.ROLLBACK):
            self._note(session, EventKind.CLOSED, "closed without commit")

    def _statement(self, connection: Connection, text: str) -> None:
        session = self._sessions_on.get(connection)
        if session is not None:
            self._note(session, EventKind.STATEMENT, text)

    def _error(self, connection: Connection | None, text: str) -> None:
        session = self._sessions_on.get(connection) if connection is not None else None
        if session is not None:
            self._note(session, EventKind.ERROR, text)
        elif self._case is not None:
            self._case.add(HTTP_LANE, EventKind.ERROR, f"{self.label}: {text}")


# -- statements and errors, as labels -----------------------------------------------------------

_TABLE = re.compile(r'\b(?:INTO|UPDATE|FROM|TABLE)\s+((?:"[^"]+"|[\w.]+))', re.IGNORECASE)


def describe_statement(sql: str, rows: int | None = None) -> str:
    """`INSERT messages`, `SELECT sessions`, `UPDATE sessions x3`: kind and table, no values."""
    words = sql.lstrip(" \t\r\n(").split(None, 1)
    kind = words[0].upper() if words else "?"
    match = _TABLE.search(sql)
    table = match.group(1).strip('"') if match else ""
    text = f"{kind} {table}".strip()
    return f"{text} x{rows}" if rows and rows > 1 else text


_SQLSTATES = {
    "23503": "foreign key violation",
    "23505": "unique violation",
    "55P03": "lock timeout",
}


def describe_error(error: BaseException) -> str:
    """The error's class, SQLSTATE or SQLite name, and its first line (no DETAIL, which quotes
    key values)."""
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    sqlite_name = getattr(error, "sqlite_errorname", None)
    message = str(error).split("\n", 1)[0].split("DETAIL", 1)[0].strip()
    message = re.sub(r"^<class '([\w.]+)'>: ", "", message)[:200]
    label = _SQLSTATES.get(str(code), "") if code else ""
    tag = f"SQLSTATE {code}" if code else (str(sqlite_name) if sqlite_name else "")
    head = f"{label} ({tag})" if label and tag else (tag or type(error).__name__)
    return f"{head}: {message}" if message else head


def _before_cursor_execute(
    conn: Connection,
    _cursor: Any,
    statement: str,
    parameters: Any,
    _context: Any,
    executemany: bool,
) -> None:
    recorders = _recorders.get()
    if recorders:
        rows = len(parameters) if executemany and isinstance(parameters, list | tuple) else None
        text = describe_statement(statement, rows)
        for recorder in recorders:
            recorder._statement(conn, text)


def _handle_error(context: ExceptionContext) -> None:
    recorders = _recorders.get()
    if recorders:
        text = describe_error(context.original_exception)
        for recorder in recorders:
            recorder._error(context.connection, text)


def _after_begin(session: Session, _transaction: SessionTransaction, conn: Connection) -> None:
    for recorder in _recorders.get():
        recorder._connected(session, conn)


_install_lock = threading.Lock()
_installed = False


def _install_engine_listeners() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        event.listen(Engine, "before_cursor_execute", _before_cursor_execute)
        event.listen(Engine, "handle_error", _handle_error)
        event.listen(Session, "after_begin", _after_begin)
        _installed = True
