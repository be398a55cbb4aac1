"""The runtime session guard: watches one unit of work (a request, a test) and reports a second
session, a second pooled connection, flushed rows that were never committed, and connections
not returned to the pool.

It listens to SQLAlchemy's Session and Pool events, globally, and records an event only in the
units active in the *current context* (a context variable), so concurrent units in one event
loop never see each other's work. AsyncSession runs its sync Session in a greenlet that
inherits the caller's context, so async and sync sessions are observed alike. SQLAlchemy has no
event for "a session was created", so `install()` wraps `Session.__init__` to note where each
session inside a unit was opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import itertools
import os
import sys
import threading
from collections import Counter
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.orm import Session, object_mapper
from sqlalchemy.pool import Pool

from scenarios.guard.findings import Finding, Kind, ordinal_word, summarise_unit

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import SessionTransaction
    from sqlalchemy.orm.unitofwork import UOWTransaction
    from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection


class Mode(StrEnum):
    RAISE = "raise"  # raise SessionGuardError at the end of the unit when anything was found
    COLLECT = "collect"  # keep the findings on the guard for a report


class SessionGuardError(AssertionError):
    """The unit had findings; an AssertionError so a test that trips it fails, not errors."""

    def __init__(self, label: str, findings: tuple[Finding, ...], noun: str = "unit") -> None:
        self.findings = findings
        lines = [f"session guard ({label}): {summarise_unit(findings, noun)}"]
        lines += [f"  - {finding.message}" for finding in findings]
        super().__init__("\n".join(lines))


# Frames in these places are machinery, not the code that opened a session.
_IGNORED_PREFIXES: tuple[str, ...] = (
    *(
        str(Path(path).resolve().parent) + os.sep
        for path in (sqlalchemy.__file__, asyncio.__file__, __file__)
        if path
    ),
    str(Path(contextlib.__file__).resolve()),
)
greenlet: Any
try:
    greenlet = importlib.import_module("greenlet")  # untyped; SQLAlchemy's asyncio needs it
    _IGNORED_PREFIXES += (str(Path(greenlet.__file__).resolve().parent) + os.sep,)
except ImportError:  # pragma: no cover
    greenlet = None

_ignored_cache: dict[str, bool] = {}


def _is_ignored(filename: str) -> bool:
    ignored = _ignored_cache.get(filename)
    if ignored is None:
        resolved = str(Path(filename).resolve()) if not filename.startswith("<") else filename
        ignored = resolved.startswith(_IGNORED_PREFIXES) or filename.startswith(
            ("<frozen", "<sqlalchemy")  # the stdlib's frozen modules, SQLAlchemy's generated code
        )
        _ignored_cache[filename] = ignored
    return ignored


def _generated_by_sqlalchemy(frame: FrameType) -> bool:
    """SQLAlchemy 2.0 compiles some wrappers with `exec` under the file name "<string>" (2.1
    names them "<sqlalchemy..."); their globals still name the SQLAlchemy module."""
    return frame.f_code.co_filename == "<string>" and str(
        frame.f_globals.get("__name__", "")
    ).startswith("sqlalchemy.")


def _frames(start: FrameType | None) -> Any:
    """The frames from `start` outwards; past the top of a greenlet (where AsyncSession runs
    sync code), on into the frames of the coroutine that is waiting for it."""
    frame = start
    current = greenlet.getcurrent() if greenlet is not None else None
    while True:
        while frame is not None:
            yield frame
            frame = frame.f_back
        parent = current.parent if current is not None else None
        if parent is None or parent.gr_frame is None:
            return
        frame, current = parent.gr_frame, parent


def _caller_site(skip_init_of: object | None = None) -> tuple[str, int] | None:
    """The first frame outside SQLAlchemy, contextlib, asyncio, greenlet and this guard; with
    `skip_init_of`, also past `__init__` methods of that object (a Session subclass)."""
    for frame in _frames(sys._getframe(1)):
        code = frame.f_code
        if _is_ignored(code.co_filename) or _generated_by_sqlalchemy(frame):
            continue
        if (
            skip_init_of is not None
            and code.co_name == "__init__"
            and frame.f_locals.get("self") is skip_init_of
        ):
            continue
        return code.co_filename, frame.f_lineno
    return None


def format_site(site: tuple[str, int] | None) -> str | None:
    """`path:line`, the path relative to the working directory when it lies below it."""
    if site is None:
        return None
    filename, line = site
    path = Path(filename)
    with contextlib.suppress(ValueError):
        path = path.resolve().relative_to(Path.cwd())
    return f"{path.as_posix()}:{line}"


@dataclass
class _SessionRecord:
    sequence: int  # creation order; 0 when created before the unit began
    site: tuple[str, int] | None
    began: bool = False
    in_transaction: bool = False
    pending: Counter[str] = field(default_factory=Counter)


@dataclass
class _Discard:
    record: _SessionRecord
    rows: Counter[str]
    how: str  # "closed", "rolled back", "left open"


_sequence = itertools.count(1)
_current: ContextVar[tuple[SessionGuard, ...]] = ContextVar("scenarios_session_guard", default=())
_holders_lock = threading.Lock()
_holders: dict[ConnectionPoolEntry, list[SessionGuard]] = {}


class SessionGuard:
    """One unit of work under watch: `with SessionGuard(...)` or `async with`.

    `mode` raise (default) raises SessionGuardError at the end when anything was found;
    collect keeps `findings` for the caller. `report_rollbacks` also counts rows discarded by
    an explicit rollback() as lost (off by default: rolling back a failed request is right;
    rows that a close() or the end of the unit silently discard are what nobody decided).
    """

    def __init__(
        self,
        mode: Mode | str = Mode.RAISE,
        *,
        label: str = "unit",
        noun: str = "unit",
        report_rollbacks: bool = False,
    ) -> None:
        self.mode = Mode(mode)
        self.label = label
        self.noun = noun
        self.report_rollbacks = report_rollbacks
        self._sessions: dict[Session, _SessionRecord] = {}
        self._discards: list[_Discard] = []
        self._held: dict[ConnectionPoolEntry, tuple[str, int] | None] = {}
        self._peak = 0
        self._peak_site: tuple[str, int] | None = None
        self._token: Token[tuple[SessionGuard, ...]] | None = None
        self._findings: tuple[Finding, ...] | None = None
        self._lock = threading.Lock()

    # -- the unit ---------------------------------------------------------------------------

    def __enter__(self) -> SessionGuard:
        if self._token is not None or self._findings is not None:
            raise RuntimeError("a SessionGuard watches one unit; create a new one for the next")
        install()
        self._token = _current.set((*_current.get(), self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._token is not None, "__exit__ without __enter__"
        _current.reset(self._token)
        findings = self._finish()
        if self.mode is Mode.RAISE and findings:
            error = SessionGuardError(self.label, findings, self.noun)
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
    def findings(self) -> tuple[Finding, ...]:
        """What the unit showed; complete once the unit has ended."""
        if self._findings is None:
            return self._build()
        return self._findings

    @property
    def summary(self) -> str:
        return summarise_unit(self.findings, self.noun)

    # -- events, routed here by the context variable ----------------------------------------

    def _created(self, session: Session, site: tuple[str, int] | None) -> None:
        self._sessions.setdefault(session, _SessionRecord(next(_sequence), site))

    def _record(self, session: Session) -> _SessionRecord:
        record = self._sessions.get(session)
        if record is None:
            record = self._sessions[session] = _SessionRecord(0, None)
        return record

    def _began(self, session: Session) -> None:
        record = self._record(session)
        record.began = record.in_transaction = True

    def _flushed(self, session: Session, rows: Counter[str]) -> None:
        self._record(session).pending.update(rows)

    def _committed(self, session: Session) -> None:
        record = self._sessions.get(session)
        if record is not None:
            record.pending.clear()

    def _rolled_back(self, session: Session) -> None:
        record = self._sessions.get(session)
        if record is not None and record.pending:
            if self.report_rollbacks:
                self._discards.append(_Discard(record, Counter(record.pending), "rolled back"))
            record.pending.clear()

    def _transaction_ended(self, session: Session) -> None:
        record = self._sessions.get(session)
        if record is None:
            return
        record.in_transaction = False
        if record.pending:  # neither committed nor rolled back: closed (or reset) with rows
            self._discards.append(_Discard(record, Counter(record.pending), "closed"))
            record.pending.clear()

    def _checked_out(self, entry: ConnectionPoolEntry, site: tuple[str, int] | None) -> None:
        with self._lock:
            self._held[entry] = site
            if len(self._held) > self._peak:
                self._peak, self._peak_site = len(self._held), site

    def _checked_in(self, entry: ConnectionPoolEntry) -> None:
        with self._lock:
            self._held.pop(entry, None)

    # -- the verdict ------------------------------------------------------------------------

    def _finish(self) -> tuple[Finding, ...]:
        findings = self._build()
        self._findings = findings
        with _holders_lock:
            for entry in self._held:
                owners = _holders.get(entry)
                if owners is not None and self in owners:
                    owners.remove(self)
                    if not owners:
                        del _holders[entry]
        self._sessions.clear()
        self._held.clear()
        return findings

    def _build(self) -> tuple[Finding, ...]:
        findings: list[Finding] = []
        working = sorted((r for r in self._sessions.values() if r.began), key=lambda r: r.sequence)
        if len(working) > 1:
            first = format_site(working[0].site) or "outside the unit"
            for ordinal, record in enumerate(working[1:], start=2):
                site = format_site(record.site)
                where = site or "outside the unit"
                findings.append(
                    Finding(
                        kind=Kind.EXTRA_SESSION,
                        unit=self.label,
                        message=(
                            f"{len(working)} sessions did work in one {self.noun}: the "
                            f"{ordinal_word(ordinal)} was opened at {where} (the first at {first})"
                        ),
                        site=site,
                        sessions=len(working),
                        ordinal=ordinal,
                    )
                )
        if self._peak > 1:
            site = format_site(self._peak_site)
            findings.append(
                Finding(
                    kind=Kind.EXTRA_CONNECTION,
                    unit=self.label,
                    message=(
                        f"{self._peak} pooled connections held at once in one {self.noun}; the "
                        f"last was checked out at {site or 'an unknown place'}"
                    ),
                    site=site,
                    connections=self._peak,
                )
            )
        discards = list(self._discards)
        discards += [
            _Discard(r, Counter(r.pending), "left open")
            for r in self._sessions.values()
            if r.pending
        ]
        for discard in discards:
            site = format_site(discard.record.site)
            n = sum(discard.rows.values())
            tables = ", ".join(f"{table}: {count}" for table, count in sorted(discard.rows.items()))
            ending = {
                "closed": "was closed without committing them",
                "rolled back": "was rolled back",
                "left open": "had not committed them by the end of the unit",
            }[discard.how]
            findings.append(
                Finding(
                    kind=Kind.LOST_WRITE,
                    unit=self.label,
                    message=(
                        f"{n} row{'s' if n != 1 else ''} flushed and never committed ({tables}): "
                        f"the session opened at {site or 'outside the unit'} {ending}"
                    ),
                    site=site,
                    rows=dict(discard.rows),
                )
            )
        for site_tuple in list(self._held.values()):
            site = format_site(site_tuple)
            findings.append(
                Finding(
                    kind=Kind.LEAKED_CONNECTION,
                    unit=self.label,
                    message=(
                        f"a connection checked out at {site or 'an unknown place'} was not "
                        f"returned to the pool by the end of the {self.noun}"
                    ),
                    site=site,
                )
            )
        return tuple(findings)


def session_guard(
    mode: Mode | str = Mode.RAISE,
    *,
    label: str = "unit",
    noun: str = "unit",
    report_rollbacks: bool = False,
) -> SessionGuard:
    """`with session_guard(): ...` or `async with session_guard("collect") as unit: ...`."""
    return SessionGuard(mode, label=label, noun=noun, report_rollbacks=report_rollbacks)


# -- listeners ----------------------------------------------------------------------------------


def _table_of(instance: object) -> str:
    mapper = object_mapper(instance)
    return str(getattr(mapper.local_table, "name", None) or mapper.class_.__name__)


def _flushed_rows(session: Session) -> Counter[str]:
    rows: Counter[str] = Counter()
    for instance in session.new:
        rows[_table_of(instance)] += 1
    for instance in session.deleted:
        rows[_table_of(instance)] += 1
    for instance in session.dirty:
        if session.is_modified(instance, include_collections=False):
            rows[_table_of(instance)] += 1
    return rows


def _after_begin(session: Session, _transaction: SessionTransaction, _conn: Connection) -> None:
    for guard in _current.get():
        guard._began(session)


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    guards = _current.get()
    if guards:
        rows = _flushed_rows(session)
        for guard in guards:
            guard._flushed(session, rows)


def _after_commit(session: Session) -> None:
    for guard in _current.get():
        guard._committed(session)


def _after_rollback(session: Session) -> None:
    for guard in _current.get():
        guard._rolled_back(session)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        for guard in _current.get():
            guard._transaction_ended(session)


def _on_checkout(_dbapi: Any, entry: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
    guards = _current.get()
    if guards:
        site = _caller_site()
        with _holders_lock:
            _holders.setdefault(entry, []).extend(guards)
        for guard in guards:
            guard._checked_out(entry, site)


def _on_checkin(_dbapi: Any, entry: ConnectionPoolEntry) -> None:
    # A connection may come back from another context (a finaliser, another task), so the
    # owners are looked up by connection, not by context.
    if not _holders:
        return
    with _holders_lock:
        owners = _holders.pop(entry, ())
    for guard in owners:
        guard._checked_in(entry)


_SESSION_LISTENERS: tuple[tuple[str, Any], ...] = (
    ("after_begin", _after_begin),
    ("after_flush", _after_flush),
    ("after_commit", _after_commit),
    ("after_rollback", _after_rollback),
    ("after_transaction_end", _after_transaction_end),
)
_POOL_LISTENERS: tuple[tuple[str, Any], ...] = (
    ("checkout", _on_checkout),
    ("checkin", _on_checkin),
)
_install_lock = threading.Lock()
_original_init: Any = None


def _guarded_init(self: Session, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    guards = _current.get()
    if guards:
        site = _caller_site(skip_init_of=self)
        for guard in guards:
            guard._created(self, site)


def installed() -> bool:
    return _original_init is not None


def install() -> None:
    """Listen to every Session and Pool; idempotent. Costs one context-variable read per
    event while no unit is active."""
    global _original_init
    with _install_lock:
        if _original_init is not None:
            return
        for name, listener in _SESSION_LISTENERS:
            event.listen(Session, name, listener)
        for name, listener in _POOL_LISTENERS:
            event.listen(Pool, name, listener)
        _original_init = Session.__init__
        Session.__init__ = _guarded_init  # type: ignore[method-assign]


def uninstall() -> None:
    """Undo `install()` (for overhead measurements; units already running stop seeing events)."""
    global _original_init
    with _install_lock:
        if _original_init is None:
            return
        Session.__init__ = _original_init  # type: ignore[method-assign]
        _original_init = None
        for name, listener in _SESSION_LISTENERS:
            event.remove(Session, name, listener)
        for name, listener in _POOL_LISTENERS:
            event.remove(Pool, name, listener)
