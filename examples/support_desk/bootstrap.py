"""The composition root: the one place that wires sessions, repositories and the desk.

The two wirings differ in one provider. `scoped_session` builds the thread repository on the
request's session; `fresh_session`, the buggy twin, asks the container for a *new* session for
it, so the desk commits a session that holds none of the thread's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from examples.support_desk.container import Container, Scope
from examples.support_desk.desk import EchoBot, SupportDesk
from examples.support_desk.repositories import MemoryRepository, ThreadRepository


def _thread_repository_on_request_session(scope: Scope) -> ThreadRepository:
    return ThreadRepository(scope.get(Session))


def _thread_repository_on_fresh_session(scope: Scope) -> ThreadRepository:
    return ThreadRepository(scope.new(Session))  # the bug: a second session in the request


WIRINGS: dict[str, Callable[[Scope], ThreadRepository]] = {
    "scoped_session": _thread_repository_on_request_session,
    "fresh_session": _thread_repository_on_fresh_session,
}


def bootstrap(
    bind: Engine | Connection, wiring: str = "scoped_session", **session_options: Any
) -> Container:
    """`bind` is the app's engine; a test may pass a connection and session options instead."""
    if wiring not in WIRINGS:
        raise ValueError(f"unknown wiring {wiring!r}; choose one of {sorted(WIRINGS)}")
    session_factory = sessionmaker(bind, expire_on_commit=False, **session_options)
    container = Container()
    container.register(Session, lambda scope: scope.enter(session_factory()))
    container.register(ThreadRepository, WIRINGS[wiring])
    container.register(MemoryRepository, lambda scope: MemoryRepository(scope.get(Session)))
    container.register(
        SupportDesk,
        lambda scope: SupportDesk(
            scope.get(Session), scope.get(ThreadRepository), scope.get(MemoryRepository), EchoBot()
        ),
    )
    return container
