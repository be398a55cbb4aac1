"""What one run of a request wrote, kept and failed on, as the session guard sees it.

The sweep has no notion of a write of its own: each run is one unit of the session guard
(`scenarios.guard.SessionGuard`, collect mode), which counts the statements every session and
connection sends (ORM flushes, Core `insert`/`update`/`delete`, executemany alike) and knows which
were committed. So the sweep and the guard cannot disagree: a 2xx whose writes the guard saw
discarded is a lost write here too, named with the `file:line` of the session that lost them.

The unit's observer also keeps the first database error the driver raised (not the sweep's own
fault), with its code (SQLSTATE or SQLite name) and the statement's kind and table: the cause a
verdict names, instead of whatever the app put in its response body.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from scenarios.guard import GuardFinding, Kind, SessionGuard, UnitObserver
from scenarios.redaction import redact
from scenarios.sweep.recorder import SweepFault
from scenarios.timeline.recorder import describe_error, describe_statement
from scenarios.toolkit.errors import driver_error_code

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# The guard's findings that mean "rows written and not kept".
LOST_KINDS = frozenset({Kind.ACKNOWLEDGED_NOT_SAVED, Kind.LOST_WRITE})


@dataclass(frozen=True)
class DatabaseError:
    """The driver's error for one statement: what a verdict says instead of a response body."""

    code: str | None  # SQLSTATE ("23503") or SQLite error name ("SQLITE_BUSY")
    statement: str  # kind and table: "INSERT agent_contexts"
    text: str  # the error's class, code and first line (no DETAIL: it quotes key values)

    def describe(self) -> str:
        return redact(f"{self.text} (on {self.statement})" if self.statement else self.text)


def _is_sweep_fault(error: BaseException) -> bool:
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, SweepFault):
            return True
        current = current.__cause__ or current.__context__
    return False


class _ErrorObserver(UnitObserver):
    """The statement each session (or bare connection) last sent, and the errors after it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[int, str] = {}
        self.errors: list[DatabaseError] = []

    def statement(self, session: Session | None, sql: str, rows: int | None) -> None:
        with self._lock:
            self._last[id(session)] = describe_statement(sql, rows)

    def error(self, session: Session | None, error: BaseException) -> None:
        if _is_sweep_fault(error):
            return
        with self._lock:
            statement = self._last.get(id(session), "")
            self.errors.append(
                DatabaseError(driver_error_code(error), statement, describe_error(error))
            )


class RunWatch:
    """One run of a request as one guard unit: `with RunWatch(label) as watch: ...`, telling it
    `responded(status)` when the app starts a response the client will get."""

    def __init__(self, label: str) -> None:
        self._errors = _ErrorObserver()
        self.guard = SessionGuard("collect", label=label, noun="request", observers=[self._errors])

    def __enter__(self) -> RunWatch:
        self.guard.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.guard.__exit__(exc_type, exc, tb)

    def responded(self, status: int) -> None:
        if self.guard.status is None:
            self.guard.response_started(status)

    @property
    def lost(self) -> tuple[GuardFinding, ...]:
        """The guard's findings of rows written and not kept (once the run has ended)."""
        return tuple(f for f in self.guard.findings if f.kind in LOST_KINDS)

    @property
    def errors(self) -> tuple[DatabaseError, ...]:
        return tuple(self._errors.errors)

    @property
    def cause(self) -> str | None:
        """The first database error of the run, said in one line; None when there was none."""
        return self._errors.errors[0].describe() if self._errors.errors else None
