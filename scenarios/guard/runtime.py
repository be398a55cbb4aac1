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
from collections import Counter
from collections.abc import Callable, Sequence
from contextvars import Token
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from scenarios.guard.findings import Finding, Kind, ordinal_word, summarise_unit
from scenarios.guard.listeners import (
    current_units,
    holders,
    holders_lock,
    install,
    installed,
    session_of,
    unflushed_rows,
    uninstall,
)
from scenarios.guard.sites import caller_site, dependency_path, format_site

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.pool import ConnectionPoolEntry


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


REQUEST_LANE = "request"
AFTER_RESPONSE_LANE = "after the response"


@dataclass
class _Writer:
    """A session (or a connection used outside any session) seen in a unit."""

    sequence: int  # creation order; 0 when created before the unit began
    site: tuple[str, int] | None
    task: asyncio.Task[Any] | None = None  # the task that opened it, when in an event loop
    lane: str | None = None  # REQUEST_LANE, AFTER_RESPONSE_LANE or "task NAME"; None: undecided
    via: tuple[str, ...] = ()  # FastAPI Depends parameters that asked for it
    began: bool = False
    wrote: bool = False
    pending: Counter[str] = field(default_factory=Counter)  # written, not yet committed
    at_response: Counter[str] | None = None  # not yet committed when the response started
    committed_after_response: bool = False


@dataclass
class _Discard:
    record: _Writer
    rows: Counter[str]
    how: str  # "closed", "rolled back", "left open", "discarded before flushing"


