"""Named points of the chain where a test may pause a request or inject a fault.

A harness installs a hook in the request's context; the app awaits it at each point. With no
hook installed a checkpoint costs one context-variable lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from enum import StrEnum


class Point(StrEnum):
    AFTER_USER_MESSAGE = "after_user_message"
    AFTER_AGENT_CONTEXT = "after_agent_context"
    AFTER_REPLY = "after_reply"
    AT_COMMIT = "at_commit"
    AFTER_RESPONSE = "after_response"  # the client has its answer; the request's code runs on


class InjectedFault(RuntimeError):
    """Raised by a hook to simulate a crash at a named point."""

    def __init__(self, point: str) -> None:
        super().__init__(f"fault injected at {point}")
        self.point = point


Hook = Callable[[str], Awaitable[None]]

checkpoint_hook: ContextVar[Hook | None] = ContextVar("checkpoint_hook", default=None)


async def checkpoint(point: Point) -> None:
    hook = checkpoint_hook.get()
    if hook is not None:
        await hook(point.value)
