"""What a unit sees, as it happens, for tools built on the guard (the report's timeline draws
each request from it). A `UnitObserver` given to a `SessionGuard` is called for every event the
unit records; each method does nothing by default, so an observer overrides only what it uses.

Calls come in the context of the code that caused the event (the app's task, a worker thread),
in the order SQLAlchemy fires them; an observer must be quick and must not raise.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class UnitObserver:
    """The guard's public observation interface: sessions opened, statements, flushes,
    commits, rollbacks, ends of transactions, database errors, the response's start."""

    def session_opened(self, session: Session, site: str | None) -> None:
        """A session was created in the unit, at `site` (`path:line` of the app's code)."""

    def transaction_began(self, session: Session) -> None:
        """The session began a transaction (it took a connection)."""

    def statement(self, session: Session | None, sql: str, rows: int | None) -> None:
        """A statement is about to be sent, by `session` (None: a connection used directly);
        `rows` is the number of parameter sets of an executemany, else None."""

    def flushed(self, session: Session, rows: Counter[str]) -> None:
        """The session flushed these rows (per table)."""

    def committed(self, session: Session) -> None:
        """The session committed."""

    def rolled_back(self, session: Session, discarded: Counter[str]) -> None:
        """The session rolled back, discarding these written rows (empty when none)."""

    def transaction_ended(self, session: Session, uncommitted: Counter[str]) -> None:
        """The session's outermost transaction ended; `uncommitted` are written rows it
        neither committed nor rolled back (closed with them)."""

    def error(self, session: Session | None, error: BaseException) -> None:
        """The database raised `error` for a statement of `session` (None: not a session's)."""

    def response_started(self, status: int | None) -> None:
        """The unit's response began (its status, when known)."""