_sequence = itertools.count(1)


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
    its writes is not.
    """

    def __init__(
        self,
        mode: Mode | str = Mode.RAISE,
        *,
        label: str = "unit",
        noun: str = "unit",
        report_rollbacks: bool = False,
        on_late: Callable[[Sequence[Finding]], None] | None = None,
    ) -> None:
        self.mode = Mode(mode)
        self.label = label
        self.noun = noun
        self.route: str | None = None  # the route template, when a middleware knows it
        self.report_rollbacks = report_rollbacks
        self.on_late = on_late  # findings of tasks that outlive the unit, when they end
        self.status: int | None = None
        self._task: asyncio.Task[Any] | None = None
        self._sessions: dict[Session, _Writer] = {}
        self._connections: dict[Connection, _Writer] = {}
        self._discards: list[_Discard] = []
        self._held: dict[ConnectionPoolEntry, tuple[str, int] | None] = {}
        self._peak = 0
        self._peak_site: tuple[str, int] | None = None
        self._token: Token[tuple[SessionGuard, ...]] | None = None
        self._findings: tuple[Finding, ...] | None = None
        self._late: dict[asyncio.Task[Any], list[_Writer]] = {}
        self._lock = threading.Lock()

    # -- the unit ---------------------------------------------------------------------------

    def __enter__(self) -> SessionGuard:
        if self._token is not None or self._findings is not None:
            raise RuntimeError("a SessionGuard watches one unit; create a new one for the next")
        install()
        self._task = _current_task()
        self._token = current_units.set((*current_units.get(), self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._token is not None, "__exit__ without __enter__"
        current_units.reset(self._token)
        found = self._finish()
        if self.mode is Mode.RAISE and found:
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
    def all_findings(self) -> tuple[Finding, ...]:
        """Findings and notes; complete once the unit has ended."""
        if self._findings is None:
            return self._build(list(self._sessions.values()) + list(self._connections.values()))
        return self._findings

    @property
    def findings(self) -> tuple[Finding, ...]:
        """What the unit showed that is a problem (notes excluded)."""
        return tuple(f for f in self.all_findings if not f.note)

    @property
    def notes(self) -> tuple[Finding, ...]:
        """What is worth knowing and never a failure (a read-only second session)."""
        return tuple(f for f in self.all_findings if f.note)

    @property
    def summary(self) -> str:
        return summarise_unit(self.findings, self.noun)

    def response_started(self, status: int) -> None:
        """The request's response has begun (headers sent): remember its status and what was
        written, or added, and not committed at that moment."""
        self.status = status
        for session, record in list(self._sessions.items()):
            unsaved = Counter(record.pending) + unflushed_rows(session)
            if unsaved:
                record.at_response = unsaved

    # -- events, routed here by the context variable ----------------------------------------

    def _created(self, session: Session, site: tuple[str, int] | None) -> None:
        if session in self._sessions:
            return
        task = _current_task()
        lane = AFTER_RESPONSE_LANE if self.status is not None else None
        if lane is None and task is not None and self._task is not None and task is self._task:
            lane = REQUEST_LANE
        record = self._sessions[session] = _Writer(
            next(_sequence), site, task=task, lane=lane, via=dependency_path()
        )
        if self._findings is not None:  # opened by a task the unit started, after its end
            self._adopt_late(record)

    def _adopt_late(self, record: _Writer) -> None:
        task = record.task
        if task is None or task.done():
            return
        record.lane = f"task {task.get_name()}"
        if task not in self._late:
            self._late[task] = []
            task.add_done_callback(self._finish_task)
        self._late[task].append(record)

    def _record(self, session: Session) -> _Writer:
        record = self._sessions.get(session)
        if record is None:
            record = self._sessions[session] = _Writer(0, None, lane=REQUEST_LANE)
        return record

    def _began(self, session: Session) -> None:
        self._record(session).began = True

    def _wrote(self, record: _Writer, rows: Counter[str]) -> None:
        if rows:
            record.wrote = True
            record.pending.update(rows)

    def _flushed(self, session: Session, rows: Counter[str]) -> None:
        self._wrote(self._record(session), rows)

    def _statement(self, connection: Connection, table: str, rows: int) -> None:
        session = session_of.get(connection)
        if session is not None:
            if session._flushing:  # counted by after_flush, object by object
                return
            record = self._record(session)
        else:
            record = self._connections.setdefault(
                connection, _Writer(next(_sequence), caller_site(), task=_current_task())
            )
            record.began = True
        self._wrote(record, Counter({table: rows}))

    def _committed(self, record: _Writer | None) -> None:
        if record is None:
            return
        if record.at_response and not record.committed_after_response:
            record.committed_after_response = True
        record.pending.clear()

    def _rolled_back(self, record: _Writer | None) -> None:
        if record is not None and record.pending:
            self._discards.append(_Discard(record, Counter(record.pending), "rolled back"))
            record.pending.clear()

    def _transaction_ended(self, session: Session) -> None:
        record = self._sessions.get(session)
        if record is not None and record.pending:  # neither committed nor rolled back
            self._discards.append(_Discard(record, Counter(record.pending), "closed"))
            record.pending.clear()

    def _closing(self, session: Session, unflushed: Counter[str]) -> None:
        self._discards.append(_Discard(self._record(session), unflushed, "discarded unflushed"))

    def _checked_out(self, entry: ConnectionPoolEntry, site: tuple[str, int] | None) -> None:
        with self._lock:
            self._held[entry] = site
            if len(self._held) > self._peak:
                self._peak, self._peak_site = len(self._held), site

    def _checked_in(self, entry: ConnectionPoolEntry) -> None:
        with self._lock:
            self._held.pop(entry, None)

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

    def _finish(self) -> tuple[Finding, ...]:
        self._assign_lanes()
        records = [*self._sessions.values(), *self._connections.values()]
        now = [
            r
            for r in records
            if r.task is None or r.lane in (REQUEST_LANE, AFTER_RESPONSE_LANE) or r.task.done()
        ]
        self._findings = self._build(now)
        for record in records:
            if record not in now:
                self._adopt_late(record)
        with holders_lock:
            for entry in self._held:
                owners = holders.get(entry)
                if owners is not None and self in owners:
                    owners.remove(self)
                    if not owners:
                        del holders[entry]
        if not self._late:
            self._sessions.clear()
            self._connections.clear()
        self._held.clear()
        return self.findings

    def _finish_task(self, task: asyncio.Task[Any]) -> None:
        """A task the request started has ended after the request: judge its sessions now."""
        records = self._late.pop(task, [])
        findings = self._build(records, include_unit_wide=False)
        if self.on_late is not None and findings:
            self.on_late(findings)
        if not self._late:
            self._sessions.clear()
            self._connections.clear()

    def _unit_label(self, lane: str | None) -> str:
        if lane in (None, REQUEST_LANE):
            return self.label
        return f"{self.label} ({lane})"

    def _where(self, record: _Writer) -> str:
        site = format_site(record.site) or "outside the unit"
        return f"{site} ({self._via(record)})" if self._via(record) else site

    def _via(self, record: _Writer) -> str | None:
        parts = [f"route {self.route}"] if self.route else []
        if record.via:
            parts.append("Depends: " + " -> ".join(record.via))
        return ", ".join(parts) or None

    def _build(
        self, records: Sequence[_Writer], *, include_unit_wide: bool = True
    ) -> tuple[Finding, ...]:
        findings: list[Finding] = []
        lanes: dict[str | None, list[_Writer]] = {}
        for record in records:
            lanes.setdefault(record.lane, []).append(record)
        for lane, members in lanes.items():
            findings += self._extra_sessions(lane, members)
        if include_unit_wide:
            findings += self._extra_connections(records)
        findings += self._lost_writes(records)
        findings += self._early_responses(records)
        if include_unit_wide:
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
                        status=self.status,
                    )
                )
        return tuple(findings)

    def _extra_sessions(self, lane: str | None, members: list[_Writer]) -> list[Finding]:
        sessions = set(map(id, self._sessions.values()))
        working = sorted(
            (r for r in members if r.began and id(r) in sessions), key=lambda r: r.sequence
        )
        found: list[Finding] = []
        if len(working) < 2:
            return found
        first = self._where(working[0])
        noun = self.noun if lane in (None, REQUEST_LANE) else f"{self.noun}'s {lane}"
        for ordinal, record in enumerate(working[1:], start=2):
            site = format_site(record.site)
            what = "did work" if record.wrote else "did work, the extra one only reading"
            found.append(
                Finding(
                    kind=Kind.EXTRA_SESSION if record.wrote else Kind.READ_ONLY_SESSION,
                    unit=self._unit_label(lane),
                    message=(
                        f"{len(working)} sessions {what} in one {noun}: the "
                        f"{ordinal_word(ordinal)} was opened at {self._where(record)} "
                        f"(the first at {first})"
                    ),
                    site=site,
                    sessions=len(working),
                    ordinal=ordinal,
                    note=not record.wrote,
                    via=self._via(record),
                    status=self.status,
                )
            )
        return found

    def _extra_connections(self, records: Sequence[_Writer]) -> list[Finding]:
        if self._peak < 2:
            return []
        site = format_site(self._peak_site)
        sessions = set(map(id, self._sessions.values()))
        working = sorted(
            (r for r in records if r.began and id(r) in sessions), key=lambda r: r.sequence
        )
        bare_wrote = any(r.wrote for r in records if id(r) not in sessions)
        extra_wrote = bare_wrote or any(r.wrote for r in working[1:])
        return [
            Finding(
                kind=Kind.EXTRA_CONNECTION,
                unit=self.label,
                message=(
                    f"{self._peak} pooled connections held at once in one {self.noun}; the "
                    f"last was checked out at {site or 'an unknown place'}"
                    + ("" if extra_wrote else " (the extra ones only read: a note)")
                ),
                site=site,
                connections=self._peak,
                note=not extra_wrote,
                status=self.status,
            )
        ]

    def _lost_writes(self, records: Sequence[_Writer]) -> list[Finding]:
        acknowledged = self.status is not None and 200 <= self.status < 400
        ids = set(map(id, records))
        discards = [d for d in self._discards if id(d.record) in ids]
        discards += [_Discard(r, Counter(r.pending), "left open") for r in records if r.pending]
        found: list[Finding] = []
        for discard in discards:
            record = discard.record
            in_request = record.lane in (None, REQUEST_LANE)
            if self.status is not None and record.sequence == 0:
                continue  # the test's own session (a fixture's), not the request's
            if acknowledged and in_request:
                found.append(self._acknowledged(discard))
            elif self.status is not None and in_request:
                continue  # an error response whose writes were discarded: as it should be
            elif discard.how in ("closed", "left open") or (
                discard.how == "rolled back" and self.report_rollbacks
            ):
                found.append(self._lost(discard))
        return found

    def _lost(self, discard: _Discard) -> Finding:
        site = format_site(discard.record.site)
        n = sum(discard.rows.values())
        ending = {
            "closed": "was closed without committing them",
            "rolled back": "was rolled back",
            "left open": f"had not committed them by the end of the {self.noun}",
        }[discard.how]
        return Finding(
            kind=Kind.LOST_WRITE,
            unit=self._unit_label(discard.record.lane),
            message=(
                f"{n} row{'s' if n != 1 else ''} flushed and never committed "
                f"({_tables(discard.rows)}): the session opened at "
                f"{self._where(discard.record)} {ending}"
            ),
            site=site,
            rows=dict(discard.rows),
            via=self._via(discard.record),
            status=self.status,
        )

    def _acknowledged(self, discard: _Discard) -> Finding:
        record = discard.record
        n = sum(discard.rows.values())
        ending = {
            "closed": "were still uncommitted when it was closed",
            "rolled back": "were rolled back",
            "left open": f"were still uncommitted at the end of the {self.noun}",
            "discarded unflushed": "were added but never flushed: the session was closed",
        }[discard.how]
        early = " (the response had started before any commit)" if record.at_response else ""
        return Finding(
            kind=Kind.ACKNOWLEDGED_NOT_SAVED,
            unit=self._unit_label(record.lane),
            message=(
                f"acknowledged but not saved: the response was {self.status}, yet "
                f"{n} row{'s' if n != 1 else ''} ({_tables(discard.rows)}) written by the "
                f"session opened at {self._where(record)} {ending}{early}"
            ),
            site=format_site(record.site),
            rows=dict(discard.rows),
            via=self._via(record),
            status=self.status,
        )

    def _early_responses(self, records: Sequence[_Writer]) -> list[Finding]:
        found: list[Finding] = []
        for record in records:
            if not (record.committed_after_response and record.at_response):
                continue
            if record.sequence == 0:
                continue
            n = sum(record.at_response.values())
            found.append(
                Finding(
                    kind=Kind.RESPONSE_BEFORE_COMMIT,
                    unit=self._unit_label(record.lane),
                    message=(
                        f"response sent before commit: the response ({self.status}) started "
                        f"while {n} row{'s' if n != 1 else ''} ({_tables(record.at_response)}) "
                        f"of the session opened at {self._where(record)} were not committed; "
                        "it committed after the client had its answer, so a failed commit "
                        "would lose what the client was told was saved"
                    ),
                    site=format_site(record.site),
                    rows=dict(record.at_response),
                    via=self._via(record),
                    status=self.status,
                )
            )
        return found


def _tables(rows: Counter[str]) -> str:
    return ", ".join(f"{table}: {count}" for table, count in sorted(rows.items()))


def session_guard(
    mode: Mode | str = Mode.RAISE,
    *,
    label: str = "unit",
    noun: str = "unit",
    report_rollbacks: bool = False,
) -> SessionGuard:
    """`with session_guard(): ...` or `async with session_guard("collect") as unit: ...`."""
    return SessionGuard(mode, label=label, noun=noun, report_rollbacks=report_rollbacks)


__all__ = [
    "Mode",
    "SessionGuard",
    "SessionGuardError",
    "install",
    "installed",
    "session_guard",
    "uninstall",
]
