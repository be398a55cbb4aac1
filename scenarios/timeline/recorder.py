"""Fills a case's timeline from what the session guard sees.

Each request runs in a `RequestRecorder`: the guard's own unit (a `SessionGuard` in collect
mode, so its findings are exactly the guard's) with a `TimelineObserver` attached through the
guard's public observation interface (`scenarios.guard.UnitObserver`), which writes down, in
order, a session opened and where, a transaction begun, each statement, a flush, a commit, a
rollback, a transaction that ended holding written rows, and a database error. Only the
statement's kind and table are kept, never its parameters; error texts keep their first line,
masked by `redact`.
"""

from __future__ import annotations

import asyncio
import re
import string
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from sqlalchemy.orm import Session

from scenarios.guard import Finding, SessionGuard, UnitObserver
from scenarios.redaction import redact
from scenarios.timeline.model import HTTP_LANE, EventKind, Lane, Timeline, TimelineEvent


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


class TimelineObserver(UnitObserver):
    """Draws what one request's guard unit sees into the case's lanes: one lane per session,
    made when the session is first seen (opened in the request, or before it)."""

    def __init__(self, case: CaseRecording, label: str) -> None:
        self._case = case
        self._label = label
        self._lock = threading.Lock()
        self._lanes: dict[Session, str] = {}
        self._sites: dict[Session, str | None] = {}
        self._last: dict[Session, EventKind] = {}

    def _note(self, session: Session, kind: EventKind, text: str) -> None:
        with self._lock:
            lane = self._lanes.get(session)
            if lane is None:
                site = self._sites.get(session)
                lane = self._lanes[session] = self._case.new_session_lane(site, self._label)
            self._last[session] = kind
        self._case.add(lane, kind, text)

    def session_opened(self, session: Session, site: str | None) -> None:
        self._sites[session] = site
        self._note(session, EventKind.OPENED, "opened")

    def transaction_began(self, session: Session) -> None:
        self._note(session, EventKind.BEGIN, "begin")

    def statement(self, session: Session | None, sql: str, rows: int | None) -> None:
        if session is not None:
            self._note(session, EventKind.STATEMENT, describe_statement(sql, rows))

    def flushed(self, session: Session, rows: Counter[str]) -> None:
        self._note(session, EventKind.FLUSH, f"flush: {_rows_text(rows)}")

    def committed(self, session: Session) -> None:
        if session in self._lanes:
            self._note(session, EventKind.COMMIT, "commit")

    def rolled_back(self, session: Session, discarded: Counter[str]) -> None:
        if session in self._lanes:
            lost = f": {_rows_text(discarded)} discarded" if discarded else ""
            self._note(session, EventKind.ROLLBACK, f"rollback{lost}")

    def transaction_ended(self, session: Session, uncommitted: Counter[str]) -> None:
        if session not in self._lanes:
            return
        if uncommitted:
            self._note(
                session,
                EventKind.DISCARDED,
                f"closed without commit: {_rows_text(uncommitted)} flushed, never committed",
            )
        elif self._last.get(session) not in (EventKind.COMMIT, EventKind.ROLLBACK):
            self._note(session, EventKind.CLOSED, "closed without commit")

    def error(self, session: Session | None, error: BaseException) -> None:
        text = describe_error(error)
        if session is not None:
            self._note(session, EventKind.ERROR, text)
        else:
            self._case.add(HTTP_LANE, EventKind.ERROR, f"{self._label}: {text}")


class RequestRecorder:
    """One request as a session-guard unit (collect mode) that also draws its timeline into the
    case being recorded; outside `recording()` it is the plain guard."""

    def __init__(
        self, label: str, on_late: Callable[[Sequence[Finding]], None] | None = None
    ) -> None:
        self.label = label
        self._case = _case.get()
        observers = () if self._case is None else (TimelineObserver(self._case, label),)
        self.guard = SessionGuard(
            "collect", label=label, noun="request", observers=observers, on_late=on_late
        )

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.guard.findings

    @property
    def running_tasks(self) -> tuple[asyncio.Task[Any], ...]:
        """Tasks the request started that are still working with a session of their own."""
        return self.guard.running_tasks

    def __enter__(self) -> RequestRecorder:
        self.guard.__enter__()
        if self._case is not None:
            self._case.add(HTTP_LANE, EventKind.REQUEST, f"{self.label}: sent")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and self._case is not None:
            self._case.add(
                HTTP_LANE, EventKind.RESPONSE, f"{self.label}: no response ({exc_type.__name__})"
            )
        self.guard.__exit__(exc_type, exc, tb)

    def response_started(self) -> None:
        """The app has sent its response (the pack's after-response point) and runs on: the
        guard can tell a commit that comes after it."""
        if not self.guard.response_began:
            self.guard.response_started(None)

    def responded(self, status: int, error_code: str | None = None) -> None:
        """The client has the whole response. A success is handed to the guard, which then
        names writes it did not keep as "acknowledged but not saved" (a swallowed error, rows
        never flushed); an error status is not, so rows an error response discarded still show
        as lost writes in the matrix (the guard would call them rightly discarded)."""
        if 200 <= status < 300:
            self.guard.response_started(status)
        if self._case is not None:
            code = f" {error_code}" if error_code else ""
            self._case.add(HTTP_LANE, EventKind.RESPONSE, f"{self.label}: HTTP {status}{code}")


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


# MariaDB/MySQL: the server's error number says what SQLSTATE (HY000, 23000) does not.
_MYSQL_ERRORS = {
    1205: "lock wait timeout",
    1452: "foreign key violation",
    1213: "deadlock",
    1062: "duplicate key",
    3572: "lock not granted (NOWAIT)",
    1969: "statement time limit",
}
_MYSQL_DRIVERS = ("pymysql", "aiomysql", "asyncmy", "MySQLdb")


def _mysql_number(error: BaseException) -> int | None:
    args = getattr(error, "args", ())
    if type(error).__module__.split(".")[0] in _MYSQL_DRIVERS and args:
        return args[0] if isinstance(args[0], int) else None
    return None


def describe_error(error: BaseException) -> str:
    """The error's class, SQLSTATE, SQLite name or MySQL error number, and its first line (no
    DETAIL, which quotes key values)."""
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    sqlite_name = getattr(error, "sqlite_errorname", None)
    message = str(error).split("\n", 1)[0].split("DETAIL", 1)[0].strip()
    message = re.sub(r"^<class '([\w.]+)'>: ", "", message)[:200]
    label = _SQLSTATES.get(str(code), "") if code else ""
    tag = f"SQLSTATE {code}" if code else (str(sqlite_name) if sqlite_name else "")
    if (number := _mysql_number(error)) is not None:
        label, tag = _MYSQL_ERRORS.get(number, ""), f"MySQL error {number}"
    head = f"{label} ({tag})" if label and tag else (tag or type(error).__name__)
    return f"{head}: {message}" if message else head
