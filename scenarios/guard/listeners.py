"""What the session guard observes: SQLAlchemy's Session, Engine and Pool events, and the two
moments SQLAlchemy has no event for (a session created, a session closing), each routed to the
units active in the current context. One set of listeners for every unit, installed once.

The arrow points one way, as nplusone's signals do: the listeners tell a unit what happened
through `UnitEvents`, its public protocol, and never read or write the unit's state; the
runtime keeps that state and knows the listeners only by `watch`, `unwatch` and `release`.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Sequence
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, object_mapper
from sqlalchemy.pool import Pool

from scenarios.guard.sites import caller_site
from scenarios.guard.statements import rows_written, written_table

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, ExceptionContext
    from sqlalchemy.orm import SessionTransaction
    from sqlalchemy.orm.unitofwork import UOWTransaction
    from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection


class UnitEvents(Protocol):
    """What a unit is told, one method per event, in the context of the code that caused it.
    The listeners call only these; what the unit keeps of them is its own business."""

    @property
    def observing(self) -> bool:
        """Whether the unit wants every statement and database error (`statement_sending`,
        `statement_failed`), not only what writes."""

    def session_created(self, session: Session, site: tuple[str, int] | None) -> None:
        """A session was created, at `site` (the app's frame)."""

    def session_began(self, session: Session, connection: Connection) -> None:
        """The session began a transaction on `connection`."""

    def session_flushed(self, session: Session, rows: Counter[str]) -> None:
        """The session flushed these rows (per table)."""

    def session_committed(self, session: Session) -> None:
        """The session committed."""

    def session_rolled_back(self, session: Session) -> None:
        """The session rolled back."""

    def session_transaction_ended(self, session: Session) -> None:
        """The session's outermost transaction ended."""

    def session_closing(self, session: Session, unflushed: Counter[str]) -> None:
        """The session is closing with these rows never flushed (called only when some are)."""

    def statement_sending(self, session: Session | None, sql: str, rows: int | None) -> None:
        """A statement is about to be sent (only to an observing unit); `session` is None for
        a connection used directly; `rows` the parameter sets of an executemany."""

    def statement_failed(self, session: Session | None, error: BaseException) -> None:
        """The database raised `error`: a unit records a lock wait that ran out (MariaDB's 1205)
        against the session, and tells its observers."""

    def statement_written(
        self, connection: Connection, session: Session | None, table: str, rows: int
    ) -> None:
        """A statement wrote `rows` rows of `table`, outside a flush (a flush's rows come
        with `session_flushed`); `session` is None for a connection used directly."""

    def connection_committed(self, connection: Connection) -> None:
        """A connection used directly (no session) committed."""

    def connection_rolled_back(self, connection: Connection) -> None:
        """A connection used directly (no session) rolled back."""

    def connection_checked_out(
        self, entry: ConnectionPoolEntry, site: tuple[str, int] | None
    ) -> None:
        """The unit took a pooled connection, at `site`."""

    def connection_checked_in(self, entry: ConnectionPoolEntry) -> None:
        """A connection the unit took came back to the pool (maybe from another context)."""


# The units watching the current context (a request's task, a test), innermost last.
_current_units: ContextVar[tuple[UnitEvents, ...]] = ContextVar(
    "scenarios_session_guard", default=()
)
_holders_lock = threading.Lock()
# Which units hold a pooled connection (a connection may come back from another context).
_holders: dict[ConnectionPoolEntry, list[UnitEvents]] = {}
# Which session a connection is working for (set when the session begins on it).
_session_of: weakref.WeakKeyDictionary[Connection, Session] = weakref.WeakKeyDictionary()


def watch(unit: UnitEvents) -> Token[tuple[UnitEvents, ...]]:
    """Route the current context's events to `unit` too (innermost last), until `unwatch`."""
    return _current_units.set((*_current_units.get(), unit))


def unwatch(token: Token[tuple[UnitEvents, ...]]) -> None:
    """Stop routing the current context's events to the unit `watch` gave `token` for."""
    _current_units.reset(token)


def release(unit: UnitEvents, entries: Sequence[ConnectionPoolEntry]) -> None:
    """`unit` no longer follows these pooled connections: their check-in is not its news."""
    with _holders_lock:
        for entry in entries:
            owners = _holders.get(entry)
            if owners is not None and unit in owners:
                owners.remove(unit)
                if not owners:
                    del _holders[entry]


def _table_of(instance: object) -> str:
    mapper = object_mapper(instance)
    return str(getattr(mapper.local_table, "name", None) or mapper.class_.__name__)


def unflushed_rows(session: Session) -> Counter[str]:
    """Rows the session would write at its next flush: new, deleted and modified objects."""
    rows: Counter[str] = Counter()
    for instance in session.new:
        rows[_table_of(instance)] += 1
    for instance in session.deleted:
        rows[_table_of(instance)] += 1
    for instance in session.dirty:
        if session.is_modified(instance, include_collections=False):
            rows[_table_of(instance)] += 1
    return rows


def _after_begin(session: Session, _transaction: SessionTransaction, conn: Connection) -> None:
    _session_of[conn] = session
    for guard in _current_units.get():
        guard.session_began(session, conn)


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    guards = _current_units.get()
    if guards:
        rows = unflushed_rows(session)  # still listed as new/dirty/deleted in after_flush
        for guard in guards:
            guard.session_flushed(session, rows)


def _after_commit(session: Session) -> None:
    for guard in _current_units.get():
        guard.session_committed(session)


def _after_rollback(session: Session) -> None:
    for guard in _current_units.get():
        guard.session_rolled_back(session)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        for guard in _current_units.get():
            guard.session_transaction_ended(session)


def _after_cursor_execute(
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    guards = _current_units.get()
    if guards:
        table = written_table(statement, context)
        if table is not None:
            session = _session_of.get(conn)
            # A flush's rows are counted by after_flush, object by object (SQLAlchemy has no
            # public flag for a flush under way).
            if session is not None and session._flushing:  # noqa: SLF001
                return
            rows = rows_written(cursor, parameters, executemany)
            for guard in guards:
                guard.statement_written(conn, session, table, rows)


def _before_cursor_execute(
    conn: Connection,
    _cursor: Any,
    statement: str,
    parameters: Any,
    _context: Any,
    executemany: bool,
) -> None:
    observing = [guard for guard in _current_units.get() if guard.observing]
    if observing:
        rows = len(parameters) if executemany and isinstance(parameters, list | tuple) else None
        session = _session_of.get(conn)
        for guard in observing:
            guard.statement_sending(session, statement, rows)


def _handle_error(context: ExceptionContext) -> None:
    units = _current_units.get()
    if units:
        conn = context.connection
        session = _session_of.get(conn) if conn is not None else None
        for guard in units:
            guard.statement_failed(session, context.original_exception)


def _on_connection_commit(conn: Connection) -> None:
    if conn not in _session_of:
        for guard in _current_units.get():
            guard.connection_committed(conn)


def _on_connection_rollback(conn: Connection) -> None:
    if conn not in _session_of:
        for guard in _current_units.get():
            guard.connection_rolled_back(conn)


def _on_checkout(_dbapi: Any, entry: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
    guards = _current_units.get()
    if guards:
        site = caller_site()
        with _holders_lock:
            _holders.setdefault(entry, []).extend(guards)
        for guard in guards:
            guard.connection_checked_out(entry, site)


def _on_checkin(_dbapi: Any, entry: ConnectionPoolEntry) -> None:
    # A connection may come back from another context (a finaliser, another task), so the
    # owners are looked up by connection, not by context.
    if not _holders:
        return
    with _holders_lock:
        owners = _holders.pop(entry, ())
    for guard in owners:
        guard.connection_checked_in(entry)


_SESSION_LISTENERS: tuple[tuple[str, Any], ...] = (
    ("after_begin", _after_begin),
    ("after_flush", _after_flush),
    ("after_commit", _after_commit),
    ("after_rollback", _after_rollback),
    ("after_transaction_end", _after_transaction_end),
)
_ENGINE_LISTENERS: tuple[tuple[str, Any], ...] = (
    ("before_cursor_execute", _before_cursor_execute),
    ("handle_error", _handle_error),
    ("after_cursor_execute", _after_cursor_execute),
    ("commit", _on_connection_commit),
    ("rollback", _on_connection_rollback),
)
_POOL_LISTENERS: tuple[tuple[str, Any], ...] = (
    ("checkout", _on_checkout),
    ("checkin", _on_checkin),
)
_install_lock = threading.Lock()
_original_init: Any = None
_original_close: Any = None


def _guarded_init(self: Session, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    guards = _current_units.get()
    if guards:
        site = caller_site(skip_init_of=self)
        for guard in guards:
            guard.session_created(self, site)


def _guarded_close(self: Session) -> None:
    guards = _current_units.get()
    if guards:
        unflushed = unflushed_rows(self)
        if unflushed:
            for guard in guards:
                guard.session_closing(self, unflushed)
    _original_close(self)


def installed() -> bool:
    return _original_init is not None


def install() -> None:
    """Listen to every Session, Engine and Pool; idempotent. Costs one context-variable read
    per event while no unit is active."""
    global _original_init, _original_close
    with _install_lock:
        if _original_init is not None:
            return
        for name, listener in _SESSION_LISTENERS:
            event.listen(Session, name, listener)
        for name, listener in _ENGINE_LISTENERS:
            event.listen(Engine, name, listener)
        for name, listener in _POOL_LISTENERS:
            event.listen(Pool, name, listener)
        _original_init, _original_close = Session.__init__, Session.close
        Session.__init__ = _guarded_init  # type: ignore[method-assign]
        Session.close = _guarded_close  # type: ignore[method-assign]


def uninstall() -> None:
    """Undo `install()` (for overhead measurements; units already running stop seeing events)."""
    global _original_init, _original_close
    with _install_lock:
        if _original_init is None:
            return
        Session.__init__ = _original_init  # type: ignore[method-assign]
        Session.close = _original_close  # type: ignore[method-assign]
        _original_init = _original_close = None
        for name, listener in _SESSION_LISTENERS:
            event.remove(Session, name, listener)
        for name, listener in _ENGINE_LISTENERS:
            event.remove(Engine, name, listener)
        for name, listener in _POOL_LISTENERS:
            event.remove(Pool, name, listener)
