"""The pack's four points (`scenarios.adapter.POINTS`) fired from outside an app that has none.

Fault and interleaving scenarios need the app to stop at named points of a request. An app
written without them gets them from its adapter: wrap a repository method so the point fires
after (or before) it, wrap the session's commit for `at_commit`, or wrap the app's session
dependency. The hook travels in a context variable, which reaches the app because the
in-process transport runs the app in the caller's task (and FastAPI copies the context into
the threads that run sync dependencies).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

from scenarios.adapter import POINTS, PointHook
from scenarios.toolkit.errors import InjectedFault

AsyncFunction = Callable[..., Awaitable[Any]]


def _check(point: str) -> str:
    if point not in POINTS:
        raise ValueError(f"unknown point {point!r}; the pack's points are {', '.join(POINTS)}")
    return point


class Checkpoints:
    """One adapter's points: `hooked(hook)` around a request, wrappers inside the app."""

    def __init__(self) -> None:
        self._hook: ContextVar[PointHook | None] = ContextVar("checkpoint_hook", default=None)

    @contextmanager
    def hooked(self, hook: PointHook | None) -> Iterator[None]:
        """Install the runner's hook for the requests sent inside the block."""
        token = self._hook.set(hook)
        try:
            yield
        finally:
            self._hook.reset(token)

    async def fire(self, point: str) -> None:
        """Await the hook at `point` (it may pause); raise InjectedFault when it says fail."""
        hook = self._hook.get()
        if hook is not None and await hook(_check(point)):
            raise InjectedFault(point)

    def after(self, point: str, function: AsyncFunction) -> AsyncFunction:
        """`function`, then the point (the rows it flushed are in the session)."""
        _check(point)

        @functools.wraps(function)
        async def fired_after(*args: Any, **kwargs: Any) -> Any:
            result = await function(*args, **kwargs)
            await self.fire(point)
            return result

        return fired_after

    def before(self, point: str, function: AsyncFunction) -> AsyncFunction:
        """The point, then `function` (for `at_commit`: before the commit is sent)."""
        _check(point)

        @functools.wraps(function)
        async def fired_before(*args: Any, **kwargs: Any) -> Any:
            await self.fire(point)
            return await function(*args, **kwargs)

        return fired_before

    @contextmanager
    def patched(
        self, owner: Any, name: str, *, after: str | None = None, before: str | None = None
    ) -> Iterator[None]:
        """Wrap the async method or function `owner.name` for the block, then restore it.

        Works on a module's function, a class's method, classmethod or staticmethod.
        """
        if (after is None) == (before is None):
            raise ValueError("name exactly one of after= or before=")
        own = vars(owner).get(name) if hasattr(owner, "__dict__") else None
        original = own if own is not None else getattr(owner, name)
        descriptor = type(original) if isinstance(original, classmethod | staticmethod) else None
        function = original.__func__ if descriptor else original
        wrapped = (
            self.after(after, function)
            if after is not None
            else self.before(before or "", function)
        )
        setattr(owner, name, descriptor(wrapped) if descriptor else wrapped)
        try:
            yield
        finally:
            if own is not None:
                setattr(owner, name, own)
            else:
                delattr(owner, name)

    def fire_before_commit(self, session: Any) -> Any:
        """Make `session.commit()` fire `at_commit` first (an AsyncSession or Session-like
        object with an async `commit`); returns the session."""
        commit = session.commit
        session.commit = self.before("at_commit", commit)
        return session

    def session_dependency(
        self, dependency: Callable[..., AsyncIterator[Any]]
    ) -> Callable[..., AsyncGenerator[Any, None]]:
        """An async-generator session dependency (FastAPI's `get_db`) whose session fires
        `at_commit` before it commits; use it as `app.dependency_overrides[get_db]`."""
        managed = asynccontextmanager(dependency)

        @functools.wraps(dependency)
        async def with_commit_point(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
            async with managed(*args, **kwargs) as session:
                yield self.fire_before_commit(session)

        return with_commit_point
