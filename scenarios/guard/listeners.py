"""What the session guard observes: SQLAlchemy's Session, Engine and Pool events, and the two
moments SQLAlchemy has no event for (a session created, a session closing), each routed to the
units active in the current context. One set of listeners for every unit, installed once.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

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

    from scenarios.guard.runtime import SessionGuard

# The units watching the current context (a request's task, a test), innermost last.
current_units: ContextVar[tuple[SessionGuard, ...]] = ContextVar(
    "scenarios_session_guard", default=()
)
holders_lock = threading.Lock()
# Which units hold a pooled connection (a connection may come back from another context).
holders: dict[ConnectionPoolEntry, list[SessionGuard]] = {}
# Which session a connection is working for (set when the session begins on it).
session_of: weakref.WeakKeyDictionary[Connection, Session] = weakref.WeakKeyDictionary()


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
    session_of[conn] = session
    for guard in current_units.get():
        guard._began(session, conn)


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    guards = current_units.get()
    if guards:
        rows = unflushed_rows(session)  # still listed as new/dirty/deleted in after_flush
        for guard in guards:
            guard._flushed(session, rows)


def _after_commit(session: Session) -> None:
    for guard in current_units.get():
        guard._session_committed(session)


def _after_rollback(session: Session) -> None:
    for guard in current_units.get():
        guard._session_rolled_back(session)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        for guard in current_units.get():
            guard._transaction_ended(session)


def _after_cursor_execute(
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    guards = current_units.get()
    if guards:
        table = written_table(statement, context)
        if table is not None:
            rows = rows_written(cursor, parameters, executemany)
            for guard in guards:
                guard._statement(conn, table, rows)


def _before_cursor_execute(
    conn: Connection,
    _cursor: Any,
    statement: str,
    parameters: Any,
    _context: Any,
    executemany: bool,
) -> None:
    observing = [guard for guard in current_units.get() if guard.observers]
    if observing:
        rows = len(parameters) if executemany and isinstance(parameters, list | tuple) else None
        for guard in observing:
            guard._sending(conn, statement, rows)


def _handle_error(context: ExceptionContext) -> None:
    for guard in current_units.get():
        guard._failed(context.connection, context.original_exception)


def _on_connection_commit(conn: Connection) -> None:
    if conn not in session_of:
        for guard in current_units.get():
            guard._committed(guard._connections.get(conn))


def _on_connection_rollback(conn: Connection) -> None:
    if conn not in session_of:
        for guard in current_units.get():
            guard._rolled_back(guard._connections.get(conn))


def _on_checkout(_dbapi: Any, entry: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
    guards = current_units.get()
    if guards:
        site = caller_site()
        with holders_lock:
            holders.setdefault(entry, []).extend(guards)
        for guard in guards:
            guard._checked_out(entry, site)


def _on_checkin(_dbapi: Any, entry: ConnectionPoolEntry) -> None:
    # A connection may come back from another context (a finaliser, another task), so the
    # owners are looked up by connection, not by context.
    if not holders:
        return
    with holders_lock:
        owners = holders.pop(entry, ())
    for guard in owners:
        guard._checked_in(entry)


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
    guards = current_units.get()
    if guards:
        site = caller_site(skip_init_of=self)
        for guard in guards:
            guard._created(self, site)


def _guarded_close(self: Session) -> None:
    guards = current_units.get()
    if guards:
        unflushed = unflushed_rows(self)
        if unflushed:
            for guard in guards:
                guard._closing(self, unflushed)
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
